"""gunicorn settings for movies_async_api: `gunicorn -c gunicorn.conf.py movies_async_api.main:app`."""

import multiprocessing
import os

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
