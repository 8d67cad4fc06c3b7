"""Every call of the sync and the async client against the real movies_auth: permission checks, local
verification, service tokens, the answer cache, request ids, and what never costs a call."""

from __future__ import annotations

import base64
import re
import time
import uuid

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from client_support import DRIVERS, SERVICE_TOKEN_LIFETIME, RecordingObserver
from movies_auth_client import AuthUnavailable, Call, InvalidToken, Outcome, ServiceTokenUnavailable


@pytest.fixture
def client(make_client, auth):
    observer = RecordingObserver()
    made = make_client(**auth.account, observer=observer)
    made.observer = observer
    return made


def test_a_subscriber_holds_pro_read_and_a_plain_user_does_not(client, auth):
    _, subscriber = auth.user(role="subscriber")
    _, viewer = auth.user()

    assert client.has_permission(subscriber, "pro_read") is True
    assert client.has_permission(viewer, "pro_read") is False
    assert client.has_permission(viewer, {"any": ["pro_read", {"all": []}]}) is True
    assert client.has_permission(subscriber, {"all": ["pro_read", "permissions_admin"]}) is False
    assert client.observer.count(Call.PERMISSION_CHECK, Outcome.OK) == 4


def test_the_superuser_satisfies_any_condition(client, auth):
    assert client.has_permission(auth.root_token, {"all": ["pro_read", "anything_at_all"]}) is True


def test_a_token_is_verified_locally_against_the_published_keys(client, auth):
    user_id, token = auth.user()

    claims = client.verify_token(token)

    assert claims["sub"] == user_id and claims["type"] == "access"
    assert client.observer.count(Call.PERMISSION_CHECK) == 0
    assert client.observer.verifications == [Outcome.OK]


def test_a_revoked_token_is_refused_with_movies_auths_message(make_client, auth):
    client = make_client(**auth.account, answer_ttl=1)
    _, token = auth.user(role="subscriber")
    assert client.has_permission(token, "pro_read") is True

    assert auth.call("DELETE", "/auth_token", token=token).status_code == 204
    assert client.has_permission(token, "pro_read") is True  # the answer cache's second
    client.wait(1.1)

    with pytest.raises(InvalidToken, match="Token has been revoked"):
        client.has_permission(token, "pro_read")


def test_answers_are_reused_for_a_few_seconds(client, auth):
    _, token = auth.user(role="subscriber")

    for _ in range(5):
        assert client.has_permission(token, "pro_read") is True

    assert client.observer.count(Call.PERMISSION_CHECK, Outcome.OK) == 1
    assert client.observer.count(Call.PERMISSION_CHECK, Outcome.CACHED) == 4


def test_a_grant_is_seen_at_the_next_check_without_a_cache(make_client, auth):
    client = make_client(**auth.account, answer_ttl=0)
    user_id, token = auth.user()
    assert client.has_permission(token, "pro_read") is False

    granted = auth.call("POST", f"/users/{user_id}/roles", {"name": "subscriber"}, token=auth.root_token)

    assert granted.status_code == 201
    assert client.has_permission(token, "pro_read") is True


def forged(kid: str) -> str:
    impostor = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    claims = {"sub": str(uuid.uuid4()), "type": "access", "exp": int(time.time()) + 600, "jti": uuid.uuid4().hex}
    return jwt.encode(claims, impostor, algorithm="RS256", headers={"kid": kid})


def segment(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@pytest.mark.parametrize(
    ("make_token", "message"),
    [
        (lambda auth, kid: forged(kid), "Signature verification failed"),
        (lambda auth, kid: forged("a-key-nobody-published"), "Signature verification failed"),
        (lambda auth, kid: "not.a.token", "Invalid token"),
        (lambda auth, kid: "A" * 2000 + "." + "B" * 2000 + "." + "C" * 97, "Invalid token"),
        (lambda auth, kid: "héllo.wörld.sig", "Invalid token"),
        (lambda auth, kid: f"{segment(b'{}')}.{segment(b'[' * 2500)}.c2ln", "Signature verification failed"),
        (lambda auth, kid: f"{segment(b'[' * 2500)}.{segment(b'{}')}.c2ln", "Invalid token"),
    ],
    ids=["forged signature", "unknown kid", "garbled", "over 4 KiB", "non-ASCII", "nested payload", "nested header"],
)
def test_forged_garbled_and_oversized_tokens_never_cost_a_call(client, auth, make_token, message):
    _, real = auth.user()
    kid = jwt.get_unverified_header(real)["kid"]

    with pytest.raises(InvalidToken) as refused:
        client.has_permission(make_token(auth, kid), "pro_read")

    assert refused.value.detail == message
    assert client.observer.count(Call.PERMISSION_CHECK) == 0


def test_an_expired_token_is_refused_locally(client, auth):
    token = auth.sign({"sub": str(uuid.uuid4()), "type": "access", "exp": int(time.time()) - 60, "jti": "x"})

    with pytest.raises(InvalidToken, match="Token has expired"):
        client.has_permission(token, "pro_read")
    assert client.observer.count(Call.PERMISSION_CHECK) == 0


def test_the_request_id_reaches_movies_auths_log(client, auth):
    _, token = auth.user()
    request_id = f"trace-{uuid.uuid4().hex}"

    client.has_permission(token, "pro_read", request_id=request_id)

    lines = [line for line in auth.log.read_text().splitlines() if request_id in line]
    assert any(re.search(r"GET /auth/api/v1/users/\S+/combined_permissions/validation 200", line) for line in lines)


def test_a_service_token_is_obtained_at_start_and_renewed_before_it_expires(client, auth):
    _, token = auth.user(role="subscriber")
    first = client.service_token()
    seen = {first}

    deadline = time.monotonic() + 2.5 * SERVICE_TOKEN_LIFETIME
    while time.monotonic() < deadline:
        seen.add(client.service_token())
        client.has_permission(token, {"any": ["pro_read", f"never-cached-{time.monotonic_ns()}"]})
        client.wait(0.25)

    assert len(seen) >= 3  # renewed at three quarters of each 4 s life, never let lapse
    assert client.observer.count(Call.PERMISSION_CHECK, Outcome.UNUSABLE) == 0
    assert client.observer.count(Call.SERVICE_TOKEN, Outcome.OK) == len(seen)
    identity = auth.call("GET", "/service_token", token=client.service_token())
    assert identity.status_code == 200 and identity.json()["service_name"].startswith("client-test-")


def test_a_refused_secret_costs_no_wait_and_no_warning_storm(make_client, auth, caplog):
    observer = RecordingObserver()
    started = time.monotonic()
    client = make_client(service_name="no-such-service", service_secret="x" * 43, observer=observer)
    _, token = auth.user()

    for _ in range(20):
        with pytest.raises(AuthUnavailable):
            client.has_permission(token, "pro_read")
    client.wait(1.0)

    assert time.monotonic() - started < 3
    with pytest.raises(ServiceTokenUnavailable):
        client.service_token()
    assert observer.count(Call.SERVICE_TOKEN, Outcome.UNUSABLE) >= 2  # retried in the background
    warnings = [record for record in caplog.records if record.levelname == "WARNING"]
    assert len(warnings) == 1 and "No service token" in warnings[0].getMessage()


def test_a_rotated_secret_is_answered_as_unavailable_never_as_a_refused_user(make_client, auth):
    account = auth.service()
    client = make_client(**account, answer_ttl=0)
    _, token = auth.user(role="subscriber")
    assert client.has_permission(token, "pro_read") is True

    auth.flask("services", "rotate-secret", account["service_name"])

    with pytest.raises(AuthUnavailable):
        client.has_permission(token, "pro_read")


def test_without_a_service_account_checks_are_unavailable(make_client, auth):
    client = make_client()
    _, token = auth.user()

    with pytest.raises(AuthUnavailable, match="no service account"):
        client.has_permission(token, "pro_read")
    assert client.verify_token(token)["type"] == "access"  # local verification needs no account


def test_a_condition_movies_auth_refuses_is_no_answer(client, auth):
    _, token = auth.user()

    with pytest.raises(AuthUnavailable, match="HTTP 400"):
        client.has_permission(token, {"any": "not-a-list"})
    assert client.breaker.state == "closed"


def test_the_key_set_is_not_needed_for_checks(make_client, auth):
    client = make_client(**auth.account, verify_locally=False)
    _, token = auth.user(role="subscriber")

    assert client.has_permission(token, "pro_read") is True
    with pytest.raises(AuthUnavailable):
        client.verify_token(token)
    with pytest.raises(InvalidToken):
        client.has_permission(token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB"), "pro_read")


@pytest.mark.parametrize("kind", sorted(DRIVERS))
def test_a_client_never_started_gets_its_token_on_first_use(auth, kind):
    """As in a gunicorn worker forked after the client was made: the first check starts the renewal."""
    client = DRIVERS[kind](auth.url, **auth.account)
    try:
        _, token = auth.user(role="subscriber")
        with pytest.raises(AuthUnavailable):
            client.has_permission(token, "pro_read")  # no token yet: answered at once, not waited for
        client.wait(2)
        assert client.has_permission(token, "pro_read") is True
    finally:
        client.close()
