"""`flask keys rotate` while clients run: a token signed by the new key is verified at once (one JWKS fetch),
tokens of the older key stay good, and made-up key ids cost at most one fetch per gap, never a call."""

from __future__ import annotations

import time
import uuid

import jwt

from client_support import RecordingObserver
from movies_auth_client import Call, InvalidToken, Outcome
from movies_auth_client.keys import MIN_REFETCH_GAP


def test_a_rotated_key_is_learnt_at_its_first_token(make_client, auth):
    observer = RecordingObserver()
    client = make_client(**auth.account, observer=observer)
    _, old_token = auth.user(role="subscriber")
    old_kid = jwt.get_unverified_header(old_token)["kid"]
    assert client.verify_token(old_token)
    fetches = observer.count(Call.JWKS, Outcome.OK)

    auth.flask("keys", "rotate")
    _, new_token = auth.user(role="subscriber")

    assert jwt.get_unverified_header(new_token)["kid"] != old_kid
    assert client.verify_token(new_token)["type"] == "access"
    assert client.has_permission(new_token, "pro_read") is True
    assert client.verify_token(old_token)  # the older key still verifies what it signed
    assert observer.count(Call.JWKS, Outcome.OK) == fetches + 1


def test_made_up_key_ids_cost_at_most_one_fetch_per_gap_and_no_call(make_client, auth):
    observer = RecordingObserver()
    client = make_client(**auth.account, observer=observer)
    fetches = observer.count(Call.JWKS)
    started = time.monotonic()

    for number in range(50):
        token = jwt.encode(
            {"sub": str(uuid.uuid4()), "exp": int(time.time()) + 60}, "k" * 32, headers={"kid": f"made-up-{number}"}
        )
        try:
            client.has_permission(token, "pro_read")
        except InvalidToken as refused:
            assert refused.detail == "Signature verification failed"
        else:
            raise AssertionError("a made-up key id was let through")

    elapsed = time.monotonic() - started
    assert observer.count(Call.JWKS) - fetches <= 1 + int(elapsed // MIN_REFETCH_GAP)
    assert observer.count(Call.PERMISSION_CHECK) == 0
