"""Badges: a Badge as a shields.io-style SVG, rendered with autoescaping Jinja2."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from fanfetch.monitoring.published import Badge

TEMPLATES = Path(__file__).resolve().parent


@cache
def _template() -> Any:
    # Imported here: only invocations that write badges pay for Jinja2. Compiled once: a first run writes two
    # badges per target, thousands at scale.
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    environment = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(enabled_extensions=("svg", "j2"), default=True),
        keep_trailing_newline=False,
    )
    return environment.get_template("badge.svg.j2")


def render(badge: Badge) -> str:
    text: str = _template().render(b=badge).strip()
    return text
