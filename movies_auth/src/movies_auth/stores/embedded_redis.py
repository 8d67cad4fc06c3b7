"""The embedded Redis: an in-memory store inside the server, which CLI commands on the machine share.

Without `REDIS_URL` the serving process keeps Redis in its own memory (fakeredis). So that an
operator's command — logging a user out, changing a grant — reaches that server, the server also
answers the Redis protocol for its store on a loopback port and writes the address into the
instance folder; a CLI process finds the address there and connects. With no server running, a
process keeps a store of its own, which lives only as long as the process.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import fakeredis
import redis

from movies_auth.stores import redis_connection

# One store per process, shared by every app in it, as one real server would be.
STORE = fakeredis.FakeServer()
ADDRESS_FILE = "embedded-redis.address"


def connect(instance_path: str, timeout: float) -> redis.Redis:
    """A client of the running server's embedded Redis if one answers, else of this process's own store."""
    try:
        host, _, port = (Path(instance_path) / ADDRESS_FILE).read_text().strip().rpartition(":")
        client = redis_connection.shared(
            redis.ConnectionPool(
                host=host, port=int(port), decode_responses=True, socket_timeout=timeout, socket_connect_timeout=timeout
            )
        )
        client.ping()
        return client
    except (OSError, ValueError, redis.RedisError):  # no server has published one, or it has gone
        return fakeredis.FakeRedis(server=STORE, decode_responses=True)


def is_private(client: redis.Redis) -> bool:
    """Whether a client's store is this process's own, which no other process sees."""
    return isinstance(client, fakeredis.FakeRedis)


def share(instance_path: str) -> None:
    """Serve this process's store on a loopback port and publish the address for CLI commands."""
    server = fakeredis.TcpFakeServer(("127.0.0.1", 0))
    server.fake_server = STORE
    server.daemon_threads = True  # an open CLI connection must not hold up the server's exit
    threading.Thread(target=server.serve_forever, name="embedded-redis", daemon=True).start()
    host, port = server.server_address
    # Written aside and moved into place, so a reader never sees half an address.
    path = Path(instance_path) / ADDRESS_FILE
    draft = path.with_name(f"{path.name}.{os.getpid()}")
    draft.write_text(f"{host}:{port}\n")
    os.replace(draft, path)
