"""docker-compose.ha.yml on top of production: valid Compose, Redis Sentinel (a primary, a replica, three Sentinels)
that movies_auth reaches through redis+sentinel://, and a streaming replica for each PostgreSQL."""

from __future__ import annotations

import pytest
import yaml
from movies_auth.settings import Settings
from movies_auth.stores.redis_connection import RedisDeployment
from test_compose import BASE, PROD, REPO, SERVICES, compose_config, filled_env_file, validate_against_compose_spec

HA = "docker-compose.ha.yml"
SENTINELS = {"redis-sentinel-1", "redis-sentinel-2", "redis-sentinel-3"}
HA_SERVICES = SERVICES | SENTINELS | {"auth-redis-replica", "auth-db-replica", "movies-db-replica"}


@pytest.fixture(scope="module")
def merged(tmp_path_factory) -> dict:
    directory = tmp_path_factory.mktemp("ha")
    done = compose_config(BASE, PROD, HA, env_file=filled_env_file(directory / ".env.prod"))
    assert done.returncode == 0, done.stderr
    (directory / "merged.yml").write_text(done.stdout)
    validate_against_compose_spec(directory / "merged.yml")
    return yaml.safe_load(done.stdout)["services"]


def test_the_file_follows_the_compose_specification():
    validate_against_compose_spec(REPO / HA)


def test_the_merge_adds_sentinels_and_replicas(merged):
    assert set(merged) == HA_SERVICES
    for name in HA_SERVICES - SERVICES:
        assert merged[name]["restart"] == "unless-stopped", name
        assert merged[name]["healthcheck"]["test"], name


def test_the_ha_file_needs_no_variable_production_does_not(tmp_path):
    done = compose_config(
        BASE, PROD, HA, env_file=filled_env_file(tmp_path / ".env.prod", without="AUTH_REDIS_PASSWORD")
    )
    assert done.returncode != 0
    assert "set AUTH_REDIS_PASSWORD in .env.prod" in done.stderr


def test_movies_auth_finds_its_redis_through_the_three_sentinels_and_waits_for_the_replica(merged):
    url = merged["auth"]["environment"]["REDIS_URL"]
    settings = Settings(_env_file=None, redis_url=url)
    assert RedisDeployment(url, {}).kind == "sentinel"
    assert settings.redis_replica_acks == 1  # a logout is acknowledged once the replica has it
    hosts = url.rpartition("@")[2].partition("/")[0].split(",")
    assert hosts == [f"{name}:26379" for name in sorted(SENTINELS)]
    assert url.endswith("/mymaster/0")
    assert {"redis-sentinel-1", "redis-sentinel-2", "redis-sentinel-3"} <= set(merged["auth"]["depends_on"])


def test_each_sentinel_watches_the_primary_with_a_quorum_of_two(merged):
    for name in SENTINELS:
        script = merged[name]["entrypoint"][-1]
        assert "sentinel monitor mymaster auth-redis 6379 2" in script
        # `compose config` prints `$$` as written: the container's shell gets `${AUTH_REDIS_PASSWORD}`.
        assert "sentinel auth-pass mymaster $${AUTH_REDIS_PASSWORD}" in script
        assert "--sentinel" in script


def test_the_redis_replica_follows_the_primary_and_persists_like_it(merged):
    command = merged["auth-redis-replica"]["command"]
    assert command[command.index("--replicaof") + 1 : command.index("--replicaof") + 3] == ["auth-redis", "6379"]
    for name in ("auth-redis", "auth-redis-replica"):
        command = merged[name]["command"]
        assert command[command.index("--appendonly") + 1] == "yes", name
        assert command[command.index("--maxmemory-policy") + 1] == "noeviction", name
        assert command[command.index("--masterauth") + 1] == command[command.index("--requirepass") + 1], name


@pytest.mark.parametrize(("service", "primary"), [("auth", "auth-db"), ("movies-api", "movies-db")])
def test_each_service_reads_lag_tolerant_data_from_its_database_replica(merged, service, primary):
    replica = f"{primary}-replica"
    assert f"@{replica}:5432/" in merged[service]["environment"]["DATABASE_REPLICA_URL"]
    assert merged[replica]["environment"]["PRIMARY_HOST"] == primary
    assert "pg_basebackup" in merged[replica]["entrypoint"][-1]
    assert "host replication all all scram-sha-256" in merged[primary]["entrypoint"][-1]
