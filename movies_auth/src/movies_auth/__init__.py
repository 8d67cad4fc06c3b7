"""movies_auth: the authentication and authorization service of the online cinema."""

__version__ = "0.1.0"

from movies_auth.app import create_app

__all__ = ["__version__", "create_app"]
