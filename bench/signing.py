"""What each token signature algorithm costs: signing (once per login or refresh) and verifying (by every
service, for every token it has not seen yet), measured in-process with PyJWT as movies_auth uses it.

    python bench/signing.py

`make bench` prints the same table; movies_auth's default algorithm is the one that verifies cheapest.
"""

from __future__ import annotations

import statistics
import time
import uuid
from collections.abc import Callable

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa

ALGORITHMS = ("HS256", "RS256", "ES256")


def _keys(algorithm: str) -> tuple[object, object]:
    if algorithm == "HS256":
        secret = uuid.uuid4().hex * 2
        return secret, secret
    private = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        if algorithm == "RS256"
        else (ec.generate_private_key(ec.SECP256R1()))
    )
    return private, private.public_key()


def _microseconds(action: Callable[[], object], rounds: int) -> float:
    """The median of five timings of `rounds` calls, per call."""
    timings = []
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(rounds):
            action()
        timings.append((time.perf_counter() - started) / rounds * 1e6)
    return statistics.median(timings)


def measure() -> dict[str, dict[str, float]]:
    """Per algorithm: microseconds to sign and to verify a movies_auth access token, and the token's length."""
    now = int(time.time())
    claims = {"sub": str(uuid.uuid4()), "jti": str(uuid.uuid4()), "iat": now, "exp": now + 900, "type": "access",
              "fresh": False, "sid": "x" * 22, "ep": 0}  # fmt: skip
    return {algorithm: _cost(algorithm, claims) for algorithm in ALGORITHMS}


def _cost(algorithm: str, claims: dict) -> dict[str, float]:
    private, public = _keys(algorithm)
    headers = {"kid": "20261121T000000000000Z-00000000"} if algorithm != "HS256" else None
    token = jwt.encode(claims, private, algorithm=algorithm, headers=headers)
    return {
        "sign_us": _microseconds(lambda: jwt.encode(claims, private, algorithm=algorithm, headers=headers), 200),
        "verify_us": _microseconds(lambda: jwt.decode(token, public, algorithms=[algorithm]), 1000),
        "token_chars": len(token),
    }


def print_table(results: dict[str, dict[str, float]]) -> None:
    """The costs, with each verification as a ratio to HS256's in the same run."""
    baseline = results["HS256"]["verify_us"]
    print(f"\n{'algorithm':<9}  {'sign us':>8}  {'verify us':>9}  {'verify x HS256':>14}  {'token chars':>11}")
    for algorithm, cost in results.items():
        print(f"{algorithm:<9}  {cost['sign_us']:>8.0f}  {cost['verify_us']:>9.0f}  "
              f"{cost['verify_us'] / baseline:>14.2f}  {cost['token_chars']:>11.0f}")  # fmt: skip


if __name__ == "__main__":
    print_table(measure())
