"""Reading the map's result files piece by piece: every item, wherever the pieces are cut."""

from __future__ import annotations

import json

import pytest
from fanfetch.aggregate import array_items

RECORDS = [
    {"Output": json.dumps({"results": [{"url": "https://ü.test/é", "bytes": 12}]}), "Status": "SUCCEEDED"},
    {"Error": "InvalidRequest", "Cause": "options.timeout: \u2603", "Status": "FAILED"},
    12345,
    [1.5, None, True, "]"],
]


def pieces(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


@pytest.mark.parametrize("size", [1, 2, 3, 7, 64, 10_000])
def test_array_items_yields_every_item_whatever_the_piece_size(size: int) -> None:
    data = json.dumps(RECORDS, ensure_ascii=False, indent=1).encode()
    assert list(array_items(pieces(data, size))) == RECORDS


def test_array_items_reads_a_byte_order_mark_and_an_empty_array() -> None:
    assert list(array_items([b"\xef\xbb\xbf[", b"]"])) == []
    assert list(array_items(pieces(b'\xef\xbb\xbf[{"a": 1}]', 2))) == [{"a": 1}]


def test_array_items_holds_one_item_at_a_time() -> None:
    # Given a long array read lazily: the first item comes before the pieces run out
    consumed = 0

    def lazy() -> object:
        nonlocal consumed
        yield b"["
        for index in range(10_000):
            consumed += 1
            yield json.dumps({"n": index}).encode() + b","
        yield b'{"n": -1}]'

    items = array_items(lazy())  # type: ignore[arg-type]
    assert next(items) == {"n": 0}
    assert consumed <= 2
    assert sum(1 for _ in items) == 10_000


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b'{"a": 1}', "not a JSON array"),
        (b'[{"a": 1}, {"b": ', "Expecting value"),
        (b'[{"a": 1}', "not closed"),
        (b"", "not closed"),
    ],
)
def test_array_items_refuses_what_is_not_one_json_array(data: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        list(array_items(pieces(data, 3)))
