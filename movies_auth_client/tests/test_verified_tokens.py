"""Verified tokens are remembered until they expire or the keys change: a remembered token is refused once
expired, and a key replaced under the same key id is checked against again."""

from __future__ import annotations

import json
import time
import uuid

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from movies_auth_client import InvalidToken
from movies_auth_client.keys import REFETCH_INTERVAL, KeySet


def test_a_token_verified_before_is_refused_once_it_expires(make_client, auth):
    client = make_client()
    user_id, _ = auth.user()
    expires = int(time.time()) + 2
    token = auth.sign({"sub": user_id, "type": "access", "exp": expires, "jti": uuid.uuid4().hex})

    assert client.verify_token(token)["sub"] == user_id
    assert client.verify_token(token)["sub"] == user_id  # the remembered verification
    client.wait(max(0.0, expires - time.time()) + 0.2)

    with pytest.raises(InvalidToken, match="Token has expired"):
        client.verify_token(token)


def key_set(private: rsa.RSAPrivateKey, kid: str) -> dict:
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(private.public_key()))
    return {"keys": [{**public, "kid": kid, "alg": "RS256", "use": "sig"}]}


def signed(private: rsa.RSAPrivateKey, kid: str) -> str:
    claims = {"sub": str(uuid.uuid4()), "type": "access", "exp": int(time.time()) + 600}
    return jwt.encode(claims, private, algorithm="RS256", headers={"kid": kid})


@pytest.mark.parametrize("new_kid", ["k1", "k2"], ids=["key replaced under the same id", "key gone"])
def test_a_remembered_token_is_checked_again_once_the_key_set_changes(new_kid):
    first, second = (rsa.generate_private_key(public_exponent=65537, key_size=2048) for _ in range(2))
    keys = KeySet()
    keys.replace(key_set(first, "k1"))
    token = signed(first, "k1")
    assert keys.decode(token, "k1") is not None

    keys.replace(key_set(second, new_kid))

    with pytest.raises(InvalidToken, match="Signature verification failed"):
        keys.decode(token, "k1")


def test_each_caller_gets_claims_of_its_own():
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    keys = KeySet()
    keys.replace(key_set(private, "k1"))
    token = signed(private, "k1")

    first = keys.decode(token, "k1")
    assert first is not None
    subject = first["sub"]
    first["sub"] = "someone else"

    second = keys.decode(token, "k1")
    assert second is not None and second["sub"] == subject


def test_a_remembered_token_is_found_by_its_text_until_the_keys_are_due_for_a_refetch():
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = [0.0]
    keys = KeySet(clock=lambda: now[0])
    keys.replace(key_set(private, "k1"))
    token = signed(private, "k1")
    assert keys.remembered(token) is None  # never verified
    claims = keys.decode(token, "k1")

    assert keys.remembered(token) == claims
    now[0] = REFETCH_INTERVAL
    assert keys.remembered(token) is None  # the keys are stale: the caller fetches them before trusting it
    assert keys.fetch_due("k1")
