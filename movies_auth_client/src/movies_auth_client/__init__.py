"""A client for movies_auth: verify user tokens, hold a service token, check permissions; sync and async.

    from movies_auth_client import AsyncAuthClient, AuthClient

Framework helpers: `movies_auth_client.flask` (a `requires` decorator) and `movies_auth_client.fastapi`
(a `requires` dependency).
"""

from importlib.metadata import version

from movies_auth_client.async_client import AsyncAuthClient
from movies_auth_client.breaker import CircuitBreaker
from movies_auth_client.client import AuthClient
from movies_auth_client.errors import AuthClientError, AuthUnavailable, InvalidToken, ServiceTokenUnavailable
from movies_auth_client.observer import BreakerState, Call, NullObserver, Observer, Outcome
from movies_auth_client.permissions import Condition

__all__ = [
    "AsyncAuthClient",
    "AuthClient",
    "AuthClientError",
    "AuthUnavailable",
    "BreakerState",
    "Call",
    "CircuitBreaker",
    "Condition",
    "InvalidToken",
    "NullObserver",
    "Observer",
    "Outcome",
    "ServiceTokenUnavailable",
]
__version__ = version("movies-auth-client")
