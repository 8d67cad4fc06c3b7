"""The movies API's one client to movies_auth: its own service token, renewed before expiry, on every call;
the caller's token as the subject; and tokens checked against movies_auth's public keys before any call.
"""

from __future__ import annotations

import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from movies_auth_client import keys as public_keys
from pydantic import ValidationError

from movies_async_api.settings import Settings
from movies_support import FILMS, SERVICE_TOKEN_LIFETIME, bearer, every_page

ALL_FILMS = 999
SUBJECT = "0b7c1d2e-3f40-4a5b-8c6d-7e8f90a1b2c3"


class SigningKey:
    """A key pair the stub auth service publishes, so tokens can be made that the movies API checks itself."""

    def __init__(self, kid: str) -> None:
        self.kid = kid
        self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def jwk(self) -> dict:
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.private.public_key()))
        return {**public, "kid": self.kid, "alg": "RS256", "use": "sig"}

    def sign(self, lifetime: float = 900, **header: str) -> str:
        claims = {"sub": SUBJECT, "type": "access", "exp": int(time.time() + lifetime), "jti": str(time.time_ns())}
        return jwt.encode(claims, self.private, algorithm="RS256", headers={"kid": self.kid, **header})


@pytest.fixture
def published_key(stub_auth) -> SigningKey:
    key = SigningKey("key-1")
    stub_auth.jwks = {"keys": [key.jwk()]}
    return key


# Against the real movies_auth


def test_the_service_token_is_renewed_before_it_expires(make_client, auth_service):
    """The session's movies_auth gives service tokens 6 s of life: the API must renew them on its own."""
    client = make_client(auth_service.url, auth_service_secret=auth_service.service_secret)
    subscriber = bearer(auth_service.new_user(role="subscriber")[1]["access_token"])
    issued_before = auth_service.log.read_text().count("POST /auth/api/v1/service_token 200")

    deadline = time.monotonic() + 2 * SERVICE_TOKEN_LIFETIME
    while time.monotonic() < deadline:
        response = client.get(FILMS, params={"page_size": 100}, headers=subscriber)
        assert response.status_code == 200 and "X-Auth-Degraded" not in response.headers
        assert any(film["imdb_rating"] > 7.0 for film in response.json())
        time.sleep(0.5)

    issued = auth_service.log.read_text().count("POST /auth/api/v1/service_token 200") - issued_before
    assert issued >= 2


def test_without_its_secret_the_api_treats_everyone_as_anonymous(make_client, auth_service):
    client = make_client(auth_service.url, auth_service_secret=None)
    subscriber = bearer(auth_service.new_user(role="subscriber")[1]["access_token"])

    response = client.get(FILMS, headers=subscriber)

    assert response.status_code == 200
    assert response.headers["X-Auth-Degraded"] == "1"


def test_a_rotated_secret_is_a_degraded_answer_never_a_401(make_client, auth_service):
    created = auth_service.flask("services", "create", "rotation-check")
    assert created.returncode == 0, created.stderr
    client = make_client(
        auth_service.url, auth_service_name="rotation-check", auth_service_secret=created.stdout.strip()
    )
    subscriber = bearer(auth_service.new_user(role="subscriber")[1]["access_token"])
    assert len(every_page(client, FILMS, headers=subscriber)) == ALL_FILMS

    assert auth_service.flask("services", "rotate-secret", "rotation-check").returncode == 0

    response = client.get(FILMS, headers=subscriber)
    assert response.status_code == 200
    assert response.headers["X-Auth-Degraded"] == "1"


# Against a stand-in, to see exactly what is sent


def test_every_call_carries_the_service_token_the_subject_and_the_request_id(make_client, stub_auth):
    client = make_client(stub_auth.url, auth_verify_tokens_locally=False)
    user_token = jwt.encode({"sub": SUBJECT, "exp": int(time.time()) + 900}, "k" * 32, algorithm="HS256")

    client.get(FILMS, headers={**bearer(user_token), "X-Request-Id": "trace-1"})

    assert stub_auth.bearers == ["service-token-1"]
    assert stub_auth.subjects == [user_token]
    assert stub_auth.request_ids == ["trace-1"]
    assert stub_auth.service_tokens_issued == 1  # fetched at start-up, not per request


def test_a_refused_service_token_is_replaced_once_and_the_call_repeated(make_client, stub_auth, published_key):
    client = make_client(stub_auth.url)
    stub_auth.refused_service_tokens = {"service-token-1"}

    response = client.get(FILMS, headers=bearer(published_key.sign()))

    assert response.status_code == 200 and "X-Auth-Degraded" not in response.headers
    assert stub_auth.bearers == ["service-token-1", "service-token-2"]


def test_the_stand_in_service_token_is_renewed_at_three_quarters_of_its_life(make_client, stub_auth):
    stub_auth.service_token_lifetime = 2
    make_client(stub_auth.url)
    assert stub_auth.service_tokens_issued == 1

    time.sleep(1.2)
    assert stub_auth.service_tokens_issued == 1
    time.sleep(0.6)  # 1.8 s: past 1.5 s, before the 2 s expiry
    assert stub_auth.service_tokens_issued == 2


@pytest.mark.parametrize(
    ("forgery", "detail"),
    [
        ("expired", "Token has expired"),
        ("other key, same kid", "Signature verification failed"),
        ("no kid", "Signature verification failed"),
        ("garbage", "Invalid token"),
    ],
)
def test_forged_garbled_and_expired_tokens_never_cost_a_call(make_client, stub_auth, published_key, forgery, detail):
    client = make_client(stub_auth.url)
    impostor = SigningKey(published_key.kid)
    token = {
        "expired": lambda: published_key.sign(lifetime=-60),
        "other key, same kid": lambda: impostor.sign(),
        "no kid": lambda: jwt.encode({"sub": SUBJECT, "exp": int(time.time()) + 60}, impostor.private, "RS256"),
        "garbage": lambda: "eyJ.not-a.token",
    }[forgery]()

    response = client.get(FILMS, headers=bearer(token))

    assert response.status_code == 401
    assert response.json() == {"detail": detail}
    assert stub_auth.calls == 0


@pytest.fixture
def eager_key_refetch(monkeypatch):
    """Fetch the key set again at the first unknown key, however recent the last fetch."""
    monkeypatch.setattr(public_keys, "MIN_REFETCH_GAP", 0)


def test_a_key_the_auth_service_does_not_publish_never_costs_a_call(
    make_client, stub_auth, published_key, eager_key_refetch
):
    client = make_client(stub_auth.url)

    response = client.get(FILMS, headers=bearer(SigningKey("key-2").sign()))

    assert response.status_code == 401
    assert response.json() == {"detail": "Signature verification failed"}
    assert stub_auth.calls == 0


def test_an_unknown_key_soon_after_a_fetch_is_refused_without_a_call(make_client, stub_auth, published_key):
    """Once the key set is known, a made-up `kid` is refused here: it never reaches movies_auth, so a flood of
    them cannot open the breaker and push every subscriber to anonymous (issue 19, item 3a)."""
    client = make_client(stub_auth.url)
    fetches = stub_auth.jwks_fetches

    for number in range(20):
        response = client.get(FILMS, headers=bearer(SigningKey(f"made-up-{number}").sign()))
        assert response.status_code == 401
        assert response.json() == {"detail": "Signature verification failed"}

    assert stub_auth.calls == 0
    assert stub_auth.jwks_fetches <= fetches + 1  # one look for a newly published key, then none for a while


def test_a_token_signed_by_a_newly_published_key_is_accepted(make_client, stub_auth, published_key, eager_key_refetch):
    client = make_client(stub_auth.url)
    rotated = SigningKey("key-2")
    stub_auth.jwks = {"keys": [published_key.jwk(), rotated.jwk()]}

    response = client.get(FILMS, headers=bearer(rotated.sign()))

    assert response.status_code == 200 and "X-Auth-Degraded" not in response.headers
    assert stub_auth.calls == 1


def test_production_needs_the_service_secret():
    with pytest.raises(ValidationError, match="AUTH_SERVICE_SECRET must be set in production"):
        Settings(_env_file=None, app_env="production", database_url="postgresql://m@db/m", redis_url="redis://r")
