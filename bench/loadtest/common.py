"""Where `make bench` runs and what it signs in with: paths, accounts, limits and the fixed settings of each job."""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
RESULTS = REPO / "bench" / "results"
PASSWORD = "benchmark password 1"
ROOT_EMAIL, VIEWER_EMAIL = "bench-root@example.com", "bench-viewer@example.com"
GENEROUS = "100000000 per minute"  # the login and refresh rows measure them, not the limiter's refusals
SCALE = {"users": 1_000_000, "login_history": 5_000_000, "sessions": 1_000_000}
# `session_memory` measures this many users' sessions, each with the default MAX_SESSIONS_PER_USER of them.
SESSION_MEMORY_USERS, SESSIONS_PER_USER = 100, 50
# The login and refresh rows sign the viewer in thousands of times: no session of theirs may end the
# viewer's own, which the later rows (and the movies API) still send.
NO_SESSION_LIMIT = str(1_000_000)
BROWSER = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"
# (workers, threads) per gunicorn: one thread is gunicorn's sync worker, more its gthread worker.
# The Redis Cluster `--cluster` starts: six nodes on loopback from this port on.
CLUSTER_FIRST_PORT = 7120
WORKER_SETTINGS = ((2, 1), (5, 1), (9, 1), (2, 4), (5, 2), (5, 4), (9, 4))
# The film list as the Practicum task's clients ask for it; its rows compare to a constant page of that shape.
# Seconds for each set-up call (a registration or login hashes a password: slow on a loaded machine).
SETUP_TIMEOUT = 60
# Seconds the subscriber rows wait for the movies API to answer the viewer as a subscriber.
SUBSCRIBER_WAIT = 120
FILM_LIST_PATH = "/api/v1/films?page_size=50&sort=-imdb_rating"
MOVIES_FILM_LIST = "movies: film list"
# The two sides of `--observability-only`: the same check with both on (a 10 % trace sample) and with both off.
OBSERVED, UNOBSERVED = "metrics + tracing at 10 %", "metrics and tracing off"
