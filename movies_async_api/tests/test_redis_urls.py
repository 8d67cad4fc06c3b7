"""REDIS_URL takes the schemes movies_auth takes; a malformed one is refused with what is expected."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis, RedisCluster

from movies_async_api.redis_connection import connect

pytestmark = pytest.mark.unit  # starts no server and no process: `make test-fast`


def test_each_scheme_gets_its_client():
    assert isinstance(connect("redis://127.0.0.1:6379/0"), Redis)
    sentinel = connect("redis+sentinel://127.0.0.1:26379,127.0.0.1:26380/mymaster/2")
    assert sentinel.connection_pool.service_name == "mymaster"
    assert sentinel.connection_pool.connection_kwargs["db"] == 2


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("redis+sentinel://a:26379", "names its service"),
        ("redis+sentinel://a:26379/mymaster/x", "names its service"),
        ("redis+cluster://a:7000,b", "expected host:port"),
    ],
)
def test_a_malformed_url_is_refused_with_what_is_expected(url, message):
    with pytest.raises(ValueError, match=message):
        connect(url)


def test_a_cluster_url_makes_a_cluster_client():
    assert isinstance(connect("redis+cluster://127.0.0.1:7000,127.0.0.1:7001"), RedisCluster)
