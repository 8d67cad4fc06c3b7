"""Asymmetric signing: the JWKS, `kid` selection, tokens across a rotation, retired keys, other algorithms."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import jwt as pyjwt
import pytest
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from auth_support import API, bearer, login, register
from movies_auth import create_app
from movies_auth.domain.key_ring import RECHECK_SECONDS

JWKS = "/auth/.well-known/jwks.json"
VALIDATION = f"{API}/auth_token/validation"


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def keys_command(runner, *args: str, ok: bool = True):
    result = runner.invoke(args=["keys", *args])
    if ok:
        assert result.exit_code == 0, result.output
    return result


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def kid_of(token: str) -> str:
    return pyjwt.get_unverified_header(token)["kid"]


def verify_with_jwks(client, token: str) -> dict:
    """Verify a token as another service would: with the published public key its `kid` names."""
    jwks = client.get(JWKS).json
    jwk = next(key for key in jwks["keys"] if key["kid"] == kid_of(token))
    key = pyjwt.PyJWK(jwk)
    return pyjwt.decode(token, key.key, algorithms=[jwk["alg"]])


@pytest.fixture
def fresh_ring(app):
    """Leave the session's key ring as it was, whatever a test rotated in or retired."""
    ring = app.extensions["key_ring"]
    before = {path: path.read_bytes() for path in ring.folder.glob("*.pem")}
    yield ring
    for path in ring.folder.glob("*.pem"):
        if path not in before:
            path.unlink()
    for path, pem in before.items():
        if not path.exists():
            path.write_bytes(pem)
            path.chmod(0o600)
    ring.refresh()


def test_the_jwks_publishes_the_signing_key_and_verifies_tokens(client, account):
    response = client.get(JWKS)

    assert response.status_code == 200
    (key,) = response.json["keys"]
    assert key["kty"] == "RSA" and key["alg"] == "RS256" and key["use"] == "sig"
    assert {"n", "e", "kid"} <= set(key) and "d" not in key and "p" not in key
    assert kid_of(account.access_token) == key["kid"]
    assert verify_with_jwks(client, account.access_token)["sub"] == account.uuid


def test_the_jwks_is_cacheable_and_revalidates(client):
    first = client.get(JWKS)

    assert first.headers["Cache-Control"] in ("public, max-age=300", "max-age=300, public")
    assert first.headers["ETag"]
    again = client.get(JWKS, headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""


def test_tokens_signed_before_a_rotation_stay_valid(client, runner, account, fresh_ring):
    old_kid = kid_of(account.access_token)

    keys_command(runner, "rotate")
    new_tokens = login(client, account.email).json

    new_kid = kid_of(new_tokens["access_token"])
    assert new_kid != old_kid
    assert [key["kid"] for key in client.get(JWKS).json["keys"]] == [old_kid, new_kid]
    assert client.get(VALIDATION, headers=account.headers).status_code == 200
    assert client.post(f"{API}/auth_token/token_refresh", headers=bearer(account.refresh_token)).status_code == 200
    assert client.get(VALIDATION, headers=bearer(new_tokens["access_token"])).status_code == 200
    assert verify_with_jwks(client, new_tokens["access_token"])["sub"] == account.uuid


def test_every_worker_signs_with_the_new_key_and_accepts_it(client, runner, settings, account, fresh_ring):
    other_worker = create_app(settings).test_client()
    assert other_worker.get(VALIDATION, headers=account.headers).status_code == 200

    keys_command(runner, "rotate")
    minted_here = login(client, account.email).json["access_token"]

    assert other_worker.get(VALIDATION, headers=bearer(minted_here)).status_code == 200
    assert kid_of(login(other_worker, account.email).json["access_token"]) == kid_of(minted_here)


def test_a_new_worker_flooded_at_once_verifies_and_signs_every_request(settings, account):
    worker = create_app(settings)  # a fresh worker: its key ring has never been looked at
    start = threading.Barrier(24)

    def validate_then_log_in(_: int) -> tuple[int, int]:
        client = worker.test_client()
        start.wait()
        return client.get(VALIDATION, headers=account.headers).status_code, login(client, account.email).status_code

    with ThreadPoolExecutor(max_workers=24) as pool:
        answers = list(pool.map(validate_then_log_in, range(24)))

    assert answers == [(200, 200)] * 24


def test_a_retired_key_verifies_nothing_on_any_worker(client, runner, settings, account, fresh_ring):
    other_worker = create_app(settings).test_client()
    assert other_worker.get(VALIDATION, headers=account.headers).status_code == 200  # now cached as verified
    old_kid = kid_of(account.access_token)
    keys_command(runner, "rotate")

    retired = keys_command(runner, "retire", old_kid, "--force", "--yes")

    assert f"Key {old_kid} retired." in retired.output
    refused = client.get(VALIDATION, headers=account.headers)
    assert refused.status_code == 422
    assert refused.json == {"msg": "Signature verification failed"}
    # Other workers look at the key folder again at most RECHECK_SECONDS after their last look.
    deadline = time.monotonic() + RECHECK_SECONDS + 0.5
    while other_worker.get(VALIDATION, headers=account.headers).status_code == 200:
        assert time.monotonic() < deadline, "another worker still accepts a retired key's token"
        time.sleep(0.05)
    assert other_worker.get(VALIDATION, headers=account.headers).json == {"msg": "Signature verification failed"}
    assert old_kid not in json.dumps(client.get(JWKS).json)
    assert client.get(VALIDATION, headers=bearer(login(client, account.email).json["access_token"])).status_code == 200


def test_a_key_is_not_retired_while_its_tokens_may_live(client, runner, account, fresh_ring):
    old_kid = kid_of(account.access_token)
    signing = keys_command(runner, "retire", old_kid, ok=False)
    assert signing.exit_code == 1 and "signs new tokens; run `flask keys rotate` first" in signing.output

    keys_command(runner, "rotate")
    early = keys_command(runner, "retire", old_kid, ok=False)
    unknown = keys_command(runner, "retire", "no-such-key", ok=False)

    assert early.exit_code == 1 and "may be valid until" in early.output and "--force" in early.output
    assert unknown.exit_code == 1 and "No key 'no-such-key' in the key ring" in unknown.output
    assert client.get(VALIDATION, headers=account.headers).status_code == 200


def test_keys_are_listed_with_their_status(runner, fresh_ring):
    keys_command(runner, "rotate")

    listing = json.loads(keys_command(runner, "list", "--json").stdout)
    table = keys_command(runner, "list").stdout

    assert [key["status"] for key in listing] == ["verifying", "signing"]
    assert listing[0]["retirable_at"] > listing[0]["superseded_at"] and listing[1]["retirable_at"] is None
    assert table.splitlines()[0].split()[:2] == ["KID", "ALGORITHM"]
    assert "PRIVATE KEY" not in table + json.dumps(listing)


def test_key_files_are_readable_by_the_service_only(fresh_ring):
    assert all(path.stat().st_mode & 0o077 == 0 for path in fresh_ring.folder.glob("*.pem"))


@pytest.mark.parametrize(
    ("kid", "message"),
    [
        ("no-such-key", "Signature verification failed"),
        ("../jwt-secret", "Signature verification failed"),
        (None, "Key ID header parameter must be a string"),
        (7, "Key ID header parameter must be a string"),
    ],
)
def test_a_token_naming_an_unknown_key_is_refused(client, account, kid, message):
    header, payload, signature = account.access_token.split(".")
    forged_header = json.loads(base64.urlsafe_b64decode(header + "=="))
    forged_header["kid"] = kid
    response = client.get(
        VALIDATION, headers=bearer(f"{b64(json.dumps(forged_header).encode())}.{payload}.{signature}")
    )

    assert response.status_code == 422
    assert response.json == {"msg": message}


def test_a_token_signed_with_hs256_and_the_public_key_is_refused(client, account):
    public_key = pyjwt.PyJWK(client.get(JWKS).json["keys"][0]).key
    public_pem = public_key.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    claims = pyjwt.decode(account.access_token, options={"verify_signature": False})
    header = {"alg": "HS256", "typ": "JWT", "kid": kid_of(account.access_token)}
    message = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    signature = b64(hmac.new(public_pem, message.encode(), hashlib.sha256).digest())

    response = client.get(VALIDATION, headers=bearer(f"{message}.{signature}"))

    assert response.status_code == 422
    assert response.json == {"msg": "The specified alg value is not allowed"}


@pytest.mark.parametrize(("algorithm", "kty"), [("ES256", "EC"), ("HS256", None)])
def test_other_algorithms_by_setting(settings, tmp_path, algorithm, kty):
    app = create_app(settings.model_copy(update={"jwt_algorithm": algorithm, "instance_path": tmp_path}))
    client = app.test_client()
    register(client, "ada@example.com")
    token = login(client, "ada@example.com").json["access_token"]

    assert pyjwt.get_unverified_header(token)["alg"] == algorithm
    assert client.get(VALIDATION, headers=bearer(token)).status_code == 200
    jwks = client.get(JWKS).json["keys"]
    if kty is None:
        assert jwks == [] and "kid" not in pyjwt.get_unverified_header(token)
        refused = app.test_cli_runner().invoke(args=["keys", "rotate"])
        assert refused.exit_code == 1 and "JWT_ALGORITHM is HS256" in refused.output
    else:
        assert [key["kty"] for key in jwks] == [kty] and jwks[0]["crv"] == "P-256"
        assert verify_with_jwks(client, token)["type"] == "access"


def test_an_emptied_key_ring_is_a_clear_503_not_a_crash(client, account, fresh_ring):
    for path in fresh_ring.folder.glob("*.pem"):
        path.unlink()
    fresh_ring.refresh()

    response = login(client, account.email)

    assert response.status_code == 503
    assert response.json == {"msg": "Signing keys are unavailable, try again shortly"}
    assert client.get(VALIDATION, headers=account.headers).status_code == 422
