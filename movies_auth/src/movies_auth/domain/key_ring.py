"""The key ring: the private keys tokens are signed with, one PEM file per key, and their public JWKS.

Each key is `<kid>.pem` in the ring's folder (PKCS#8, readable by the service only). Key ids made
here start with their creation time, so the newest key sorts last: it signs, and every key in the
folder verifies. `flask keys rotate` adds a key; `flask keys retire KID` removes one. Every worker
sees a change within `RECHECK_SECONDS`, and at once when a token names a key it does not know yet.
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

ASYMMETRIC_ALGORITHMS = ("RS256", "ES256")
RECHECK_SECONDS = 1.0
_KID_TIME_FORMAT = "%Y%m%dT%H%M%S%fZ"

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey


class KeyRingError(Exception):
    """The ring cannot do what was asked (no key, an unknown key, a key still in use)."""


@dataclass(frozen=True)
class SigningKey:
    """One key of the ring."""

    kid: str
    private_key: PrivateKey
    algorithm: str
    created_at: datetime

    @cached_property
    def public_key(self) -> PublicKey:
        """The half verifiers need."""
        return self.private_key.public_key()

    def public_jwk(self) -> dict[str, Any]:
        """The public key as a JWK (RFC 7517), with its `kid`, `alg` and `use`."""
        algorithm = RSAAlgorithm if self.algorithm == "RS256" else ECAlgorithm
        jwk = json.loads(algorithm.to_jwk(self.public_key))
        return {**jwk, "kid": self.kid, "alg": self.algorithm, "use": "sig"}


@dataclass(frozen=True)
class Snapshot:
    """The ring's keys at one moment: never changed, only replaced, so a reader sees one consistent set."""

    keys: dict[str, SigningKey]
    version: frozenset

    @property
    def signing_key(self) -> SigningKey:
        """The newest key: the one new tokens are signed with."""
        if not self.keys:
            raise KeyRingError("The key ring is empty: run `flask keys rotate` to create a signing key")
        return self.keys[max(self.keys)]

    @cached_property
    def jwks(self) -> dict[str, list[dict[str, Any]]]:
        """The public keys, oldest first, as a JWK Set: made once per state of the ring."""
        return {"keys": [self.keys[kid].public_jwk() for kid in sorted(self.keys)]}

    def superseded_at(self, kid: str) -> datetime | None:
        """When the key stopped signing (the next key's creation); None while it still signs."""
        newer = sorted(other for other in self.keys if other > kid)
        return self.keys[newer[0]].created_at if newer else None


class KeyRing:
    """The keys in one folder, read again when the folder changes."""

    def __init__(self, folder: Path, algorithm: str) -> None:
        self.folder = folder
        self.algorithm = algorithm
        self._lock = threading.Lock()
        # Read now, not on first use: threads of a new worker must never see an empty ring.
        version = _folder_version(folder)
        self._snapshot = Snapshot(_read_keys(folder, algorithm), version)
        self._checked_at = time.monotonic()

    @property
    def snapshot(self) -> Snapshot:
        """The current keys, read again first if the folder may have changed."""
        if time.monotonic() - self._checked_at >= RECHECK_SECONDS:
            self.refresh()
        return self._snapshot

    def find(self, kid: object) -> SigningKey | None:
        """The key with this id; a key id this worker has not seen makes it look at the folder now."""
        if not isinstance(kid, str):
            return None
        key = self.snapshot.keys.get(kid)
        if key is None:
            self.refresh()
            # Read again even if this thread found nothing new: another may have just read the key in.
            key = self._snapshot.keys.get(kid)
        return key

    def refresh(self) -> bool:
        """Read the folder again if it changed since the last read; whether the keys changed."""
        with self._lock:
            version = _folder_version(self.folder)
            changed = version != self._snapshot.version
            if changed:
                self._snapshot = Snapshot(_read_keys(self.folder, self.algorithm), version)
            # Only now: until the new keys are in place, other threads must not skip their own look.
            self._checked_at = time.monotonic()
            return changed

    def jwks(self) -> dict[str, list[dict[str, Any]]]:
        """The public keys, oldest first, as a JWK Set."""
        return self.snapshot.jwks


def generate(folder: Path, algorithm: str) -> SigningKey:
    """Create a new key in `folder`; being the newest, it signs from now on."""
    if algorithm == "RS256":
        private_key: PrivateKey = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    else:
        private_key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    kid = f"{now.strftime(_KID_TIME_FORMAT)}-{secrets.token_hex(4)}"
    pem = private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    # Written aside and renamed into place, so no worker ever reads half a key.
    draft = folder / f".{kid}.pem.{os.getpid()}"
    descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(pem)
    draft.rename(folder / f"{kid}.pem")
    return SigningKey(kid, private_key, algorithm, now)


def ensure_signing_key(folder: Path, algorithm: str) -> SigningKey | None:
    """Create the first key when the ring has none (several processes at once make only one); the new key, if any."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        if _read_keys(folder, algorithm):
            return None
        return generate(folder, algorithm)
    finally:
        os.close(descriptor)


def remove(folder: Path, kid: str) -> None:
    """Delete a key from the ring: tokens it signed stop verifying on every worker."""
    path = folder / f"{kid}.pem"
    if not _is_key_file(path) or not path.exists():
        raise KeyRingError(f"No key {kid!r} in the key ring")
    path.unlink()


def _folder_version(folder: Path) -> frozenset:
    # Names, sizes and times of the key files: a folder's own mtime can miss two changes in one tick.
    try:
        with os.scandir(folder) as entries:
            stats = {entry.name: entry.stat() for entry in entries if _is_key_file(Path(entry.name))}
        return frozenset((name, stat.st_mtime_ns, stat.st_size) for name, stat in stats.items())
    except FileNotFoundError:
        return frozenset()


def _is_key_file(path: Path) -> bool:
    return path.suffix == ".pem" and not path.name.startswith(".")


def _read_keys(folder: Path, algorithm: str) -> dict[str, SigningKey]:
    keys: dict[str, SigningKey] = {}
    if not folder.is_dir():
        return keys
    for path in folder.iterdir():
        if not _is_key_file(path):
            continue
        private_key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not _fits(private_key, algorithm):
            raise KeyRingError(f"{path} is not a key for {algorithm} (JWT_ALGORITHM)")
        keys[path.stem] = SigningKey(path.stem, private_key, algorithm, _created_at(path))
    return keys


def _created_at(path: Path) -> datetime:
    # Keys made here carry their creation time in their id; a key brought in has its file's time.
    try:
        return datetime.strptime(path.stem.partition("-")[0], _KID_TIME_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return datetime.fromtimestamp(path.stat().st_mtime, UTC)


def _fits(private_key: object, algorithm: str) -> bool:
    if algorithm == "RS256":
        return isinstance(private_key, rsa.RSAPrivateKey) and private_key.key_size >= 2048
    return isinstance(private_key, ec.EllipticCurvePrivateKey) and isinstance(private_key.curve, ec.SECP256R1)
