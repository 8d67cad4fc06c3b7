"""The WSGI entry point: `gunicorn movies_auth.wsgi:app`."""

from movies_auth import create_app

app = create_app()
