"""REDIS_URL names one server, a Sentinel-watched primary or a cluster; a malformed one is refused at start with
a message that says what is expected. (The deployments themselves are tested by `make test-ha`.)"""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from movies_auth.settings import Settings
from movies_auth.stores.redis_connection import RedisDeployment

pytestmark = pytest.mark.unit  # starts no server and no process: `make test-fast`


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("redis://127.0.0.1:6379/0", "server"),
        ("rediss://:secret@redis.example.com:6380/2", "server"),
        ("redis+sentinel://a:26379,b:26379,c:26379/mymaster/3", "sentinel"),
        ("redis+cluster://a:7000,b:7001", "cluster"),
    ],
)
def test_each_scheme_names_its_kind_of_deployment(url, kind):
    assert RedisDeployment(url, {}).kind == kind


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("redis+sentinel://a:26379", "names its service"),
        ("redis+sentinel://a:26379/mymaster/not-a-number", "names its service"),
        ("redis+sentinel://a/mymaster", "expected host:port"),
        ("redis+cluster://a:7000,b", "expected host:port"),
        ("redis+cluster://:secret@a:port", "expected host:port"),
    ],
)
def test_a_malformed_url_is_refused_with_what_is_expected(url, message):
    with pytest.raises(ValueError, match=message):
        RedisDeployment(url, {}).client()


@pytest.mark.parametrize(
    ("url", "acks"),
    [(None, 0), ("redis://h:6379/0", 0), ("redis+sentinel://h:26379/m", 1), ("redis+cluster://h:7000", 1)],
)
def test_revocations_wait_for_a_replica_where_a_failover_can_happen(url, acks):
    assert Settings(_env_file=None, redis_url=url).redis_replica_acks == acks


def test_the_replica_wait_can_be_set_and_must_end_before_the_socket_timeout():
    assert Settings(_env_file=None, redis_url="redis+cluster://h:7000", redis_replica_acks=2).redis_replica_acks == 2
    assert Settings(_env_file=None, redis_url="redis+cluster://h:7000", redis_replica_acks=0).redis_replica_acks == 0
    with pytest.raises(ValidationError, match="REDIS_REPLICA_ACK_TIMEOUT must be shorter"):
        Settings(_env_file=None, redis_url="redis+cluster://h:7000", redis_replica_ack_timeout=0.5)
    with pytest.raises(ValidationError):
        Settings(_env_file=None, redis_replica_acks=-1)
