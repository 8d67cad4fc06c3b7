"""Tokens made to push subscribers to anonymous or to crash the API (issue 19, items 3 and 7): each is a 401
answered here, without a call to movies_auth and without a mark against it on the circuit breaker."""

from __future__ import annotations

import base64
import json

import pytest
from movies_auth_client import BreakerState

from movies_support import FILMS, PATIENT, bearer, unsigned_token

NESTED_ARRAYS = 2_500


def segment(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def nested_payload_token() -> str:
    """A forged token whose payload opens 2,500 arrays: small enough to pass the size cap."""
    header = segment(json.dumps({"alg": "RS256", "typ": "JWT"}).encode())
    return f"{header}.{segment(b'[' * NESTED_ARRAYS)}.c2lnbmF0dXJl"


def nested_header_token() -> str:
    """A forged token whose header opens 2,500 arrays: what is read first to find the key."""
    payload = segment(json.dumps({"sub": "0b7c1d2e-3f40-4a5b-8c6d-7e8f90a1b2c3", "exp": 9_999_999_999}).encode())
    return f"{segment(b'[' * NESTED_ARRAYS)}.{payload}.c2lnbmF0dXJl"


def assert_refused_here(client, stub_auth, response) -> None:
    assert response.status_code == 401, response.text
    assert response.json() == {"detail": "Invalid token"}
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert "X-Auth-Degraded" not in response.headers
    assert stub_auth.calls == 0
    assert client.app.state.auth.breaker.state is BreakerState.CLOSED


@pytest.mark.parametrize("verify_locally", [True, False], ids=["verified locally", "left to movies_auth"])
def test_a_token_over_4_kib_is_refused_without_a_call(make_client, stub_auth, verify_locally):
    """movies_auth's gunicorn refuses header lines over 8,190 bytes with 431: a token that long, passed on,
    once counted as an outage. Well over any token movies_auth signs, 4 KiB is the cap."""
    client = make_client(stub_auth.url, auth_verify_tokens_locally=verify_locally)
    token = unsigned_token()
    oversized = token[: token.rindex(".")] + "." + "A" * (4097 - token.rindex(".") - 1)
    assert len(oversized) == 4097

    for _ in range(5):
        assert_refused_here(client, stub_auth, client.get(FILMS, headers=bearer(oversized)))


def test_a_token_of_exactly_4_kib_is_still_asked_about(make_client, stub_auth):
    client = make_client(stub_auth.url, auth_verify_tokens_locally=False, **PATIENT)
    token = unsigned_token()
    at_cap = token[: token.rindex(".")] + "." + "A" * (4096 - token.rindex(".") - 1)

    response = client.get(FILMS, headers=bearer(at_cap))

    assert response.status_code == 200 and "X-Auth-Degraded" not in response.headers
    assert stub_auth.calls == 1


@pytest.mark.parametrize("verify_locally", [True, False], ids=["verified locally", "left to movies_auth"])
@pytest.mark.parametrize(
    "raw", [b"\xff\xfe.abc.def", "токен.abc.def".encode(), b"a b.c.d"], ids=["latin-1", "utf-8", "space"]
)
def test_a_token_with_bytes_no_token_holds_is_a_401(make_client, stub_auth, verify_locally, raw):
    """Non-ASCII bytes once gave a 500 (they cannot be written into the header of the call) and a breaker mark."""
    client = make_client(stub_auth.url, auth_verify_tokens_locally=verify_locally)

    for _ in range(5):
        response = client.get(FILMS, headers={"Authorization": b"Bearer " + raw})
        assert_refused_here(client, stub_auth, response)


@pytest.mark.parametrize(
    ("forge", "verify_locally"),
    [(nested_payload_token, True), (nested_payload_token, False), (nested_header_token, True)],
    ids=["payload, verified locally", "payload, left to movies_auth", "header, verified locally"],
)
def test_a_token_nesting_thousands_of_arrays_is_a_401_not_a_500(make_client, stub_auth, forge, verify_locally):
    """Once a RecursionError and a 500 with a stack trace (issue 19, item 7). Without local verification the
    header is movies_auth's to read; the payload is read here, for the user id."""
    client = make_client(stub_auth.url, auth_verify_tokens_locally=verify_locally)

    assert_refused_here(client, stub_auth, client.get(FILMS, headers=bearer(forge())))
