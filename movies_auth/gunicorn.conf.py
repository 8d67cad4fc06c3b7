"""gunicorn settings for movies_auth: `gunicorn -c gunicorn.conf.py movies_auth.wsgi:app`."""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:5000")
# gthread workers, 2 x cores + 1 of 4 threads each: measured best with `make bench BENCH_ARGS=--workers`
# (README, Benchmarks). Threads keep token checks flowing while a login holds a worker for a whole hash.
# The embedded Redis lives inside one process: more workers need a real Redis to share revocations.
_default_workers = multiprocessing.cpu_count() * 2 + 1 if os.environ.get("REDIS_URL") else 1
workers = int(os.environ.get("GUNICORN_WORKERS", _default_workers))
threads = int(os.environ.get("GUNICORN_THREADS", 4))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 30))
graceful_timeout = 30
keepalive = 5
# As long a request line as nginx passes on (its 8k large_client_header_buffers): a longer one nginx refuses itself
# with its JSON error, and one in between no longer gets gunicorn's HTML 414. 8190 is gunicorn's largest.
limit_request_line = 8190
# The app writes one access line per request, with its request id; gunicorn's would repeat it.
accesslog = None
errorlog = "-"
# gunicorn 25+ opens a control socket at one fixed path per user; two services on one host would collide.
control_socket_disable = True


def post_worker_init(worker):
    """Start the worker's mail sender (MAIL_SENDER_THREAD): it delivers the outbox in the background."""
    from movies_auth.services.outbox import start_sender

    start_sender(worker.wsgi)
