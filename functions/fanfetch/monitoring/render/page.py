"""The status page: a PageView as one self-contained HTML page, rendered with autoescaping Jinja2. Its one inline
script (render/page.js: relative times, the stale banner) is allowed by its SHA-256 in the page's CSP, and nothing
else may run; without it the page is complete, with absolute UTC times."""

from __future__ import annotations

import base64
import functools
import hashlib
from pathlib import Path
from typing import TYPE_CHECKING

from fanfetch.monitoring.views import PageView

if TYPE_CHECKING:
    from jinja2 import Template

TEMPLATES = Path(__file__).resolve().parent
SCRIPT = (TEMPLATES / "page.js").read_text().strip()


def script_hash(script: str = SCRIPT) -> str:
    """The CSP source that allows exactly this inline script."""
    return "sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()


@functools.cache
def _template() -> Template:
    # Imported here: only invocations that write a page pay for Jinja2. Compiled once per environment, not once
    # per run: a warm function renders the page every few minutes.
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    environment = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(enabled_extensions=("html", "j2"), default=True),
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    return environment.get_template("status.html.j2")


def render(view: PageView) -> str:
    return _template().render(view=view, script=SCRIPT, script_hash=script_hash())
