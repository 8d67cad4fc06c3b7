"""The one settings object of the service, read from the environment and a `.env` file."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PACKAGE_INSTANCE_PATH = Path(__file__).resolve().parent.parent / "instance"


class Settings(BaseSettings):
    """Every tunable of movies_async_api; environment variables use the upper-case field names."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    app_env: Literal["development", "testing", "production"] = Field(
        default="development", description="`production` refuses the embedded stores and a missing service secret"
    )
    instance_path: Path = Field(default=PACKAGE_INSTANCE_PATH, description="Holds the embedded database")
    database_url: str | None = Field(default=None, description="Unset: a SQLite file in the instance folder")
    redis_url: str | None = Field(
        default=None,
        description="redis://, rediss://, redis+sentinel://h:p[,h:p]/<service>[/<db>] or redis+cluster://h:p[,h:p];"
        " unset: an in-process Redis (fakeredis)",
    )
    database_replica_url: str | None = Field(
        default=None, description="A streaming replica for catalogue reads; the primary when it is down"
    )
    redis_socket_timeout: float = Field(default=0.25, gt=0, description="Seconds; the cache is skipped past it")
    response_cache_ttl: int = Field(default=60, ge=0, description="Seconds an answer stays cached; 0 turns it off")
    response_local_cache_ttl: float = Field(
        default=1.0, ge=0, description="Seconds a worker also keeps an answer in its own memory; 0 turns it off"
    )
    response_local_cache_bytes: int = Field(
        default=32 * 2**20, ge=0, description="Bytes of answers one worker keeps in memory at most; 0 turns it off"
    )

    auth_service_url: str = Field(default="http://127.0.0.1:5000", description="Where movies_auth answers")
    auth_connect_timeout: float = Field(default=0.25, gt=0, description="Seconds")
    auth_read_timeout: float = Field(default=0.5, gt=0, description="Seconds, for permission checks and key fetches")
    auth_service_token_timeout: float = Field(
        default=5.0, gt=0, description="Seconds, for the service-token request (retried with backoff)"
    )
    auth_failure_threshold: int = Field(default=3, ge=1, description="Consecutive failures that open the breaker")
    auth_cooldown: float = Field(default=5.0, gt=0, description="Seconds the breaker stays open before one probe")
    auth_answer_ttl: float = Field(default=5.0, ge=0, description="Seconds a token's answer is reused; 0: never")
    auth_service_name: str = Field(default="movies-api", description="This service's account at movies_auth")
    auth_service_secret: SecretStr | None = Field(
        default=None, description="Its secret (`flask services create`); unset: every caller is anonymous"
    )
    auth_verify_tokens_locally: bool = Field(
        default=True, description="Check signatures and expiry against movies_auth's JWKS before asking it"
    )

    log_level: str = Field(default="INFO", description="DEBUG, INFO, WARNING or ERROR")
    log_format: Literal["text", "json"] = Field(
        default="text", description="json: every log line one JSON object, with the request, trace and span ids"
    )
    metrics_enabled: bool = Field(default=True, description="Count requests for GET /api/metrics (Prometheus)")

    @field_validator("auth_service_url")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @model_validator(mode="after")
    def _check(self) -> Settings:
        if self.app_env == "production" and (not self.database_url or not self.redis_url):
            raise ValueError("DATABASE_URL and REDIS_URL must be set in production (no embedded stores)")
        if self.app_env == "production" and not self.auth_service_secret:
            raise ValueError("AUTH_SERVICE_SECRET must be set in production: movies_auth answers services only")
        return self

    @cached_property
    def sqlalchemy_url(self) -> str:
        """The async SQLAlchemy URL: asyncpg for a plain PostgreSQL URL, aiosqlite for SQLite (the default)."""
        return _with_driver(self.database_url or f"sqlite:///{self.instance_path / 'movies.sqlite3'}")

    @cached_property
    def sqlalchemy_replica_url(self) -> str:
        """The async SQLAlchemy URL of the read replica (set only with DATABASE_REPLICA_URL)."""
        return _with_driver(self.database_replica_url or "")


def _with_driver(url: str) -> str:
    """The async driver in a plain PostgreSQL or SQLite URL; any other URL as it is."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url.removeprefix(prefix)
    if url.startswith("sqlite://"):
        return "sqlite+aiosqlite://" + url.removeprefix("sqlite://")
    return url
