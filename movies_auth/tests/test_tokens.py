"""Tokens and sessions: login, validation, refresh rotation and reuse, logout, logout everywhere."""

from __future__ import annotations

import base64
import json
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import jwt as pyjwt
import pytest
from argon2 import extract_parameters
from cryptography.hazmat.primitives.asymmetric import rsa

from auth_support import API, PASSWORD, bearer, claims_of, login, refresh, register, row_count, validate
from movies_auth import create_app
from movies_auth.domain.passwords import Passwords
from movies_auth.extensions import db
from movies_auth.models import LoginAttempt, User
from movies_auth.stores import redis_keys

VALIDATION = f"{API}/auth_token/validation"
REFRESH = f"{API}/auth_token/token_refresh"
LOGOUT = f"{API}/auth_token"
LOGOUT_ALL = f"{API}/auth_token/all"


def sign(claims: dict, app, **changes) -> str:
    """A token as the service would sign it now, with the claims changed."""
    key = app.extensions["key_ring"].snapshot.signing_key
    return pyjwt.encode({**claims, **changes}, key.private_key, algorithm=key.algorithm, headers={"kid": key.kid})


def unsigned(claims: dict, alg: str = "none") -> str:
    def part(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{part({'alg': alg, 'typ': 'JWT'})}.{part(claims)}."


# Login


def test_login_answers_a_bearer_token_pair(client, settings):
    register(client, "ada@example.com")

    response = login(client, "ada@example.com")

    assert response.status_code == 200
    body = response.json
    assert set(body) == {"access_token", "refresh_token", "token_type", "expires_in"}
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == settings.jwt_access_token_expires.total_seconds() == 900


def test_access_token_carries_the_contract_claims(client, settings):
    user = register(client, "ada@example.com").json

    tokens = login(client, "ada@example.com").json
    access, refresh_claims = claims_of(tokens["access_token"]), claims_of(tokens["refresh_token"])

    assert {"sub", "jti", "exp", "iat", "type"} <= set(access)
    assert access["sub"] == user["uuid"]
    assert access["type"] == "access" and refresh_claims["type"] == "refresh"
    assert access["exp"] - access["iat"] == 15 * 60
    assert refresh_claims["exp"] - refresh_claims["iat"] == 30 * 24 * 3600
    assert access["sid"] == refresh_claims["sid"]


def test_token_lifetimes_come_from_settings(settings, account):
    custom = create_app(
        settings.model_copy(
            update={"jwt_access_token_expires": timedelta(minutes=2), "jwt_refresh_token_expires": timedelta(hours=3)}
        )
    )

    tokens = login(custom.test_client(), account.email).json

    assert tokens["expires_in"] == 120
    access, refresh_claims = claims_of(tokens["access_token"]), claims_of(tokens["refresh_token"])
    assert access["exp"] - access["iat"] == 120
    assert refresh_claims["exp"] - refresh_claims["iat"] == 3 * 3600


def test_login_is_case_insensitive_on_email(client):
    register(client, "ada@example.com")

    assert login(client, "ADA@Example.com").status_code == 200


def test_unknown_email_and_wrong_password_look_the_same(app, client, monkeypatch):
    register(client, "ada@example.com")
    verified: list[str] = []
    real = app.extensions["passwords"].hasher

    class SpyHasher:
        def __getattr__(self, name):
            return getattr(real, name)

        def verify(self, stored, password):
            verified.append(stored)
            return real.verify(stored, password)

    monkeypatch.setattr(app.extensions["passwords"], "hasher", SpyHasher())

    wrong_password = login(client, "ada@example.com", "wrong password!")
    unknown_email = login(client, "nobody@example.com", PASSWORD)

    assert wrong_password.status_code == unknown_email.status_code == 401
    assert wrong_password.json == unknown_email.json == {"msg": "Invalid email or password"}
    # Both paths pay for exactly one argon2id verification, so timing does not reveal accounts.
    assert len(verified) == 2
    assert all(stored.startswith("$argon2id$") for stored in verified)


def test_every_login_attempt_is_recorded(app, client):
    register(client, "ada@example.com")

    login(client, "ada@example.com")
    login(client, "ada@example.com", "wrong password!")
    login(client, "nobody@example.com")

    with app.app_context():
        attempts = db.session.query(LoginAttempt).all()
        outcomes = sorted((a.user_id is not None, a.email, a.success) for a in attempts)
    assert outcomes == [(False, "n***@example.com", False), (True, None, False), (True, None, True)]


def test_login_rehashes_a_password_hashed_with_older_parameters(app, client, settings, monkeypatch):
    register(client, "ada@example.com")
    stronger = settings.model_copy(update={"argon2_time_cost": settings.argon2_time_cost + 1})
    monkeypatch.setitem(app.extensions, "passwords", Passwords(stronger))

    assert login(client, "ada@example.com").status_code == 200

    with app.app_context():
        stored = db.session.query(User).one().password_hash
    assert extract_parameters(stored).time_cost == settings.argon2_time_cost + 1
    assert login(client, "ada@example.com").status_code == 200


@pytest.mark.parametrize(
    "body",
    [{}, {"email": "ada@example.com"}, {"password": PASSWORD}, {"email": 1, "password": PASSWORD}, ["x"]],
)
def test_malformed_login_is_refused_and_not_recorded(app, client, body):
    response = client.post(f"{API}/auth_token", json=body)

    assert response.status_code == 400
    assert response.json["msg"]
    assert row_count(app, LoginAttempt) == 0


# Validation


def test_a_fresh_access_token_is_valid(client, account):
    response = validate(client, account.access_token)

    assert response.status_code == 200
    assert response.json == {"msg": "Token is valid"}


def test_validation_without_a_token(client):
    response = client.get(VALIDATION)

    assert response.status_code == 401
    assert response.json == {"msg": "Missing Authorization Header"}


def test_an_expired_token_is_refused(client, account, app):
    expired = sign(claims_of(account.access_token), app, exp=int(time.time()) - 5)

    response = validate(client, expired)

    assert response.status_code == 401
    assert response.json == {"msg": "Token has expired"}


@pytest.mark.parametrize("forgery", ["tampered payload", "wrong key", "altered signature"])
def test_a_forged_signature_is_refused(client, account, forgery):
    header, payload, signature = account.access_token.split(".")
    claims = claims_of(account.access_token)
    if forgery == "tampered payload":
        claims["sub"] = "00000000-0000-0000-0000-000000000000"
        payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
        token = f"{header}.{payload}.{signature}"
    elif forgery == "wrong key":
        impostor = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        token = pyjwt.encode(claims, impostor, algorithm="RS256", headers=pyjwt.get_unverified_header(header + ".."))
    else:
        flipped = "A" if signature[10] != "A" else "B"
        token = f"{header}.{payload}.{signature[:10]}{flipped}{signature[11:]}"

    response = validate(client, token)

    assert response.status_code == 422
    assert response.json == {"msg": "Signature verification failed"}


@pytest.mark.parametrize("alg", ["none", "None", "NONE"])
def test_an_unsigned_token_is_refused(client, account, alg):
    response = validate(client, unsigned(claims_of(account.access_token), alg))

    assert response.status_code == 422
    assert response.json["msg"]


@pytest.mark.parametrize("garbage", ["not-a-jwt", "a.b", "a.b.c.d", "....", "x" * 5000])
def test_garbage_tokens_are_refused(client, garbage):
    response = validate(client, garbage)

    assert response.status_code == 422
    assert response.json["msg"]


def test_a_refresh_token_is_not_an_access_token(client, account):
    response = validate(client, account.refresh_token)

    assert response.status_code == 422
    assert response.json == {"msg": "Only non-refresh tokens are allowed"}


def test_an_access_token_cannot_refresh(client, account):
    response = refresh(client, account.access_token)

    assert response.status_code == 422
    assert response.json == {"msg": "Only refresh tokens are allowed"}


def test_validation_runs_no_database_query(client, account, count_queries):
    with count_queries() as queries:
        for _ in range(5):
            assert validate(client, account.access_token).status_code == 200

    assert queries.statements == []


# Refresh


def test_refresh_answers_a_new_working_pair(client, account):
    response = refresh(client, account.refresh_token)

    assert response.status_code == 200
    pair = response.json
    assert pair["token_type"] == "Bearer"
    assert validate(client, pair["access_token"]).status_code == 200
    assert refresh(client, pair["refresh_token"]).status_code == 200


def test_an_older_refresh_token_kills_the_whole_session(client, account):
    rotated = refresh(client, account.refresh_token).json
    newest = refresh(client, rotated["refresh_token"]).json

    replay = refresh(client, account.refresh_token)  # two generations back: no grace

    assert replay.status_code == 401
    assert "revoked" in replay.json["msg"]
    for token in (account.access_token, rotated["access_token"], newest["access_token"]):
        assert validate(client, token).json == {"msg": "Token has been revoked"}
    assert refresh(client, newest["refresh_token"]).status_code == 401


def test_refresh_reuse_leaves_other_sessions_alone(client, account):
    other = login(client, account.email).json
    rotated = refresh(client, account.refresh_token).json
    refresh(client, rotated["refresh_token"])

    assert refresh(client, account.refresh_token).status_code == 401

    assert validate(client, other["access_token"]).status_code == 200


# Logout


@pytest.mark.parametrize("logout_with", ["access_token", "refresh_token"])
def test_logout_kills_both_tokens_of_the_session(client, account, logout_with):
    other_session = login(client, account.email).json

    response = client.delete(LOGOUT, headers=bearer(getattr(account, logout_with)))

    assert response.status_code == 204
    assert response.data == b""
    assert validate(client, account.access_token).json == {"msg": "Token has been revoked"}
    assert refresh(client, account.refresh_token).status_code == 401
    assert validate(client, other_session["access_token"]).status_code == 200


def test_logout_everywhere_kills_every_session(client, account):
    sessions = [login(client, account.email).json for _ in range(3)]
    rotated = refresh(client, sessions[0]["refresh_token"]).json

    response = client.delete(LOGOUT_ALL, headers=account.headers)

    assert response.status_code == 204
    for tokens in [*sessions, rotated, {"access_token": account.access_token, "refresh_token": account.refresh_token}]:
        assert validate(client, tokens["access_token"]).status_code == 401
        assert refresh(client, tokens["refresh_token"]).status_code == 401


def test_logout_everywhere_kills_tokens_of_the_same_second_and_spares_later_logins(client, account):
    issued_at = claims_of(account.access_token)["iat"]

    client.delete(LOGOUT_ALL, headers=account.headers)
    fresh = login(client, account.email).json

    assert claims_of(fresh["access_token"])["iat"] - issued_at <= 1
    assert validate(client, account.access_token).status_code == 401
    assert validate(client, fresh["access_token"]).status_code == 200
    assert refresh(client, fresh["refresh_token"]).status_code == 200


def test_logout_everywhere_spares_other_users(client, account, make_account):
    other = make_account("grace@example.com")

    client.delete(LOGOUT_ALL, headers=account.headers)

    assert validate(client, other.access_token).status_code == 200


# Revocation state in Redis


def test_session_records_outlive_the_tokens_they_vouch_for(app, client, account, settings):
    claims = claims_of(account.refresh_token)
    rotated = refresh(client, account.refresh_token).json
    another_session = login(client, account.email).json
    assert client.delete(LOGOUT_ALL, headers=bearer(another_session["access_token"])).status_code == 204

    redis = app.extensions["redis"]
    refresh_life = settings.jwt_refresh_token_expires.total_seconds()
    for key in (redis_keys.session(claims["sub"], claims["sid"]), redis_keys.user_token_epoch(claims["sub"])):
        assert refresh_life - 2 <= redis.ttl(key) <= refresh_life + 2, key
    assert validate(client, rotated["access_token"]).status_code == 401


def test_logout_everywhere_costs_constant_redis_work(app, client, account):
    for _ in range(20):
        login(client, account.email)
    redis = app.extensions["redis"]
    keys_before = redis.dbsize()

    client.delete(LOGOUT_ALL, headers=account.headers)

    # One key for the user, however many sessions they had.
    assert redis.dbsize() - keys_before <= 1


@pytest.mark.parametrize(
    "raw",
    [
        '{"email": "ada\\u0000@example.com", "password": "correct horse battery"}',
        '{"email": "ada@example.com", "password": "bad \\ud800 surrogate"}',
        '{"email": "\\udfff@example.com", "password": "correct horse battery"}',
    ],
)
def test_login_with_unstorable_characters_is_refused_and_not_recorded(app, client, account, raw):
    response = client.post(f"{API}/auth_token", data=raw, content_type="application/json")

    assert response.status_code == 400
    assert response.json["msg"] == "Invalid input"
    assert row_count(app, LoginAttempt) == 1  # the fixture's own login, nothing more


def test_control_characters_in_the_user_agent_are_not_stored(app, client, account):
    login(client, account.email, headers={"User-Agent": "agent\x7fwith\x1bescape"})

    with app.app_context():
        agents = {attempt.user_agent for attempt in db.session.query(LoginAttempt)}
    assert "agentwithescape" in agents


def test_refreshes_racing_logout_everywhere_leave_no_live_token(app, account):
    sessions = [login(app.test_client(), account.email).json for _ in range(3)]
    minted = [token for session in sessions for token in (session["access_token"], session["refresh_token"])]

    def refresh_chain(session: dict) -> int:
        """Refresh on and on until logout everywhere cuts the chain; the status that cut it."""
        client, token = app.test_client(), session["refresh_token"]
        for _ in range(2000):
            pair = refresh(client, token)
            if pair.status_code != 200:
                return pair.status_code
            token = pair.json["refresh_token"]
            minted.extend([pair.json["access_token"], token])
        return 200

    with ThreadPoolExecutor(max_workers=4) as pool:
        chains = [pool.submit(refresh_chain, session) for session in sessions]
        time.sleep(0.02)
        assert app.test_client().delete(LOGOUT_ALL, headers=account.headers).status_code == 204
        assert [chain.result() for chain in chains] == [401, 401, 401]  # each was still refreshing

    client = app.test_client()
    assert minted
    for token in minted:
        claims = claims_of(token)
        if claims["type"] == "access":
            assert validate(client, token).status_code == 401
        else:
            assert refresh(client, token).status_code == 401
