"""Every private API of a library this service relies on, with the version each was written against.

Each is used only where a public API cannot do the same on the hot path (docs/hot-path.md has the
measurements). An upgrade of one of these libraries must pass `tests/test_library_seams.py`, which
checks that the version installed is the one named here and that each name is still there, with the
signature expected: when it fails, read the library's changes for that name before moving the pin.

Not listed, being public: Flask's `ensure_sync` (a documented override point, memoised in `app.py`)
and flask-jwt-extended's loaders (`encode_key_loader`, `additional_headers_loader`, ...).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True)
class Seam:
    """One private name of a library, where the library holds it, and what of ours depends on it."""

    distribution: str  # as pinned in pyproject.toml ("Python" for the standard library)
    version: str  # the pinned version ("3.11": a Python minor version)
    name: str  # the private name, as the library spells it
    where: str  # "module:qualname" of what holds it: a method (with `signature`), or code that sets or reads it
    used_by: str  # our module that relies on it
    why: str
    signature: str | None = None  # of a method we override or call: `str(inspect.signature(...))`


JWT_EXTENDED: Final = ("Flask-JWT-Extended", "4.7.4")
LIMITER: Final = ("Flask-Limiter", "4.1.1")
FLASK: Final = ("Flask", "3.1.3")
REDIS: Final = ("redis", "8.1.0")
OTEL_INSTRUMENTATION: Final = ("opentelemetry-instrumentation", "0.66b1")
PYTHON: Final = ("Python", "3.11")

SEAMS: Final[tuple[Seam, ...]] = (
    Seam(
        *JWT_EXTENDED,
        name="_decode_jwt_from_config",
        where="flask_jwt_extended.jwt_manager:JWTManager._decode_jwt_from_config",
        used_by="movies_auth.hotpath.jwt_manager",
        why="every token verification goes through it: overridden to verify each distinct token once",
        signature="(self, encoded_token: str, csrf_value=None, allow_expired: bool = False) -> dict",
    ),
    *(
        Seam(
            *JWT_EXTENDED,
            name=name,
            where=where,
            used_by="movies_auth.hotpath.jwt_manager",
            why="set for a remembered token as verify_jwt_in_request would, so get_jwt() reads it: no second parse",
        )
        for name in ("_jwt_extended_jwt", "_jwt_extended_jwt_header", "_jwt_extended_jwt_user")
        for where in ("flask_jwt_extended.view_decorators:verify_jwt_in_request",)
    ),
    Seam(
        *JWT_EXTENDED,
        name="_jwt_extended_jwt",
        where="flask_jwt_extended.utils:get_jwt",
        used_by="movies_auth.hotpath.jwt_manager",
        why="where get_jwt() reads the claims verify_remembered_token sets",
    ),
    Seam(
        *LIMITER,
        name="_check_request_limit",
        where="flask_limiter:Limiter._check_request_limit",
        used_by="movies_auth.extensions",
        why="its before-request call (in_middleware) is skipped: no application-wide limits, and it cost a whole check",
        signature="(self, callable_name: 'str | None' = None, in_middleware: 'bool' = True) -> 'None'",
    ),
    Seam(
        *LIMITER,
        name="partial(Limiter.__inject_headers, self)",
        where="flask_limiter:Limiter.init_app",
        used_by="movies_auth.extensions",
        why="the after-request hook it adds, recognised (a partial bound to the limiter) and wrapped",
    ),
    Seam(
        *LIMITER,
        name="self.__release_context",
        where="flask_limiter:Limiter.init_app",
        used_by="movies_auth.extensions",
        why="the teardown hook it adds, recognised (a method of the limiter) and wrapped",
    ),
    Seam(
        *LIMITER,
        name="_limiter_request_context",
        where="flask_limiter:Limiter.context",
        used_by="movies_auth.extensions",
        why="its per-request state on the request context: the wrapped hooks run only where it was made",
    ),
    Seam(
        *FLASK,
        name="after_request_funcs",
        where="flask.sansio.scaffold:Scaffold.__init__",
        used_by="movies_auth.extensions",
        why="Flask-Limiter's hooks are replaced in place there (Flask calls the structure internal)",
    ),
    Seam(
        *FLASK,
        name="teardown_request_funcs",
        where="flask.sansio.scaffold:Scaffold.__init__",
        used_by="movies_auth.extensions",
        why="Flask-Limiter's teardown hook is replaced in place there",
    ),
    Seam(
        *REDIS,
        name="_buffer",
        where="redis._parsers.base:_RESPBase.on_connect",
        used_by="movies_auth.hotpath.client_cache",
        why="a tracking connection's parser buffer: only when it is empty does one poll() of the socket tell",
    ),
    Seam(
        *REDIS,
        name="unread_bytes",
        where="redis._parsers.socket:SocketBuffer.unread_bytes",
        used_by="movies_auth.hotpath.client_cache",
        why="whether that buffer holds a message already read off the socket",
        signature="(self) -> int",
    ),
    Seam(
        *REDIS,
        name="_sock",
        where="redis.connection:AbstractConnection.connect_check_health",
        used_by="movies_auth.hotpath.client_cache",
        why="the tracking connections' sockets, polled at once: can_read(0) costs three system calls each",
    ),
    Seam(
        *OTEL_INSTRUMENTATION,
        name="_get_opentelemetry_stability_opt_in_mode",
        where="opentelemetry.instrumentation._semconv:"
        "_OpenTelemetrySemanticConventionStability._get_opentelemetry_stability_opt_in_mode",
        used_by="movies_auth.observability.server_spans",
        why="the semantic conventions OTEL_SEMCONV_STABILITY_OPT_IN asks for, read as the WSGI middleware reads them",
        signature="(cls, signal_type: '_OpenTelemetryStabilitySignalType') -> '_StabilityMode'",
    ),
    Seam(
        *OTEL_INSTRUMENTATION,
        name="_initialize",
        where="opentelemetry.instrumentation._semconv:_OpenTelemetrySemanticConventionStability._initialize",
        used_by="movies_auth.observability.server_spans",
        why="reads OTEL_SEMCONV_STABILITY_OPT_IN once, before the mode is asked for",
        signature="(cls)",
    ),
    Seam(
        *OTEL_INSTRUMENTATION,
        name="_report_new",
        where="opentelemetry.instrumentation._semconv:_report_new",
        used_by="movies_auth.observability.server_spans",
        why="whether the new semantic conventions are reported: the error.type attribute of a failed request",
        signature="(mode: '_StabilityMode')",
    ),
    Seam(
        *PYTHON,
        name="_srcfile",
        where="logging:Logger._log",
        used_by="movies_auth.observability.logging_setup",
        why="set to None, as the logging HOWTO's Optimization section advises: no caller frame found per line",
    ),
)
