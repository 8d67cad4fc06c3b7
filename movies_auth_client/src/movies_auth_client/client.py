"""The sync client, for threaded services (Flask, Django): one per process, shared by its threads."""

from __future__ import annotations

import logging
import os
import threading
import time
from types import TracebackType
from typing import Any, Self

import httpx

from movies_auth_client._base import ClientBase
from movies_auth_client.contract import check_path
from movies_auth_client.errors import AuthUnavailable, InvalidToken, ServiceTokenUnavailable
from movies_auth_client.keys import JWKS_PATH, key_id
from movies_auth_client.observer import Call, Outcome
from movies_auth_client.permissions import Condition, Reading, condition_text, read
from movies_auth_client.service_token import retry_delay
from movies_auth_client.tokens import checked, subject

logger = logging.getLogger("movies_auth_client")


class AuthClient(ClientBase):
    """Verify user tokens, hold this service's token, and check permissions at movies_auth (threads).

    Use it as `with AuthClient(...) as auth:` or call `start()` and `close()` around the service's
    life. A daemon thread keeps the service token fresh. Settings: see `ClientBase`.
    """

    def __init__(self, base_url: str, *, http: httpx.Client | None = None, **settings: Any) -> None:
        super().__init__(base_url, **settings)
        self._http = http or httpx.Client(
            base_url=self.base_url,
            timeout=self._timeout,
            limits=httpx.Limits(max_connections=100, max_keepalive_connections=50),
        )
        self._renewal: threading.Thread | None = None
        self._renewal_pid = 0
        self._stopping = threading.Event()
        self._token_lost = threading.Event()
        self._first_try_done = threading.Event()
        self._fetch_lock = threading.Lock()
        self._renewal_lock = threading.Lock()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    def start(self) -> None:
        """Fetch the keys, then get this service's token and keep it fresh in a background thread.

        Waits for the first try only (at most `service_token_timeout` seconds): movies_auth being down or
        slow does not stop the start; checks answer AuthUnavailable until a retry brings the token.
        """
        if self._keys is not None and self._keys.fetch_due():
            self._fetch_keys()
        if self._service is not None and self._renew_in_background():
            self._first_try_done.wait(self._service_token_wait)

    def _renew_in_background(self) -> bool:
        """Start the renewal thread unless this process runs one; whether it was started now.

        Checked on every call too, so a client made before a fork (gunicorn's `--preload`) renews in each worker.
        """
        if self._renewal is not None and self._renewal_pid == os.getpid() and self._renewal.is_alive():
            return False
        with self._renewal_lock:
            if self._renewal is not None and self._renewal_pid == os.getpid() and self._renewal.is_alive():
                return False
            self._stopping.clear()
            self._renewal_pid = os.getpid()
            self._renewal = threading.Thread(
                target=self._keep_service_token_fresh, name="movies_auth service token", daemon=True
            )
            self._renewal.start()
            return True

    def close(self) -> None:
        """Stop the background renewal and close the pooled connections."""
        self._stopping.set()
        self._token_lost.set()
        if self._renewal is not None:
            self._renewal.join(timeout=self._service_token_wait + 1)
            self._renewal = None
        self._http.close()

    def verify_token(self, token: str) -> dict[str, Any]:
        """The claims of a user's access token, checked locally against movies_auth's keys (no call).

        Raises InvalidToken for a forged, garbled or expired token, AuthUnavailable when no keys are
        known to check with. Revocation is only known to movies_auth: `has_permission` asks it.
        """
        claims = self._local_claims(token)
        if claims is None:
            raise AuthUnavailable("movies_auth's keys are not known: the token cannot be verified here")
        return claims

    def has_permission(self, token: str, condition: Condition, request_id: str | None = None) -> bool:
        """Whether the user of `token` satisfies `condition` (a permission name or an any/all tree).

        Raises InvalidToken when movies_auth (or the local check) refuses the token, AuthUnavailable
        when movies_auth cannot answer; `request_id` is passed on as `X-Request-Id`.
        """
        checked(token)
        text = condition_text(condition)
        answer, _refresh_due = self._cached(token, text)  # never due: refresh_ahead is refused here
        if answer is not None:
            return answer
        claims = self._local_claims(token)
        if claims is None:
            claims = self._claims_without_keys(token)
        user_id = subject(claims)
        service = self._no_service_token()
        self._renew_in_background()
        if not self.breaker.allow():
            self._record(Call.PERMISSION_CHECK, Outcome.SHORT_CIRCUITED, 0.0)
            raise AuthUnavailable("the circuit breaker is open")
        started = time.perf_counter()
        try:
            bearer = service.current()
            response = self._ask(user_id, text, bearer, token, request_id)
            if read(response).reading is Reading.SERVICE_REFUSED:
                # Our own token was refused (a rotated secret, a restart that lost it): get another, once.
                bearer = self._replace_service_token(bearer)
                response = self._ask(user_id, text, bearer, token, request_id)
        except ServiceTokenUnavailable:
            self._record(Call.PERMISSION_CHECK, Outcome.UNUSABLE, started)
            raise
        except httpx.HTTPError as error:
            raise self._failed(Call.PERMISSION_CHECK, error, started) from None
        return self._settle(read(response), token, text, claims, started)

    def service_token(self) -> str:
        """This service's token, for calls of its own to movies_auth; ServiceTokenUnavailable when there is none."""
        service = self._no_service_token()
        self._renew_in_background()
        return service.current()

    def _ask(self, user_id: Any, condition: str, bearer: str, token: str, request_id: str | None) -> httpx.Response:
        headers = self._headers(bearer, token, request_id)
        return self._http.get(check_path(user_id), params={"permissions": condition}, headers=headers)

    def _local_claims(self, token: str) -> dict[str, Any] | None:
        """The verified claims, or None when no keys are known (or local verification is off)."""
        checked(token)
        if self._keys is None:
            return None
        claims = self._keys.remembered(token)
        if claims is None:
            kid = key_id(token)
            if self._keys.fetch_due(kid):
                self._fetch_keys()
            try:
                claims = self._keys.decode(token, kid)
            except InvalidToken:
                self._verified(Outcome.INVALID_TOKEN)
                raise
        if claims is not None:
            self._verified(Outcome.OK)
        return claims

    def _fetch_keys(self) -> None:
        started = time.perf_counter()
        try:
            response = self._http.get(JWKS_PATH)
        except httpx.HTTPError as error:
            logger.warning("movies_auth's public keys could not be fetched: %s", type(error).__name__)
            outcome = Outcome.TIMEOUT if isinstance(error, httpx.TimeoutException) else Outcome.ERROR
            self._record(Call.JWKS, outcome, started)
            return
        self._keys_fetched(response, started)

    def _replace_service_token(self, refused: str) -> str:
        """A new service token in place of one movies_auth refused; one fetch however many threads ask."""
        service = self._no_service_token()
        with self._fetch_lock:
            if service.discard(refused) or service.token is None:
                self._token_lost.set()  # if this fetch fails too, the renewal retries at once, not at renewal time
                self._fetch_service_token()
        return service.current()

    def _fetch_service_token(self) -> None:
        """One client-credentials request, with the token request's own timeout."""
        service = self._no_service_token()
        path, body = service.request()
        started, clock = time.perf_counter(), time.monotonic()
        try:
            response = self._http.post(path, json=body, timeout=self._token_timeout)
            service.accept(response, clock)
        except httpx.HTTPError as error:
            outcome = Outcome.TIMEOUT if isinstance(error, httpx.TimeoutException) else Outcome.ERROR
            self._record(Call.SERVICE_TOKEN, outcome, started)
            raise ServiceTokenUnavailable(type(error).__name__) from None
        except ServiceTokenUnavailable:
            self._record(Call.SERVICE_TOKEN, Outcome.UNUSABLE, started)
            raise
        self._record(Call.SERVICE_TOKEN, Outcome.OK, started)

    def _keep_service_token_fresh(self) -> None:
        """Run until `close()`: get a token, renew it before it expires, retry failures with backoff.

        The first failure of a run is a warning, the rest are logged at INFO: an outage is one line.
        """
        service = self._no_service_token()
        failures = 0
        while not self._stopping.is_set():
            if failures == 0 and service.token is not None:
                self._until_renewal_or_loss(service.seconds_to_renewal())
                if self._stopping.is_set():
                    return
                if service.token is not None and service.seconds_to_renewal() > 0:
                    continue  # replaced meanwhile by a thread whose token was refused
            try:
                with self._fetch_lock:
                    self._fetch_service_token()
            except ServiceTokenUnavailable as error:
                self._first_try_done.set()
                failures += 1
                delay = retry_delay(failures)
                log = logger.warning if failures == 1 else logger.info
                log("No service token from movies_auth (%s, try %d); retrying in %.1fs", error, failures, delay)
                self._until_renewal_or_loss(delay)
                continue
            self._first_try_done.set()
            if failures:
                logger.warning("Service token for %s obtained after %d failed tries", service.name, failures)
            failures = 0

    def _until_renewal_or_loss(self, seconds: float) -> None:
        """Sleep `seconds`, or less if a thread found the token refused (or the client is closing)."""
        self._token_lost.wait(seconds)
        self._token_lost.clear()
