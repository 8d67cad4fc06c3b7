"""The scale filler: the stores filled to a million users and their history, and Redis memory per session."""

from __future__ import annotations

import time
import uuid

import psycopg
import redis
from movies_auth.domain.passwords import Passwords
from movies_auth.domain.sessions import new_generation, new_session_id
from movies_auth.models import LoginAttempt, User
from movies_auth.settings import Settings
from movies_auth.stores import redis_keys

from loadtest.common import BROWSER, PASSWORD, SCALE, SESSION_MEMORY_USERS, SESSIONS_PER_USER
from loadtest.services import auth_settings


def fill_to_scale(database_url: str, redis_url: str, settings: Settings) -> float:
    """Bulk-load users, login history and live session records; Redis bytes per session record (INFO memory)."""
    password_hash = Passwords(settings).hash(PASSWORD)
    per_user = SCALE["login_history"] // SCALE["users"]
    started = time.monotonic()
    with psycopg.connect(database_url, autocommit=True) as connection:
        connection.execute(
            f"INSERT INTO {User.__tablename__} (id, email, password_hash, created_at) "
            "SELECT gen_random_uuid(), 'scale-' || n || '@example.com', %s, now() FROM generate_series(1, %s) n",
            (password_hash, SCALE["users"]),
        )
        connection.execute(
            f"INSERT INTO {LoginAttempt.__tablename__} (id, user_id, email, time, ip_address, user_agent, success) "
            "SELECT gen_random_uuid(), u.id, u.email, now() - random() * interval '365 days', '10.0.0.1', "
            f"'bench', random() > 0.2 FROM {User.__tablename__} u CROSS JOIN generate_series(1, %s) "
            "WHERE u.email LIKE 'scale-%%'",
            (per_user,),
        )
        connection.execute("VACUUM ANALYZE")
    print(f"  PostgreSQL filled in {time.monotonic() - started:.0f} s", flush=True)

    client = redis.Redis.from_url(redis_url)
    before = _stored_bytes(client)
    lifetime = int(settings.jwt_refresh_token_expires.total_seconds())
    used = time.time_ns() // 1_000_000
    for batch in range(0, SCALE["sessions"], 10_000):
        pipeline = client.pipeline(transaction=False)
        for _ in range(batch, batch + 10_000):
            # A session record as `sessions.start` writes it: epoch, generation, previous generation, last use.
            record = f"0:{new_generation()}::{used}"
            pipeline.set(redis_keys.session(str(uuid.uuid4()), new_session_id()), record, ex=lifetime)
        pipeline.execute()
    return (_settled_stored_bytes(client) - before) / SCALE["sessions"]


def session_memory(auth_env: dict[str, str]) -> dict[str, float]:
    """Redis bytes per session: live, in its refresh grace window, and ended; through the service's own code.

    `SESSION_MEMORY_USERS` users each sign in `SESSIONS_PER_USER` times, then every session is refreshed
    once, then ended; INFO memory is read after each step. Per-user keys (the index) count in the share.
    """
    from movies_auth.domain import sessions, tokens
    from movies_auth.extensions import db

    from movies_auth import create_app

    settings = auth_settings(auth_env)
    client = redis.Redis.from_url(auth_env["REDIS_URL"])
    app = create_app(settings)
    with app.app_context():
        no_password = "-"
        users = [User(email=f"memory-{n}@example.com", password_hash=no_password) for n in range(SESSION_MEMORY_USERS)]
        db.session.add_all(users)
        db.session.commit()
        before = _settled_stored_bytes(client)
        started = [
            (str(user.id), *sessions.start(user.id, ip_address="10.0.0.1", user_agent=BROWSER, method="password"))
            for user in users
            for _ in range(SESSIONS_PER_USER)
        ]
        live = _settled_stored_bytes(client)
        for user_id, session_id, generation in started:
            tokens.rotate({"sub": user_id, "sid": session_id, "gen": generation})
        in_grace = _settled_stored_bytes(client)
        for user_id, session_id, _ in started:
            sessions.end(user_id, session_id)
        ended = _settled_stored_bytes(client)
    count = len(started)
    return {"live": (live - before) / count, "in grace": (in_grace - before) / count, "ended": (ended - before) / count}


def _stored_bytes(client: redis.Redis) -> int:
    # Without client buffers: idle workers' tracking connections hold unread invalidation notices
    # for a while (up to Redis's pub/sub output-buffer limit), which no revocation keeps.
    memory = client.info("memory")
    return memory["used_memory"] - memory["mem_clients_normal"]


def _settled_stored_bytes(client: redis.Redis, within: float = 30) -> int:
    """`_stored_bytes` once it holds still: Redis frees the buffers of the tracking connections it dropped
    for falling behind a moment after dropping them, and until then they count as stored."""
    deadline = time.monotonic() + within
    last = _stored_bytes(client)
    while time.monotonic() < deadline:
        time.sleep(1)
        now = _stored_bytes(client)
        if abs(now - last) < 0.001 * last:
            return now
        last = now
    return last
