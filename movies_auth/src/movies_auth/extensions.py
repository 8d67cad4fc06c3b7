"""Flask extensions, created unbound here and bound to the app in `create_app`."""

from __future__ import annotations

import redis
from flask import Flask, current_app
from flask_jwt_extended import JWTManager
from flask_limiter import Limiter
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

from movies_auth import embedded_redis
from movies_auth.request_context import client_ip
from movies_auth.settings import Settings


class Base(DeclarativeBase):
    """Declarative base whose constraint names are predictable, so migrations can name them."""

    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


class RedisStore:
    """The service's Redis client: a real server when `REDIS_URL` is set, else the embedded one."""

    def init_app(self, app: Flask, settings: Settings) -> None:
        """Create the app's client; both kinds speak the same redis-py API."""
        if settings.redis_url:
            client = redis.Redis.from_url(
                settings.redis_url,
                decode_responses=True,
                socket_timeout=settings.redis_socket_timeout,
                socket_connect_timeout=settings.redis_socket_timeout,
                health_check_interval=30,
                retry_on_timeout=False,
            )
        else:
            client = embedded_redis.connect(app.instance_path, settings.redis_socket_timeout)
        app.extensions["redis"] = client

    @property
    def client(self) -> redis.Redis:
        """The current app's client."""
        return current_app.extensions["redis"]


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
jwt = JWTManager()
limiter = Limiter(key_func=client_ip)
redis_store = RedisStore()


def current_settings() -> Settings:
    """The settings of the app handling the current request or command."""
    return current_app.extensions["settings"]
