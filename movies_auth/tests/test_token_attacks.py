"""Token attacks: every way of bending a token is refused with a clear 401 or 422, never a 500 or a 200."""

from __future__ import annotations

import base64
import json
import time

import jwt as pyjwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from auth_support import API, bearer

VALIDATION = f"{API}/auth_token/validation"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def segment(data: dict) -> str:
    return b64(json.dumps(data).encode())


def claims_of(token: str) -> dict:
    return pyjwt.decode(token, options={"verify_signature": False})


def header_of(token: str) -> dict:
    return pyjwt.get_unverified_header(token)


def signed(app, claims: dict, **header: object) -> str:
    """A token signed with the service's own signing key: only the claims or headers are bent."""
    key = app.extensions["key_ring"].snapshot.signing_key
    return pyjwt.encode(claims, key.private_key, algorithm=key.algorithm, headers={"kid": key.kid, **header})


def refused(client, token: str, status: int | None = None):
    response = client.get(VALIDATION, headers=bearer(token))
    assert response.status_code in ((status,) if status else (401, 422)), response.json
    assert isinstance(response.json["msg"], str) and response.json["msg"]
    return response


def test_a_token_without_alg_is_refused(client, account):
    header = {key: value for key, value in header_of(account.access_token).items() if key != "alg"}
    _, payload, signature = account.access_token.split(".")

    refused(client, f"{segment(header)}.{payload}.{signature}", 422)


@pytest.mark.parametrize("where", ["jwk", "jku", "x5u"])
def test_a_key_the_token_brings_along_is_never_trusted(client, account, where):
    attacker = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_jwk = json.loads(pyjwt.algorithms.RSAAlgorithm.to_jwk(attacker.public_key()))
    brought = {"jwk": public_jwk, "jku": "https://attacker.example/jwks.json", "x5u": "https://attacker.example/c.pem"}
    headers = {"kid": header_of(account.access_token)["kid"], where: brought[where]}

    forged = pyjwt.encode(claims_of(account.access_token), attacker, algorithm="RS256", headers=headers)

    assert refused(client, forged, 422).json == {"msg": "Signature verification failed"}


@pytest.mark.parametrize("kid", ["../../../../etc/passwd", "' OR '1'='1", "x" * 5000, ""])
def test_an_injected_kid_is_refused(client, account, kid):
    _, payload, signature = account.access_token.split(".")
    header = {**header_of(account.access_token), "kid": kid}

    refused(client, f"{segment(header)}.{payload}.{signature}", 422)


@pytest.mark.parametrize("garbage", ["!!!.@@@.###", "eyJhbGciOiJSUzI1NiJ9.%%%.abc", "é.é.é", " . . "])
def test_non_base64_segments_are_refused(client, garbage):
    refused(client, garbage, 422)


def test_a_100_kb_token_is_refused(client, account):
    _, payload, signature = account.access_token.split(".")
    header = {**header_of(account.access_token), "padding": "x" * 100_000}

    refused(client, f"{segment(header)}.{payload}.{signature}")


@pytest.mark.parametrize(
    "exp",
    ["missing", "in 10 minutes", 10**20, 1e400, -1, None, [1], {"a": 1}, True],
    ids=["missing", "string", "huge", "infinite", "negative", "null", "list", "object", "bool"],
)
def test_a_bent_expiry_is_refused(client, app, account, exp):
    claims = claims_of(account.access_token)
    if exp == "missing":
        del claims["exp"]
    else:
        claims["exp"] = exp

    refused(client, signed(app, claims))


def test_a_token_not_yet_valid_is_refused(client, app, account):
    claims = {**claims_of(account.access_token), "nbf": int(time.time()) + 3600}

    refused(client, signed(app, claims), 422)


def test_a_token_issued_in_the_future_is_refused(client, app, account):
    claims = {**claims_of(account.access_token), "iat": int(time.time()) + 3600}

    refused(client, signed(app, claims), 422)


@pytest.mark.parametrize("claim", ["sub", "sid", "type", "jti"])
def test_a_token_missing_a_claim_of_ours_is_refused(client, app, account, claim):
    claims = claims_of(account.access_token)
    del claims[claim]

    refused(client, signed(app, claims))


def test_a_token_in_the_query_string_or_a_cookie_is_not_read(client, account):
    in_query = client.get(VALIDATION, query_string={"jwt": account.access_token})
    client.set_cookie("access_token_cookie", account.access_token)
    in_cookie = client.get(VALIDATION)

    for response in (in_query, in_cookie):
        assert response.status_code == 401
        assert response.json == {"msg": "Missing Authorization Header"}


@pytest.mark.parametrize("bend", ["padding", "trailing bits", "lower-case bearer", "two spaces"])
def test_a_revoked_token_stays_revoked_however_it_is_spelled(client, account, bend):
    assert client.delete(f"{API}/auth_token", headers=account.headers).status_code == 204
    header, payload, signature = account.access_token.split(".")
    if bend == "padding":
        sent = f"Bearer {header}.{payload}.{signature}" + "=" * (-len(signature) % 4 or 4)
    elif bend == "trailing bits":
        # The last character of a segment carries unused bits: a different spelling of the same bytes.
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
        last = alphabet.index(signature[-1])
        sent = f"Bearer {header}.{payload}.{signature[:-1]}{alphabet[last ^ 1]}"
    elif bend == "lower-case bearer":
        sent = f"bearer {account.access_token}"
    else:
        sent = f"Bearer  {account.access_token}"

    response = client.get(VALIDATION, headers={"Authorization": sent})

    assert response.status_code in (401, 422), response.json
    assert response.json["msg"]


def test_a_refresh_token_is_refused_as_an_access_token_and_back(client, account):
    assert refused(client, account.refresh_token, 422).json == {"msg": "Only non-refresh tokens are allowed"}
    response = client.post(f"{API}/auth_token/token_refresh", headers=account.headers)
    assert response.status_code == 422
    assert response.json == {"msg": "Only refresh tokens are allowed"}
