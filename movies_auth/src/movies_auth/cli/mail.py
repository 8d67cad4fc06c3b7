"""`flask mail ...`: deliver the outbox from a separate process, or once by hand."""

from __future__ import annotations

import signal

import click
from flask import current_app

from movies_auth.cli.common import AdminGroup
from movies_auth.domain import outbox
from movies_auth.extensions import current_settings

mail_group = AdminGroup("mail", help="Deliver the mails waiting in the outbox.")


@mail_group.command("send")
@click.option("--watch", is_flag=True, help="Keep delivering until stopped (instead of the workers' own senders).")
def send(watch: bool) -> None:
    """Deliver the mails due now; with --watch, go on every MAIL_POLL_INTERVAL seconds until stopped."""
    if not watch:
        done = outbox.deliver_due()
        click.echo(f"{done.sent} sent, {done.failed} to retry, {done.dropped} dropped; {outbox.pending()} waiting.")
        return
    sender = outbox.Sender(current_app._get_current_object())
    signal.signal(signal.SIGTERM, lambda *_: sender.stop())
    click.echo(f"Delivering the outbox every {current_settings().mail_poll_interval:g} s; Ctrl-C stops.")
    sender.start()
    try:
        while sender.is_alive():
            sender.join(1)
    except KeyboardInterrupt:
        sender.stop()
        sender.join()
