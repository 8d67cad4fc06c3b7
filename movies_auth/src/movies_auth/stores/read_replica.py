"""Reads that tolerate lag (login history, admin listings) from a PostgreSQL streaming replica, when one is set.

A replica that does not answer sends those reads back to the primary, and is left alone for a few
seconds, so a dead replica costs one connect timeout now and then rather than one per request.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, current_app
from sqlalchemy import Engine, create_engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from movies_auth.extensions import db
from movies_auth.settings import Settings

log = logging.getLogger(__name__)
T = TypeVar("T")


class ReadReplica:
    """Runs a read on the replica, or on the primary when there is none or it is down."""

    def __init__(self, retry_after: float = 5.0) -> None:
        self._retry_after = retry_after

    def init_app(self, app: Flask, settings: Settings, engine_options: dict[str, Any]) -> None:
        """Open the replica's engine, when `DATABASE_REPLICA_URL` is set."""
        url = settings.sqlalchemy_replica_url()
        engine = create_engine(url, **engine_options) if url else None
        app.extensions["read_replica"] = _Replica(engine)

    def read(self, work: Callable[[Session], T]) -> T:
        """`work(session)` on the replica; on the primary's session when there is no replica or it fails."""
        replica: _Replica = current_app.extensions["read_replica"]
        if replica.engine is not None and time.monotonic() >= replica.down_until:
            try:
                with Session(replica.engine) as session:
                    return work(session)
            except OperationalError as error:
                log.warning("Read replica unavailable, reading from the primary: %s", error.orig or error)
                with replica.lock:
                    replica.down_until = time.monotonic() + self._retry_after
        return work(db.session)


class _Replica:
    def __init__(self, engine: Engine | None) -> None:
        self.engine = engine
        self.down_until = 0.0
        self.lock = threading.Lock()


read_replica = ReadReplica()
