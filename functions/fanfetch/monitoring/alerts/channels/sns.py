"""The SNS topic channel: its limits, and one publish per message through store.py."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from fanfetch import store
from fanfetch.monitoring.alerts.message import Delivery, Message, MessageLimits

# SNS takes messages of up to 256 KiB and subjects of at most 100 ASCII characters without line breaks.
LIMITS = MessageLimits(text_bytes=200_000, subject_chars=100, line_chars=400)


@dataclass(frozen=True, slots=True)
class SnsChannel:
    topic_arn: str
    clock: store.CallClock
    limits: ClassVar[MessageLimits] = LIMITS

    def send(self, message: Message) -> Delivery:
        """Publish within the clock's time; SinkError when SNS refuses or no time is left."""
        timeout, attempts = self.clock.limit(f"SNS topic {self.topic_arn}")
        return Delivery(message_id=store.publish(self.topic_arn, message.subject, message.text, timeout, attempts))
