"""The status page: a PageView as one self-contained HTML page, rendered with autoescaping Jinja2."""

from __future__ import annotations

from pathlib import Path

from fanfetch.monitoring.views import PageView

TEMPLATES = Path(__file__).resolve().parent


def render(view: PageView) -> str:
    # Imported here: only invocations that write a page pay for Jinja2.
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    environment = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(enabled_extensions=("html", "j2"), default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return environment.get_template("status.html.j2").render(
        rows=view.rows,
        down=view.down,
        up=view.up,
        run=view.run,
        updated_at=view.updated_at,
        tls_warn_days=view.tls_warn_days,
    )
