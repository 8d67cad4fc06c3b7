"""The WSGI entry point: `gunicorn movies_auth.wsgi:app`."""

from movies_auth import create_app
from movies_auth.stores import embedded_redis
from movies_auth.stores.readiness import require_durable_redis

app = create_app()
require_durable_redis(app)

if embedded_redis.is_private(app.extensions["redis"]):
    # No REDIS_URL: let the CLI reach this server's in-memory Redis (revocations, permission cache).
    embedded_redis.share(app.instance_path)
