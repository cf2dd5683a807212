"""A Slack incoming webhook: the alert's text as one message."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import ClassVar

from fanfetch.guard import Guard
from fanfetch.monitoring.alerts.channels.http import post
from fanfetch.monitoring.alerts.message import Delivery, Message, MessageLimits

# Slack shows up to 40,000 characters of text; lines stay short enough to read in a channel.
LIMITS = MessageLimits(text_bytes=35_000, subject_chars=150, line_chars=300)


@dataclass(frozen=True, slots=True)
class SlackChannel:
    url: str
    guard: Guard
    timeout: float
    limits: ClassVar[MessageLimits] = LIMITS

    def send(self, message: Message) -> Delivery:
        """Post the message; SinkError when Slack does not take it. Slack gives no message id."""
        text = f"*{message.subject}*\n```\n{message.text}```"
        body = json.dumps({"text": text}).encode()
        post(self.url, body, {"Content-Type": "application/json"}, self.guard, self.timeout)
        return Delivery(message_id=None)
