"""The one settings object of the service, read from the environment and a `.env` file."""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from movies_auth.oauth_settings import OAuthProviderVariables

MIN_SECRET_LENGTH = 32
# Values that appear in our examples and docs; a production deployment must never run with them.
EXAMPLE_SECRETS = frozenset({"change-me", "changeme", "secret", "dev-secret", "please-change-this-secret"})

# OWASP Password Storage Cheat Sheet: each row is an equivalent argon2id minimum (memory KiB, iterations).
OWASP_ARGON2ID_MINIMUMS = ((47104, 1), (19456, 2), (12288, 3), (9216, 4), (7168, 5))


class Settings(BaseSettings):
    """Every tunable of movies_auth; environment variables use the upper-case field names."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    app_env: Literal["development", "testing", "production"] = Field(
        default="development", description="`production` refuses the embedded stores, example secrets and weak settings"
    )
    instance_path: Path | None = Field(
        default=None, description="Unset: instance/ beside the package; holds the embedded database and secrets"
    )
    database_url: str | None = Field(default=None, description="Unset: a SQLite file in the instance folder")
    redis_url: str | None = Field(
        default=None,
        description="redis://, rediss://, redis+sentinel://h:p[,h:p]/<service>[/<db>] or redis+cluster://h:p[,h:p];"
        " unset: an in-process Redis (fakeredis)",
    )
    redis_replica_acks: int | None = Field(
        default=None,
        ge=0,
        description="Replicas a revocation must reach before it is acknowledged (WAIT);"
        " unset: 1 for Sentinel and Cluster URLs, 0 for one server",
    )
    redis_replica_ack_timeout: float = Field(
        default=0.2, gt=0, description="Seconds a revocation waits for its replicas; then 503"
    )
    database_replica_url: str | None = Field(
        default=None, description="A streaming replica for reads that tolerate lag; the primary when it is down"
    )
    jwt_algorithm: Literal["RS256", "ES256", "HS256"] = Field(
        default="RS256", description="RS256/ES256: signed with the key ring; HS256: with JWT_SECRET_KEY"
    )
    jwt_keys_dir: Path | None = Field(
        default=None, description="The key ring (RS256/ES256), one PEM per key; unset: instance/jwt-keys"
    )
    jwt_secret_key: SecretStr | None = Field(
        default=None, description="HS256 only; unset: made once (not in production)"
    )
    service_secret_hash_key: SecretStr | None = Field(
        default=None,
        description="Keys the HMAC-SHA256 kept of each service secret; unset: made once per instance folder",
    )
    jwt_access_token_expires: timedelta = Field(default=timedelta(minutes=15), description="Seconds, or ISO 8601")
    jwt_refresh_token_expires: timedelta = Field(default=timedelta(days=30), description="Seconds, or ISO 8601")
    jwt_service_token_expires: timedelta = Field(default=timedelta(minutes=10), description="Seconds, or ISO 8601")
    user_api_services: list[str] = Field(
        default=[], description="Services whose tokens may use the user endpoints as an admin would (JSON list)"
    )

    # RFC 9106 "low memory" profile (argon2-cffi's default), above the OWASP minimums.
    argon2_time_cost: int = Field(default=3, ge=1, description="argon2id passes")
    argon2_memory_cost: int = Field(default=65536, ge=1, description="KiB")
    argon2_parallelism: int = Field(default=4, ge=1, description="argon2id lanes")

    max_sessions_per_user: int = Field(
        default=50, ge=1, description="Live sessions a user may keep; a sign-in beyond ends the least recently used"
    )
    jwt_refresh_grace_seconds: int = Field(
        default=30, ge=0, description="A refresh token presented again this soon answers the same new pair"
    )
    refresh_rate_limit_per_session: str = Field(default="10 per minute", description="Refreshes of one session")
    password_hashing_concurrency: int = Field(
        default=1, ge=1, description="Password hashes computed at once per worker; more wait their turn"
    )
    # With gunicorn's 4 threads a worker, 1 + 2 leave a thread free for the checks however many hashes come.
    password_hashing_queue: int = Field(
        default=2,
        ge=0,
        description="Password hashes waiting per worker; more are refused (503)",
    )

    login_rate_limit_per_ip: str = Field(default="30 per minute", description="All login attempts from one address")
    login_free_failures: int = Field(
        default=5, ge=1, description="Failed logins per account and client address before each next one must wait"
    )
    login_free_failures_per_account: int = Field(
        default=100, ge=1, description="Failed logins per account from addresses it never signed in from, the same"
    )
    login_failure_delay: timedelta = Field(
        default=timedelta(seconds=1), description="The first wait; it doubles with each further failure"
    )
    login_failure_max_delay: timedelta = Field(default=timedelta(minutes=15), description="The longest wait")
    login_failure_memory: timedelta = Field(
        default=timedelta(hours=24), description="How long failures are counted after the last one"
    )
    login_known_address_memory: timedelta = Field(
        default=timedelta(days=30), description="How long an address an account signed in from is remembered"
    )
    register_rate_limit_per_ip: str = Field(default="20 per minute", description="Registrations from one address")
    email_change_rate_limit_per_account: str = Field(
        default="5 per hour", description="PATCH /users/{id} with an email, per caller (each tells whether it is taken)"
    )
    email_change_rate_limit_per_ip: str = Field(default="20 per hour", description="The same, per client address")
    rate_limits_enabled: bool = Field(default=True, description="Every rate limit above; off only for tests")

    public_url: str = Field(
        default="http://127.0.0.1:5000", description="The base of the links in mails (the site users open)"
    )
    mail_from: str = Field(default="Movies <no-reply@localhost>", description="The From of every mail")
    smtp_url: SecretStr | None = Field(
        default=None,
        description="smtp://[user:pass@]host:port[?starttls=true] or smtps://...; unset: .eml files in instance/outbox",
    )
    smtp_timeout: float = Field(default=10.0, gt=0, description="Seconds for each SMTP connection and command")
    smtp_ca_file: Path | None = Field(
        default=None, description="CA bundle the SMTP server's certificate is checked with"
    )
    mail_sender_thread: bool = Field(
        default=True, description="Each gunicorn worker runs a sender; false when `flask mail send --watch` runs apart"
    )
    mail_poll_interval: float = Field(default=2.0, gt=0, description="Seconds between two looks at the outbox")
    mail_retry_delay: timedelta = Field(
        default=timedelta(seconds=10), description="Wait after a first failed delivery; it doubles with each failure"
    )
    mail_retry_max_delay: timedelta = Field(default=timedelta(minutes=30), description="The longest wait")
    mail_max_attempts: int = Field(default=60, ge=1, description="Deliveries tried before a mail is dropped (logged)")
    mail_rate_limit_per_address: str = Field(
        default="5 per hour", description="Verification, reset and email-change mails asked for one address"
    )
    mail_rate_limit_per_ip: str = Field(default="20 per hour", description="The same mails asked by one client address")
    link_confirm_rate_limit_per_ip: str = Field(default="30 per minute", description="Links confirmed per client")
    email_verification_ttl: timedelta = Field(default=timedelta(hours=48), description="How long a verify link lives")
    password_reset_ttl: timedelta = Field(default=timedelta(minutes=30), description="How long a reset link lives")
    email_change_ttl: timedelta = Field(default=timedelta(hours=1), description="How long an email-change link lives")
    require_verified_email: bool = Field(default=False, description="Refuse login (403) until the email is verified")
    pwned_passwords_url: str = Field(
        default="",
        description="The k-anonymity range API the SHA-1 prefix is appended to; empty: no breached-password check",
    )
    pwned_passwords_timeout: float = Field(default=2.0, gt=0, description="Seconds to wait for the range API")
    pwned_passwords_fail_closed: bool = Field(
        default=False, description="Refuse new passwords (503) while the range API cannot be reached"
    )

    login_history_retention: timedelta | None = Field(
        default=None,
        description="Login history older than this is dropped a whole month at a time (`flask history prune`);"
        " unset: kept",
    )
    login_history_months_ahead: int = Field(
        default=3, ge=1, description="PostgreSQL: monthly login-history partitions made ahead of time"
    )
    failed_login_retention: timedelta = Field(
        default=timedelta(days=90), description="How long failed logins are kept (`flask users prune-failed-logins`)"
    )

    oauth_providers: str = Field(
        default="",
        description="Social sign-in providers, comma-separated (`google,yandex,vk`): `yandex` and `vk` are built in,"
        " any other name is an OpenID Connect provider found by its OAUTH_<NAME>_DISCOVERY_URL",
    )
    oauth_provider_settings: dict[str, str] = Field(
        default={},
        description="Not one variable: each provider's OAUTH_<NAME>_CLIENT_ID, _CLIENT_SECRET, _DISCOVERY_URL,"
        " _AUTHORIZE_URL, _TOKEN_URL, _USERINFO_URL and _SCOPE, gathered here (see Social sign-in)",
    )
    oauth_redirect_allowlist: str = Field(
        default="",
        description="Comma-separated URL prefixes a sign-in may send the browser back to (`redirect_uri`);"
        " empty: none, the callback answers the tokens as JSON",
    )
    oauth_state_ttl: timedelta = Field(
        default=timedelta(minutes=10), description="How long a started social sign-in waits for its callback"
    )
    oauth_code_ttl: timedelta = Field(
        default=timedelta(seconds=60), description="How long the one-time code of a redirected sign-in lives"
    )
    oauth_max_pending: int = Field(
        default=20_000,
        ge=1,
        description="Social sign-ins started and not yet called back, across all callers; beyond it a start is 503"
        " (each keeps about 650 bytes in Redis, 2.7 KB at most, until its callback or OAUTH_STATE_TTL)",
    )
    oauth_timeout: float = Field(default=5.0, gt=0, description="Seconds for each call to a social provider")
    oauth_rate_limit_per_ip: str = Field(
        default="30 per minute", description="Social sign-ins started, and callbacks and codes answered, per address"
    )

    permission_cache_ttl: timedelta = Field(
        default=timedelta(minutes=10), description="Seconds, or ISO 8601; a safety net, changes invalidate at once"
    )

    trusted_proxies: int = Field(default=0, ge=0, description="Reverse proxies in front (1 behind nginx)")
    max_content_length: int = Field(default=64 * 1024, ge=1024, description="Largest request body, bytes (413)")
    redis_socket_timeout: float = Field(default=0.5, gt=0, description="Seconds; a stalled Redis fails fast (503)")
    database_connect_timeout: int = Field(default=2, ge=2, description="Seconds; libpq's smallest is 2")
    redis_client_cache: bool = Field(
        default=True, description="Serve token and permission checks from a per-process copy Redis invalidates"
    )
    fast_checks: bool = Field(
        default=True, description="Answer token and permission checks that pass ahead of Flask (same answers, faster)"
    )
    log_level: str = Field(default="INFO", description="DEBUG, INFO, WARNING or ERROR")
    log_format: Literal["text", "json"] = Field(
        default="text", description="json: every log line one JSON object, with the request, trace and span ids"
    )
    metrics_enabled: bool = Field(default=True, description="Count requests for GET /auth/metrics (Prometheus)")

    @field_validator(
        "jwt_access_token_expires",
        "jwt_refresh_token_expires",
        "jwt_service_token_expires",
        "permission_cache_ttl",
        "login_failure_delay",
        "login_failure_max_delay",
        "login_failure_memory",
        "login_known_address_memory",
        "failed_login_retention",
        "mail_retry_delay",
        "mail_retry_max_delay",
        "email_verification_ttl",
        "password_reset_ttl",
        "email_change_ttl",
        "login_history_retention",
        "oauth_state_ttl",
        "oauth_code_ttl",
        mode="before",
    )
    @classmethod
    def _seconds(cls, value: object) -> object:
        # Environment variables are strings; a bare number there means seconds.
        return int(value) if isinstance(value, str) and value.strip().isdigit() else value

    @field_validator("smtp_url")
    @classmethod
    def _smtp_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and value.get_secret_value():
            # The message names the rule, never the value: it may hold the SMTP password.
            from movies_auth.domain.mail_transport import check_smtp_url

            check_smtp_url(value.get_secret_value())
            return value
        return None

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """The usual sources, and the per-provider OAUTH_<NAME>_* variables gathered into one field."""
        return init_settings, env_settings, dotenv_settings, OAuthProviderVariables(settings_cls), file_secret_settings

    @property
    def oauth_provider_names(self) -> list[str]:
        """The configured social sign-in providers, in the order OAUTH_PROVIDERS names them."""
        return [name.strip().lower() for name in self.oauth_providers.split(",") if name.strip()]

    @property
    def oauth_redirect_prefixes(self) -> list[str]:
        """The URL prefixes OAUTH_REDIRECT_ALLOWLIST allows."""
        return [prefix.strip() for prefix in self.oauth_redirect_allowlist.split(",") if prefix.strip()]

    @model_validator(mode="after")
    def _check(self) -> Settings:
        for memory, iterations in OWASP_ARGON2ID_MINIMUMS:
            if self.argon2_memory_cost >= memory and self.argon2_time_cost >= iterations:
                break
        else:
            raise ValueError("argon2 parameters are below the OWASP minimum (e.g. 19456 KiB with 2 iterations)")
        if self.jwt_refresh_token_expires <= self.jwt_access_token_expires:
            raise ValueError("JWT_REFRESH_TOKEN_EXPIRES must be longer than JWT_ACCESS_TOKEN_EXPIRES")
        if self.login_failure_memory < self.login_failure_max_delay:
            raise ValueError("LOGIN_FAILURE_MEMORY must be at least LOGIN_FAILURE_MAX_DELAY")
        if self.redis_replica_acks is None:
            sharded_or_watched = (self.redis_url or "").startswith(("redis+sentinel://", "redis+cluster://"))
            self.redis_replica_acks = 1 if sharded_or_watched else 0
        if self.redis_replica_acks and self.redis_replica_ack_timeout >= self.redis_socket_timeout:
            raise ValueError("REDIS_REPLICA_ACK_TIMEOUT must be shorter than REDIS_SOCKET_TIMEOUT")
        if self.app_env == "production":
            self._check_production()
        from movies_auth.domain.oauth_providers import check_settings

        check_settings(self)
        return self

    def _check_production(self) -> None:
        if not self.database_url or not self.redis_url:
            raise ValueError("DATABASE_URL and REDIS_URL must be set in production (no embedded stores)")
        if self.jwt_algorithm != "HS256":
            if not self.jwt_keys_dir:
                raise ValueError("JWT_KEYS_DIR must be set in production: signing keys must outlive the container")
            return
        secret = self.jwt_secret_key.get_secret_value() if self.jwt_secret_key else ""
        if not secret:
            raise ValueError("JWT_SECRET_KEY must be set in production")
        if len(secret) < MIN_SECRET_LENGTH:
            raise ValueError(f"JWT_SECRET_KEY must be at least {MIN_SECRET_LENGTH} characters in production")
        if secret.lower() in EXAMPLE_SECRETS or secret.lower().startswith("change-me"):
            raise ValueError("JWT_SECRET_KEY is an example value; generate one (openssl rand -hex 32)")

    def sqlalchemy_url(self, instance_path: str) -> str:
        """The SQLAlchemy URL: our driver for a plain PostgreSQL URL, a SQLite file when unset."""
        if not self.database_url:
            return f"sqlite:///{Path(instance_path) / 'movies_auth.sqlite3'}"
        return _with_driver(self.database_url)

    def sqlalchemy_replica_url(self) -> str | None:
        """The SQLAlchemy URL of the read replica, when one is set."""
        return _with_driver(self.database_replica_url) if self.database_replica_url else None

    @property
    def longest_token_life(self) -> timedelta:
        """How long the longest-lived token the service mints can live (a refresh token, unless set otherwise)."""
        return max(self.jwt_refresh_token_expires, self.jwt_service_token_expires)

    def key_ring_folder(self, instance_path: str) -> Path:
        """Where the signing keys live: JWT_KEYS_DIR, or beside the embedded database."""
        return self.jwt_keys_dir or Path(instance_path) / "jwt-keys"

    def jwt_secret(self, instance_path: str) -> str:
        """The signing secret: from settings, or (outside production) one generated once per instance."""
        if self.jwt_secret_key:
            return self.jwt_secret_key.get_secret_value()
        return _instance_secret(Path(instance_path) / "jwt-secret")

    def service_secret_key(self, instance_path: str) -> bytes:
        """The HMAC key for service secrets: from settings, or one generated once per instance."""
        if self.service_secret_hash_key and self.service_secret_hash_key.get_secret_value():
            return self.service_secret_hash_key.get_secret_value().encode()
        return _instance_secret(Path(instance_path) / "service-secret-hash-key").encode()


def _instance_secret(path: Path) -> str:
    """A random secret kept in `path`, made on first use."""
    if not path.exists():
        # Written aside and linked into place, so concurrent workers all read one complete secret.
        path.parent.mkdir(parents=True, exist_ok=True)
        draft = path.with_name(f"{path.name}.{os.getpid()}")
        draft.write_text(secrets.token_hex(32))
        draft.chmod(0o600)
        try:
            os.link(draft, path)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return path.read_text().strip()


def _with_driver(url: str) -> str:
    """Our PostgreSQL driver in a plain `postgresql://` URL; any other URL as it is."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    return url
