"""A real SMTP server for tests (aiosmtpd), and helpers to read what it received.

Fixtures (imported into tests/conftest.py):

- ``smtp_server``: an aiosmtpd server on a free port of 127.0.0.1; ``.messages`` is the list of
  received :class:`email.message.EmailMessage`, ``.wait_for(n, timeout=5)`` waits until ``n``
  arrived (and returns them), ``.clear()`` forgets them, ``.port``/``.host`` say where it listens,
  ``.refuse(address)`` makes it answer ``550`` for that recipient (a permanent bounce).
- ``mail_app``: the test ``app`` with ``MICROFIN_SMTP_HOST``/``PORT`` pointed at ``smtp_server``
  (``outbox.deliver_due()`` then really sends). Another app built with ``make_app`` can be pointed
  the same way: ``make_app(**smtp_server.settings())``.

``links_in(message)`` returns the URLs in a message's text part; ``text_of(message)`` its text.
"""
from __future__ import annotations

import re
import socket
import threading
import time
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy

import pytest
from aiosmtpd.controller import Controller

URL_RE = re.compile(r"https?://[^\s<>\"')]+")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class _Handler:
    def __init__(self, server: "SmtpServer"):
        self.server = server

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.server.refused:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = message_from_bytes(envelope.content, _class=EmailMessage, policy=default_policy)
        with self.server.lock:
            self.server.messages.append(message)
            self.server.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 Message accepted"


class SmtpServer:
    """A running aiosmtpd server and what it received."""

    def __init__(self):
        self.host = "127.0.0.1"
        self.port = free_port()
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.refused: set[str] = set()
        self.lock = threading.Lock()
        self.controller = Controller(_Handler(self), hostname=self.host, port=self.port)

    def settings(self) -> dict:
        """App settings that send through this server."""
        return {"MICROFIN_SMTP_HOST": self.host, "MICROFIN_SMTP_PORT": self.port,
                "MICROFIN_SMTP_SECURITY": "none", "MICROFIN_MAIL_FROM": "Microfin CRM <crm@microfin.test>",
                "MICROFIN_BASE_URL": "http://crm.microfin.test"}

    def wait_for(self, count: int, timeout: float = 5.0) -> list[EmailMessage]:
        """Wait until at least ``count`` messages arrived; fails the test after ``timeout`` s."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.messages) >= count:
                    return list(self.messages)
            time.sleep(0.02)
        raise AssertionError(f"expected {count} mail(s), the SMTP server received {len(self.messages)}")

    def clear(self) -> None:
        with self.lock:
            self.messages.clear()
            self.envelopes.clear()

    def refuse(self, address: str) -> None:
        """Answer 550 (permanent) to this recipient from now on."""
        self.refused.add(address.lower())

    def to(self, address: str) -> list[EmailMessage]:
        """The messages received for one address."""
        with self.lock:
            return [m for m in self.messages if address.lower() in str(m["To"]).lower()]


def text_of(message: EmailMessage) -> str:
    """The text/plain part of a message."""
    part = message.get_body(preferencelist=("plain",))
    return part.get_content() if part is not None else ""


def html_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("html",))
    return part.get_content() if part is not None else ""


def links_in(message: EmailMessage) -> list[str]:
    """The URLs in the text part, in order."""
    return URL_RE.findall(text_of(message))


@pytest.fixture
def smtp_server():
    server = SmtpServer()
    server.controller.start()
    try:
        yield server
    finally:
        server.controller.stop()


@pytest.fixture
def mail_app(app, smtp_server):
    """The test app, sending through ``smtp_server``."""
    app.config.update(smtp_server.settings())
    return app
