"""The HTTP channels: the destination guard, the signature, Slack's body, and failures as SinkError."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
from collections.abc import Iterator

import pytest
from aiohttp import web
from fanfetch.errors import SinkError
from fanfetch.guard import Guard
from fanfetch.monitoring.alerts.channels.slack import SlackChannel
from fanfetch.monitoring.alerts.channels.webhook import WebhookChannel, signature
from fanfetch.monitoring.alerts.message import Message

from tests.conftest import ThreadedOrigin

OPEN = Guard([ipaddress.ip_network("127.0.0.0/8")], [(1, 65535)])
MESSAGE = Message("fanfetch: 1 down", "DOWN\n  shop\n", ({"name": "shop", "event": "down"},), {"request_id": "r"})


@pytest.fixture
def receiver() -> Iterator[tuple[ThreadedOrigin, list[tuple[dict[str, str], bytes]]]]:
    seen: list[tuple[dict[str, str], bytes]] = []

    async def receive(request: web.Request) -> web.Response:
        seen.append((dict(request.headers), await request.read()))
        if request.path == "/moved":
            raise web.HTTPFound("http://127.0.0.1:9/elsewhere")
        return web.Response(status=int(request.query.get("status", "200")), text="nope")

    app = web.Application()
    app.router.add_post("/{name}", receive)
    with ThreadedOrigin(app) as server:
        yield server, seen


def test_a_webhook_is_signed_with_hmac_sha256_of_the_raw_body(receiver: tuple[ThreadedOrigin, list]) -> None:
    server, seen = receiver
    WebhookChannel(server.url("/hook"), "s3cret", OPEN, 5.0).send(MESSAGE)
    ((headers, body),) = seen
    assert headers["X-Fanfetch-Signature"] == "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert json.loads(body)["events"] == [{"name": "shop", "event": "down"}]
    assert signature("k", b"x") == "sha256=" + hmac.new(b"k", b"x", hashlib.sha256).hexdigest()


def test_an_unsigned_webhook_has_no_signature_and_slack_gets_text(receiver: tuple[ThreadedOrigin, list]) -> None:
    server, seen = receiver
    WebhookChannel(server.url("/hook"), None, OPEN, 5.0).send(MESSAGE)
    SlackChannel(server.url("/slack"), OPEN, 5.0).send(MESSAGE)
    (hook_headers, _), (_, slack_body) = seen
    assert "X-Fanfetch-Signature" not in hook_headers
    assert json.loads(slack_body) == {"text": "*fanfetch: 1 down*\n```\nDOWN\n  shop\n```"}


@pytest.mark.parametrize(
    ("path", "guard", "problem"),
    [
        ("/hook?status=500", OPEN, "answered 500: nope"),
        ("/moved", OPEN, "answered 302"),
        ("/hook", Guard(), "refused by the destination guard"),
    ],
)
def test_a_refused_or_failed_post_is_a_sink_error_naming_the_host(
    receiver: tuple[ThreadedOrigin, list], path: str, guard: Guard, problem: str
) -> None:
    server, _ = receiver
    with pytest.raises(SinkError, match=r"POST 127\.0\.0\.1") as failed:
        WebhookChannel(server.url(path), "k", guard, 5.0).send(MESSAGE)
    assert problem in str(failed.value)


def test_an_unreachable_receiver_is_a_sink_error() -> None:
    with pytest.raises(SinkError, match=r"POST 127\.0\.0\.1: .*Connect"):
        WebhookChannel("http://127.0.0.1:9/hook", None, OPEN, 2.0).send(MESSAGE)
