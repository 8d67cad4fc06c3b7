"""The ASGI entry point: `uvicorn movies_async_api.main:app`."""

from movies_async_api.app import create_app

app = create_app()
