"""gunicorn settings for movies_auth: `gunicorn -c gunicorn.conf.py movies_auth.wsgi:app`."""

import glob
import multiprocessing
import os
import shutil
import tempfile

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:5000")
# gthread workers, 2 x cores + 1 of 4 threads each, as `make bench BENCH_ARGS=--workers` chose (docs/benchmarks.md).
# Threads keep token checks flowing while a login holds a worker for a whole hash.
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
    from movies_auth.domain.outbox import start_sender

    # `make bench` serves its constant reference app with this configuration too: it has no outbox.
    if "settings" in getattr(worker.wsgi, "extensions", {}):
        start_sender(worker.wsgi)


# Prometheus multiprocess mode: each worker writes its samples to files in PROMETHEUS_MULTIPROC_DIR and a scrape
# adds them up. The directory must be empty at every start (stale files would add old counts), and set before
# any worker imports prometheus_client: it is made (or emptied) here, in the master, which the workers inherit.
_metrics_directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
_own_metrics_directory = not _metrics_directory
if _own_metrics_directory:
    _metrics_directory = os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="movies_auth-metrics-")
else:  # only the files prometheus_client writes: the directory may hold anything else
    os.makedirs(_metrics_directory, exist_ok=True)
    for _stale in glob.glob(os.path.join(_metrics_directory, "*.db")):
        os.remove(_stale)

# LOG_FORMAT=json: gunicorn's own lines (starting, booting a worker, a worker timing out) are JSON objects too.
if os.environ.get("LOG_FORMAT", "").lower() == "json":
    logconfig_dict = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "movies_auth.observability.logging_setup.JsonFormatter"}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}},
        "root": {"level": "INFO", "handlers": ["stderr"]},
        "loggers": {"gunicorn.error": {"level": "INFO", "handlers": ["stderr"], "propagate": False}},
    }


def child_exit(_server, worker):
    """A worker is gone: its live gauges (the breaker state) stop counting; its counters stay in the sums."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(_server):
    """Remove the metrics directory this start made for itself."""
    if _own_metrics_directory:
        shutil.rmtree(_metrics_directory, ignore_errors=True)
