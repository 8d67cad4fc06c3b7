"""movies_async_api: the async movies API of the online cinema."""

from movies_async_api.app import create_app

__all__ = ["create_app"]
