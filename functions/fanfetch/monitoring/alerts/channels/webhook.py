"""A signed webhook: the run and its events as JSON, with X-Fanfetch-Signature: sha256=<HMAC-SHA256 of the body>."""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import ClassVar

from fanfetch.guard import Guard
from fanfetch.monitoring.alerts.channels.http import post
from fanfetch.monitoring.alerts.message import Delivery, Message, MessageLimits

LIMITS = MessageLimits(text_bytes=200_000, subject_chars=200, line_chars=400)
SIGNATURE_HEADER = "X-Fanfetch-Signature"


def signature(secret: str, body: bytes) -> str:
    """What a receiver compares (with hmac.compare_digest) against the header."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def payload(message: Message) -> bytes:
    return json.dumps(
        {"run": message.run or {}, "events": list(message.events), "subject": message.subject, "text": message.text}
    ).encode()


@dataclass(frozen=True, slots=True)
class WebhookChannel:
    url: str
    secret: str | None
    guard: Guard
    timeout: float
    limits: ClassVar[MessageLimits] = LIMITS

    def send(self, message: Message) -> Delivery:
        """POST the run's events as JSON, signed when the channel has a secret; SinkError when not taken."""
        body = payload(message)
        headers = {"Content-Type": "application/json", "User-Agent": "fanfetch-webhook"}
        if self.secret is not None:
            headers[SIGNATURE_HEADER] = signature(self.secret, body)
        post(self.url, body, headers, self.guard, self.timeout)
        return Delivery(message_id=hashlib.sha256(body).hexdigest()[:16])
