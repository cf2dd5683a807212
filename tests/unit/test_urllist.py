"""One URL-list reader for the function and the client: the same inputs give the same URLs, or both refuse.

The client ships the function's own urllist.py (a link to the one file); this table holds them to it through
each side's entry point, under file names whose suffix says nothing true about the content."""

from __future__ import annotations

from pathlib import Path

import fanfetch.urllist
import fanfetch_client.urllist
import pytest
from fanfetch.errors import InvalidRequest
from fanfetch.sources import read_url_list as function_reads
from fanfetch_client.api import UrlListError
from fanfetch_client.api import read_url_list as client_reads

A, B = "https://a.test/", "https://b.test/x?q=1,2"
REFUSED = "refused"

CASES: list[tuple[str, str, list[str] | str]] = [
    ("lines", f"{A}\n{B}\n", [A, B]),
    ("lines-crlf", f"{A}\r\n{B}\r\n", [A, B]),
    ("lines-blank-and-spaces", f"\n  {A}  \n\n{B}\n\n", [A, B]),
    ("lines-comments", f"# mine\n{A}\n  # indented comment\n{B}\n", [A, B]),
    ("lines-bom", f"\ufeff{A}\n{B}\n", [A, B]),
    ("comment-with-commas-first", f"# a, b, c\n{A}\n", [A]),
    ("one-url", A, [A]),
    ("bare-hosts-one-per-line", "example.com\nexample.org\n", ["example.com", "example.org"]),
    ("json-strings", f'["{A}", "{B}"]', [A, B]),
    ("json-records", f'[{{"url": "{A}", "note": 1}}, {{"url": "{B}"}}]', [A, B]),
    ("json-mixed", f'["{A}", {{"url": "{B}"}}]', [A, B]),
    ("json-bom-and-space", f'\ufeff  \n ["{A}"] \n', [A]),
    ("json-empty", "[]", []),
    ("json-broken", f'["{A}",', REFUSED),
    ("json-number-item", f'["{A}", 5]', REFUSED),
    ("json-record-without-url", '[{"link": "https://a.test/"}]', REFUSED),
    ("csv-url-column", f"url\n{A}\nhttps://c.test/\n", [A, "https://c.test/"]),
    ("csv-unquoted-comma-splits", f"url\n{B}\n", ["https://b.test/x?q=1"]),
    ("csv-url-second-column", f"name,URL\nfirst,{A}\nsecond,https://c.test/\n", [A, "https://c.test/"]),
    ("csv-quoted-comma-url", f'name,url\nx,"{B}"\ny,{A}\n', [B, A]),
    ("csv-bare-hosts", "url\nexample.com\nexample.org\n", ["example.com", "example.org"]),
    ("csv-short-and-blank-rows", f'name,url,extra\nx,{A},1\nonly-name\ny,,2\nz,"{B}",3\n', [A, B]),
    ("csv-without-url-column", f"name,link\nfirst,{A}\n", REFUSED),
    ("urls-with-commas-as-lines", f"{B}\n{A}\n", [B, A]),
    ("empty", "", []),
    ("only-comments", "# nothing yet\n\n", []),
]


@pytest.mark.parametrize(("text", "expected"), [case[1:] for case in CASES], ids=[case[0] for case in CASES])
@pytest.mark.parametrize("suffix", [".txt", ".csv", ".json", ""])
def test_function_and_client_read_a_list_alike(
    text: str, expected: list[str] | str, suffix: str, tmp_path: Path
) -> None:
    listed = tmp_path / f"list{suffix}"
    listed.write_text(text, encoding="utf-8")
    if expected == REFUSED:
        with pytest.raises(InvalidRequest):
            function_reads(text)
        with pytest.raises(UrlListError):
            client_reads(listed)
    else:
        assert function_reads(text) == expected
        assert client_reads(listed) == expected


def test_the_table_has_at_least_twenty_cases() -> None:
    assert len(CASES) >= 20


def test_the_client_ships_the_functions_reader_file() -> None:
    assert Path(fanfetch_client.urllist.__file__).resolve() == Path(fanfetch.urllist.__file__).resolve()


def test_the_client_refuses_a_list_that_is_not_utf8(tmp_path: Path) -> None:
    listed = tmp_path / "list.txt"
    listed.write_bytes(b"https://a.test/\xff\n")
    with pytest.raises(UrlListError, match=r"list.txt: not UTF-8 text \(byte 15\)"):
        client_reads(listed)
