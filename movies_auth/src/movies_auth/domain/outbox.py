"""The mail outbox: mails are queued in the database with the change that asks for them, and sent with retries.

A row names what to send (`OutboxMail`). A sender claims due rows (`FOR UPDATE SKIP LOCKED` on PostgreSQL,
then a lease written with a check of the row's attempt count, which also makes two senders on SQLite take
turns), renders each mail, minting its link token only then, delivers it, and deletes the row in the same
transaction as the token. A failed delivery is tried again after a delay that doubles, up to
`MAIL_MAX_ATTEMPTS`. So an SMTP outage loses no mail, two senders never send one twice, and the table
holds only mails not yet delivered. A sender that dies mid-delivery leaves its lease to expire: the mail
is then sent again (at least once).
"""

from __future__ import annotations

import logging
import threading
import uuid
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid, parseaddr

from flask import Flask, render_template
from sqlalchemy import delete, select, update

from movies_auth.domain import link_tokens, mail_transport
from movies_auth.extensions import current_settings, db
from movies_auth.models import OutboxMail, User, utcnow

log = logging.getLogger(__name__)

VERIFY_EMAIL = "verify_email"
PASSWORD_RESET = "password_reset"  # noqa: S105 (a kind of mail)
EMAIL_CHANGE = "email_change"
EMAIL_CHANGE_NOTICE = "email_change_notice"
EMAIL_CHANGED = "email_changed"
CLAIMED_AT_ONCE = 10
LAST_ERROR_LENGTH = 500

_wakeup = threading.Event()


@dataclass(frozen=True)
class Kind:
    """A kind of mail: its templates (`mail/<name>.*`), and the link it carries, if any."""

    purpose: str | None = None
    page: str = ""
    ttl_setting: str = ""


KINDS = {
    VERIFY_EMAIL: Kind(link_tokens.VERIFY, "verify-email", "email_verification_ttl"),
    PASSWORD_RESET: Kind(link_tokens.RESET, "reset-password", "password_reset_ttl"),
    EMAIL_CHANGE: Kind(link_tokens.CHANGE, "confirm-email-change", "email_change_ttl"),
    EMAIL_CHANGE_NOTICE: Kind(),
    EMAIL_CHANGED: Kind(),
}


def enqueue(kind: str, recipient: str, user: User | None, *, new_email: str | None = None) -> None:
    """Queue a mail in the current transaction (the caller commits, then calls `wake`); no user: a decoy row."""
    db.session.add(OutboxMail(kind=kind, recipient=recipient, user=user, new_email=new_email))


def wake() -> None:
    """Tell this process's sender that a mail is waiting."""
    _wakeup.set()


@dataclass(frozen=True)
class Claimed:
    """A row this sender holds the lease of."""

    id: int
    kind: str
    recipient: str
    user_id: uuid.UUID | None
    new_email: str | None
    attempts: int


@dataclass
class Pass:
    """What one pass over the outbox did."""

    sent: int = 0
    dropped: int = 0
    failed: int = 0


def deliver_due() -> Pass:
    """Claim the mails due now, deliver each, and forget the link tokens past their life."""
    done = Pass()
    for mail in _claim():
        _deliver(mail, done)
    link_tokens.prune_expired()
    db.session.commit()
    return done


def pending() -> int:
    """How many mails wait in the outbox."""
    return db.session.query(OutboxMail).count()


def _claim() -> list[Claimed]:
    now = utcnow()
    due = select(OutboxMail).where(OutboxMail.due_at <= now).order_by(OutboxMail.due_at).limit(CLAIMED_AT_ONCE)
    candidates = db.session.scalars(due.with_for_update(skip_locked=True)).all()
    lease_end = now + _lease(len(candidates))
    claimed = []
    for mail in candidates:
        taken = db.session.execute(
            update(OutboxMail)
            .where(OutboxMail.id == mail.id, OutboxMail.attempts == mail.attempts)
            .values(due_at=lease_end, attempts=OutboxMail.attempts + 1)
            .execution_options(synchronize_session=False)
        ).rowcount
        if taken:
            claimed.append(Claimed(mail.id, mail.kind, mail.recipient, mail.user_id, mail.new_email, mail.attempts + 1))
    db.session.commit()
    return claimed


def _lease(mails: int) -> timedelta:
    # Longer than delivering them all one after the other can take (connect, TLS, login, send: each step
    # bounded by SMTP_TIMEOUT), so no other sender takes the last of them while this one still works.
    return timedelta(seconds=max(60.0, 6 * current_settings().smtp_timeout * mails))


def _deliver(mail: Claimed, done: Pass) -> None:
    try:
        composed = _compose(mail)
        if composed is None:
            done.dropped += 1
        else:
            mail_transport.send(*composed)
            done.sent += 1
    except mail_transport.PermanentFailure as error:
        db.session.rollback()
        log.error("Mail %s (%s) refused for good, dropped: %s", mail.id, mail.kind, error)
        done.dropped += 1
    except Exception as error:  # any failure of one mail must leave the others be sent
        db.session.rollback()
        _retry_later(mail, error)
        done.failed += 1
        return
    db.session.execute(delete(OutboxMail).where(OutboxMail.id == mail.id))
    db.session.commit()


def _retry_later(mail: Claimed, error: Exception) -> None:
    settings = current_settings()
    reason = f"{type(error).__name__}: {error}"[:LAST_ERROR_LENGTH]
    if mail.attempts >= settings.mail_max_attempts:
        log.error("Mail %s (%s) failed %s times, dropped: %s", mail.id, mail.kind, mail.attempts, reason)
        db.session.execute(delete(OutboxMail).where(OutboxMail.id == mail.id))
    else:
        delay = min(settings.mail_retry_delay * 2 ** (mail.attempts - 1), settings.mail_retry_max_delay)
        log.warning("Mail %s (%s) not delivered, next try in %ss: %s", mail.id, mail.kind, delay.seconds, reason)
        db.session.execute(
            update(OutboxMail)
            .where(OutboxMail.id == mail.id)
            .values(due_at=utcnow() + delay, last_error=reason)
            .execution_options(synchronize_session=False)
        )
    db.session.commit()


def _compose(mail: Claimed) -> tuple[EmailMessage, str | None] | None:
    """The mail and its link (a token minted now, committed with the row's deletion); None when it is moot."""
    user = db.session.get(User, mail.user_id) if mail.user_id else None
    if user is None or not _still_wanted(mail, user):
        return None
    settings = current_settings()
    kind = KINDS[mail.kind]
    link = None
    if kind.purpose:
        ttl = getattr(settings, kind.ttl_setting)
        token = link_tokens.issue(user, kind.purpose, ttl, new_email=mail.new_email)
        link = f"{settings.public_url.rstrip('/')}/{kind.page}#token={token}"
        context = {"link": link, "token": token, "valid_for": _duration(ttl)}
    else:
        context = {}
    context |= {
        "user": user,
        "recipient": mail.recipient,
        "new_email": mail.new_email,
        "public_url": settings.public_url,
    }
    return _message(mail, context), link


def _still_wanted(mail: Claimed, user: User) -> bool:
    if mail.kind == VERIFY_EMAIL:
        return user.email == mail.recipient and not user.email_verified
    if mail.kind == PASSWORD_RESET:
        return user.email == mail.recipient
    if mail.kind == EMAIL_CHANGE:  # the address may have been taken since
        return db.session.scalar(select(User.id).where(User.email == mail.new_email)) is None
    return True


def _message(mail: Claimed, context: dict) -> EmailMessage:
    settings = current_settings()
    name = f"mail/{mail.kind}"
    message = EmailMessage()
    message["Subject"] = render_template(f"{name}.subject.txt", **context).strip()
    message["From"] = settings.mail_from
    message["To"] = formataddr(("", mail.recipient))
    message["Date"] = format_datetime(utcnow())
    domain = parseaddr(settings.mail_from)[1].rpartition("@")[2] or "localhost"
    message["Message-ID"] = make_msgid(idstring=f"outbox{mail.id}", domain=domain)
    message.set_content(render_template(f"{name}.txt", **context))
    message.add_alternative(render_template(f"{name}.html", **context), subtype="html")
    return message


def _duration(ttl: timedelta) -> str:
    minutes = int(ttl.total_seconds() // 60)
    if minutes % 60:
        return f"{minutes} minutes"
    hours = minutes // 60
    return "1 hour" if hours == 1 else f"{hours} hours"


class Sender(threading.Thread):
    """Delivers the outbox in the background: a pass every `MAIL_POLL_INTERVAL` seconds, or as soon as woken."""

    def __init__(self, app: Flask) -> None:
        super().__init__(name="mail-sender", daemon=True)
        self.app = app
        self.stopping = threading.Event()

    def run(self) -> None:
        interval = self.app.extensions["settings"].mail_poll_interval
        while not self.stopping.is_set():
            with self.app.app_context():
                try:
                    deliver_due()
                except Exception:  # a database outage: the next pass tries again
                    log.exception("Mail sender pass failed")
                    db.session.rollback()
                finally:
                    db.session.remove()
            _wakeup.wait(interval)
            _wakeup.clear()

    def stop(self) -> None:
        """Finish the current pass, then end."""
        self.stopping.set()
        _wakeup.set()


def start_sender(app: Flask) -> Sender | None:
    """Start this process's background sender, unless `MAIL_SENDER_THREAD` is false."""
    if not app.extensions["settings"].mail_sender_thread:
        return None
    sender = Sender(app)
    sender.start()
    return sender
