"""gunicorn settings for movies_async_api: `gunicorn -c gunicorn.conf.py movies_async_api.main:app`."""

import gc
import glob
import multiprocessing
import os
import shutil
import tempfile

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
worker_class = "uvicorn_worker.UvicornWorker"
# Async workers each serve many requests at once; one per core keeps them all busy.
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count()))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 30))
graceful_timeout = 30
keepalive = 5
# The app writes one access line per request, with its request id; gunicorn's would repeat it.
accesslog = None
errorlog = "-"
# gunicorn 25+ opens a control socket at one fixed path per user; two services on one host would collide.
control_socket_disable = True


def post_worker_init(_worker):
    """The app is loaded: keep what loading it made out of the garbage collector's full passes."""
    # A full pass walks every tracked object, some 130 000 once the app is imported: tens of milliseconds in
    # which the worker answers nobody, a spike in the p99 of every row. Those objects live as long as the worker.
    gc.freeze()


# Prometheus multiprocess mode: each worker writes its samples to files in PROMETHEUS_MULTIPROC_DIR and a scrape
# adds them up. The directory must be empty at every start (stale files would add old counts), and set before
# any worker imports prometheus_client: it is made (or emptied) here, in the master, which the workers inherit.
_metrics_directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
_own_metrics_directory = not _metrics_directory
if _own_metrics_directory:
    _metrics_directory = os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="movies_async_api-metrics-")
else:  # only the files prometheus_client writes: the directory may hold anything else
    os.makedirs(_metrics_directory, exist_ok=True)
    for _stale in glob.glob(os.path.join(_metrics_directory, "*.db")):
        os.remove(_stale)

# LOG_FORMAT=json: gunicorn's own lines (starting, booting a worker, a worker timing out) are JSON objects too.
if os.environ.get("LOG_FORMAT", "").lower() == "json":
    logconfig_dict = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "movies_async_api.logging_setup.JsonFormatter"}},
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
