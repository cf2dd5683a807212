"""URL lists as people write them, read the same way by the function and the `fanfetch` client.

Standard library only, and no other fanfetch module: the client ships this very file (client/fanfetch_client/urllist.py
is a link to it). The content decides the format, never a file name: a JSON list (of URL strings or of objects with
a `url`), CSV with a `url` column, or one URL per line (blank lines and `#` comments skipped).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping

BOM = "\ufeff"


class UrlListError(ValueError):
    """A list that cannot be read as URLs. `field`, `problem` and `item` say where and what, for a structured
    refusal or a message of the caller's own."""

    def __init__(self, message: str, field: str, problem: str, item: int | None = None) -> None:
        super().__init__(message)
        self.field = field
        self.problem = problem
        self.item = item  # the position of the list item at fault, when one is


def decode(data: bytes, name: str = "source") -> str:
    """UTF-8 text of a list, a leading BOM dropped (it is not part of the first URL)."""
    try:
        return data.decode("utf-8").removeprefix(BOM)
    except UnicodeDecodeError as exc:
        raise UrlListError(f"{name}: not UTF-8 text (byte {exc.start})", name, "not UTF-8") from None


def urls_of(items: list[object], name: str) -> list[str]:
    """The URLs of a list whose items are URL strings or records with a `url` field (a CSV row, a JSON record,
    as an ItemReader or a job's source list gives them)."""
    urls: list[str] = []
    for position, item in enumerate(items):
        url = item.get("url") if isinstance(item, Mapping) else item
        if not isinstance(url, str):
            problem = "must be a URL string or an object with a string 'url' field"
            raise UrlListError(f"{name}.{position}: {problem}", f"{name}.{position}", problem, item=position)
        urls.append(url)
    return urls


def read_url_list(text: str, name: str = "source") -> list[str]:
    """URLs from a JSON list (of strings or objects with `url`), CSV with a `url` column, or one per line
    (blank lines and `#` comments skipped). A first line with commas that is not a URL is a CSV header, and
    one without a `url` column is refused: read as lines, its rows would become "URLs" that all fail."""
    stripped = text.removeprefix(BOM).strip()
    if stripped.startswith("["):
        try:
            items = json.loads(stripped)
        except json.JSONDecodeError as exc:
            problem = f"starts with '[' but is not a JSON list ({exc.msg}, line {exc.lineno})"
            raise UrlListError(f"{name}: {problem}", name, problem) from None
        return urls_of(items, name)  # text that starts with '[' and parses is a list
    lines = stripped.splitlines()
    first = lines[0].strip() if lines else ""
    columns = [column.strip().lower() for column in next(csv.reader([first]), [])]
    if "url" in columns:
        position = columns.index("url")
        rows = csv.reader(io.StringIO(stripped))
        next(rows)
        return [row[position].strip() for row in rows if len(row) > position and row[position].strip()]
    if len(columns) > 1 and not first.startswith("#") and "://" not in columns[0]:
        raise UrlListError(
            f"{name}: reads as CSV with columns {', '.join(columns)[:200]}, but none is named 'url'",
            name,
            "CSV needs a 'url' column",
        )
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
