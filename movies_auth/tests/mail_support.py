"""Real mail plumbing for the tests: an SMTP server (aiosmtpd) on loopback and a stand-in of the breach range API."""

from __future__ import annotations

import hashlib
import re
import threading
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import ThreadingHTTPServer

from aiosmtpd.controller import Controller

from testkit.http import StandInHandler
from testkit.ports import free_port

TOKEN_IN_LINK = re.compile(r"#token=([A-Za-z0-9_-]+)")


class Mailbox:
    """What an SMTP server received: every message, parsed."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self._lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope) -> str:
        with self._lock:
            self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 Message accepted"

    def to(self, address: str) -> list[EmailMessage]:
        """The messages addressed to `address`, oldest first."""
        return [message for message in self.messages if message["To"] == address]

    def token_for(self, address: str) -> str:
        """The token of the link in the last message to `address`."""
        text = self.to(address)[-1].get_body(("plain",)).get_content()
        return TOKEN_IN_LINK.search(text).group(1)


class SMTPServer:
    """An aiosmtpd server on a loopback port that can be stopped and started again on the same port."""

    def __init__(self, **options) -> None:
        self.port = free_port()
        self.mailbox = Mailbox()
        self.options = options
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port, **self.options)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


class RangeAPI:
    """A stand-in of the Pwned Passwords range API, knowing `breached` passwords; it records the paths asked."""

    def __init__(self, *breached: str) -> None:
        digests = [hashlib.sha1(password.encode()).hexdigest().upper() for password in breached]  # noqa: S324
        self.requests: list[str] = []
        api = self

        class Handler(StandInHandler):
            def do_GET(self) -> None:
                api.requests.append(self.path)
                prefix = self.path.rsplit("/", 1)[-1].upper()
                lines = [f"{d[5:]}:{index + 3}" for index, d in enumerate(digests) if d.startswith(prefix)]
                lines.append("0000000000000000000000000000000000A:0")  # padding, as the real API adds
                body = "\r\n".join(lines).encode()
                self.reply(200, body, "text/plain")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/range/"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> RangeAPI:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
