"""`movies-api`: create the schema and fill the catalogue, from the Practicum SQLite format or made up."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from pathlib import Path

import click
from redis.exceptions import RedisError
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from movies_async_api.cache import ResponseCache
from movies_async_api.catalogue import demo, practicum
from movies_async_api.catalogue.records import FilmRecord
from movies_async_api.catalogue.writer import clear, is_empty, store
from movies_async_api.clients import connect_redis
from movies_async_api.database import create_engine, create_schema
from movies_async_api.models import Film, Genre, Person
from movies_async_api.readiness import check_stores
from movies_async_api.settings import Settings


@click.group()
def cli() -> None:
    """Manage the movies API's catalogue (DATABASE_URL and REDIS_URL come from the environment)."""


@cli.command()
def init() -> None:
    """Create the schema: tables, indexes and full-text search. Running it again changes nothing."""

    async def run(engine: AsyncEngine, _settings: Settings) -> None:
        await create_schema(engine)
        click.echo(f"Schema ready on {engine.url.render_as_string(hide_password=True)}")

    asyncio.run(_with_engine(run))


replace_option = click.option(
    "--replace", is_flag=True, help="Delete the whole catalogue first (such as the demo one), then load."
)


@cli.command("load-sqlite")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@replace_option
def load_sqlite(path: Path, replace: bool) -> None:
    """Load the films, genres and people of a Practicum movies SQLite file; loading it again changes nothing."""
    try:
        total = practicum.count_films(path)
        records = practicum.read_films(path)
        label = f"Loading {path.name}"
        asyncio.run(_with_engine(lambda engine, settings: _load(engine, settings, records, total, label, replace)))
    except practicum.SourceError as error:
        raise click.ClickException(str(error)) from error


@cli.command("demo")
@click.option("--films", type=click.IntRange(1, 10_000_000), default=1000, show_default=True, help="How many films")
@click.option("--seed", type=int, default=42, show_default=True, help="The same seed gives the same catalogue")
@replace_option
@click.option("--if-empty", is_flag=True, help="Do nothing when the catalogue already holds a film (make run).")
def demo_catalogue(films: int, seed: int, replace: bool, if_empty: bool) -> None:
    """Generate a plausible made-up catalogue, for a machine without real data."""
    if replace and if_empty:
        raise click.UsageError("--replace and --if-empty contradict each other: give one.")
    records = demo.generate(films, seed)

    async def run(engine: AsyncEngine, settings: Settings) -> None:
        await create_schema(engine)
        if if_empty and not await is_empty(engine):
            click.echo("The catalogue already holds films: no demo catalogue made (--replace makes one instead).")
            return
        await _load(engine, settings, records, films, "Generating films", replace)

    asyncio.run(_with_engine(run))


@cli.command()
@click.option("--timeout", type=click.FloatRange(0, 3600), default=60, show_default=True, help="Seconds to wait.")
def wait(timeout: float) -> None:
    """Wait until the database and Redis answer (a container's first step); exit 1 if they do not in time."""

    async def run(engine: AsyncEngine, settings: Settings) -> None:
        redis = connect_redis(settings)
        deadline = time.monotonic() + timeout
        try:
            while down := [name for name, state in (await check_stores(engine, redis)).items() if state != "ok"]:
                if time.monotonic() >= deadline:
                    raise click.ClickException(f"Gave up after {timeout:g} s: {' and '.join(down)} unavailable.")
                await asyncio.sleep(min(1.0, max(0.0, deadline - time.monotonic())))
        finally:
            await redis.aclose()
        click.echo("The database and Redis answer.")

    asyncio.run(_with_engine(run))


async def _with_engine(run) -> None:
    settings = Settings()
    engine = create_engine(settings)
    try:
        await run(engine, settings)
    except (DBAPIError, OSError) as error:
        reason = getattr(error, "orig", None) or error
        where = engine.url.render_as_string(hide_password=True)
        raise click.ClickException(f"Cannot use the database at {where}: {reason}") from error
    finally:
        await engine.dispose()


async def _load(
    engine: AsyncEngine,
    settings: Settings,
    records: Iterable[FilmRecord],
    total: int,
    label: str,
    replace: bool = False,
) -> None:
    await create_schema(engine)
    deleted = await clear(engine) if replace else 0
    if replace:
        click.echo(f"Deleted the catalogue of {deleted} films.")
    with click.progressbar(length=total, label=label, show_pos=True) as bar:
        changed = await store(engine, records, on_batch=bar.update)
    async with engine.connect() as connection:
        counts = {
            name: await connection.scalar(select(func.count()).select_from(model))
            for name, model in (("films", Film), ("genres", Genre), ("persons", Person))
        }
    click.echo(
        f"{total} films read, {changed} new or changed. The catalogue holds "
        + ", ".join(f"{count} {name}" for name, count in counts.items())
        + "."
    )
    if changed or deleted:
        await _clear_response_cache(settings)


async def _clear_response_cache(settings: Settings) -> None:
    if not settings.redis_url:
        return  # the embedded cache lives inside the server; its entries expire within the TTL
    redis = connect_redis(settings)
    try:
        dropped = await ResponseCache(redis, settings.response_cache_ttl).clear()
        click.echo(f"Dropped {dropped} cached answers.")
    except (RedisError, OSError) as error:
        click.echo(f"Could not clear the response cache ({error}); cached answers expire within the TTL.", err=True)
    finally:
        await redis.aclose()
