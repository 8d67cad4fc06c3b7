"""Where mails go: an SMTP server (`SMTP_URL`, plain, STARTTLS or implicit TLS), or `.eml` files when it is unset."""

from __future__ import annotations

import logging
import smtplib
import ssl
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from flask import current_app

from movies_auth.extensions import current_settings
from movies_auth.models import utcnow

log = logging.getLogger(__name__)

SMTP_SCHEMES = ("smtp", "smtps")
OUTBOX_FOLDER = "outbox"


class PermanentFailure(Exception):
    """The server refused the mail for good (a 5xx answer): trying again would not help."""


def check_smtp_url(url: str) -> str:
    """`url` when it is an SMTP URL this module can use; ValueError saying what is wrong otherwise."""
    parts = urlsplit(url)
    if parts.scheme not in SMTP_SCHEMES or not parts.hostname:
        raise ValueError("SMTP_URL must look like smtp://[user:pass@]host:port[?starttls=true] or smtps://...")
    return url


def send(message: EmailMessage, link: str | None) -> None:
    """Deliver `message`; OSError or smtplib's errors when it could not be, `PermanentFailure` when it never will."""
    smtp_url = current_settings().smtp_url
    if smtp_url is None:
        _write_file(message, link)
        return
    try:
        with _connect(smtp_url.get_secret_value()) as connection:
            connection.send_message(message)
    except smtplib.SMTPRecipientsRefused as error:
        raise PermanentFailure(f"recipient refused: {error.recipients}") from error
    except smtplib.SMTPResponseException as error:
        if error.smtp_code >= 500:
            raise PermanentFailure(f"{error.smtp_code} {error.smtp_error!r}") from error
        raise


def _connect(url: str) -> smtplib.SMTP:
    settings = current_settings()
    parts = urlsplit(url)
    options = {key: values[-1].lower() for key, values in parse_qs(parts.query).items()}
    context = ssl.create_default_context(cafile=settings.smtp_ca_file)
    if parts.scheme == "smtps":
        connection: smtplib.SMTP = smtplib.SMTP_SSL(
            parts.hostname, parts.port or 465, timeout=settings.smtp_timeout, context=context
        )
    else:
        connection = smtplib.SMTP(parts.hostname, parts.port or 25, timeout=settings.smtp_timeout)
    try:
        if options.get("starttls") in ("true", "1", "yes"):
            connection.starttls(context=context)
        if parts.username:
            connection.login(unquote(parts.username), unquote(parts.password or ""))
    except BaseException:
        connection.close()
        raise
    return connection


def _write_file(message: EmailMessage, link: str | None) -> None:
    # The embedded default, for a developer's machine. The link goes to the log there only: in production
    # a token in a log line would outlive its mail.
    if current_settings().app_env == "production":
        link = None
    folder = Path(current_app.instance_path) / OUTBOX_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    stamp = utcnow().strftime("%Y%m%dT%H%M%S%f")
    path = folder / f"{stamp}-{message['Message-ID'].strip('<>').partition('@')[0]}.eml"
    path.write_bytes(bytes(message))
    log.info(
        "Mail %r to %s written to %s%s", message["Subject"], message["To"], path, f"; link: {link}" if link else ""
    )
