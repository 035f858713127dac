"""Pluggable SMS sending (``SMS_BACKEND``); the console backend prints instead of sending."""

from __future__ import annotations

import logging
import sys
import uuid

from django.conf import settings
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)


class ConsoleSmsBackend:
    def send(self, *, to: str, text: str) -> str:
        message_id = f"console-{uuid.uuid4().hex[:12]}"
        sys.stdout.write(f"[SMS {message_id}] to {to}: {text}\n")
        return message_id


class MemorySmsBackend:
    """Keeps messages in memory (tests)."""

    outbox: list[dict] = []

    def send(self, *, to: str, text: str) -> str:
        message_id = f"mem-{uuid.uuid4().hex[:12]}"
        self.outbox.append({"id": message_id, "to": to, "text": text})
        return message_id


def send_sms(*, to: str, text: str) -> str:
    """Send ``text`` to ``to`` (E.164) and return the provider's message id."""
    backend = import_string(settings.SMS_BACKEND)()
    return backend.send(to=to, text=text)
