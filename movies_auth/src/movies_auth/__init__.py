"""movies_auth: the authentication and authorization service of the online cinema."""

from importlib.metadata import version

__version__ = version("movies-auth")

from movies_auth.app import create_app

__all__ = ["__version__", "create_app"]
