"""`make serve` lists the routes that answer in its configuration, and only those."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request

import pytest
from fanfetch.settings import get_settings

from tests.conftest import ThreadedOrigin
from tests.functional.jobs_harness import JobWorld
from tools.serve import banner, make_app


def _status(method: str, url: str, urls: tuple[str, ...] = ()) -> int:
    body = json.dumps({"urls": list(urls)}).encode() if method == "POST" else None
    request = urllib.request.Request(url, data=body, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def _listed(text: str) -> list[tuple[str, str]]:
    routes = re.findall(r"^(GET|POST)\s+(\S+)$", text, flags=re.MULTILINE)
    return [(method, url.replace("{id}", "20261207T000000Z-000000000000").replace("...", "")) for method, url in routes]


def _every_listed_route_answers(text: str, base: str) -> None:
    for method, url in _listed(text):
        assert url.startswith(base)
        assert _status(method, url) != 404 or "/jobs/" in url, (method, url)


@pytest.mark.usefixtures("open_loopback")
def test_serve_leaves_out_the_job_routes_when_jobs_are_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RESULTS_BUCKET", raising=False)
    monkeypatch.delenv("JOBS_STATE_MACHINE_ARN", raising=False)
    get_settings.cache_clear()
    with ThreadedOrigin(make_app()) as served:
        base = f"http://127.0.0.1:{served.port}"
        text = banner(base, get_settings())
        assert [method for method, _ in _listed(text)] == ["POST", "GET", "GET"]
        assert "/jobs" not in "".join(url for _, url in _listed(text))
        assert "jobs are off here (RESULTS_BUCKET and JOBS_STATE_MACHINE_ARN unset)" in text
        _every_listed_route_answers(text, base)
        # and what is left out indeed does not answer, even to a valid request
        assert _status("POST", f"{base}/jobs", ("https://example.com/",)) == 404


def test_serve_lists_the_job_routes_when_jobs_are_on(job_world: JobWorld) -> None:
    with ThreadedOrigin(make_app()) as served:
        base = f"http://127.0.0.1:{served.port}"
        text = banner(base, get_settings())
        assert (("POST", f"{base}/jobs")) in _listed(text)
        _every_listed_route_answers(text, base)
        # a job id that names no job is 404 by design; the route itself answers with the API's JSON
        assert _status("GET", f"{base}/jobs/20261207T000000Z-000000000000") == 404
