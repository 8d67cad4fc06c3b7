"""What the sync and the async client share: their settings, state and decisions; only the I/O differs."""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any, ClassVar

import httpx

from movies_auth_client.breaker import CircuitBreaker
from movies_auth_client.contract import REQUEST_ID_HEADER, SUBJECT_TOKEN_HEADER
from movies_auth_client.errors import AuthUnavailable, InvalidToken
from movies_auth_client.keys import KeySet
from movies_auth_client.observer import Call, NullObserver, Observer, Outcome
from movies_auth_client.permissions import AnswerCache, Reading, Verdict
from movies_auth_client.service_token import ServiceTokenState
from movies_auth_client.tokens import unverified_claims

logger = logging.getLogger("movies_auth_client")

DEFAULT_TIMEOUT = 0.5
DEFAULT_CONNECT_TIMEOUT = 0.25
# The token request verifies the secret on movies_auth's side and may queue behind other work there.
DEFAULT_SERVICE_TOKEN_TIMEOUT = 5.0
DEFAULT_ANSWER_TTL = 5.0
# The async client's refresh window: under steady traffic an answer is renewed before it expires.
DEFAULT_REFRESH_AHEAD = 1.0
DEFAULT_FAILURE_THRESHOLD = 3
DEFAULT_COOLDOWN = 5.0


class ClientBase:
    """Settings and state of a client to movies_auth at `base_url` (e.g. `http://127.0.0.1:5000`).

    `service_name`/`service_secret`: this service's account (`flask services create`); without them
    movies_auth answers no permission check. `timeout`/`connect_timeout`: seconds for checks and key
    fetches; `service_token_timeout`: for the token request. `answer_ttl`: seconds an answer is reused.
    `refresh_ahead` (async client): in an answer's last seconds (at most a fifth of its life), one check
    renews it in the background while it is still served; its expiry stays, so no change is seen later.
    `failure_threshold` failures in a row open the breaker for `cooldown` seconds. `verify_locally`:
    check signatures and expiry against the JWKS before asking. `observer`: see `movies_auth_client.observer`.
    """

    # Renewing an answer in the background needs an event loop: the sync client has no background checks.
    refreshes_ahead: ClassVar[bool] = False

    def __init__(
        self,
        base_url: str,
        *,
        service_name: str | None = None,
        service_secret: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        service_token_timeout: float = DEFAULT_SERVICE_TOKEN_TIMEOUT,
        answer_ttl: float = DEFAULT_ANSWER_TTL,
        refresh_ahead: float = 0.0,
        failure_threshold: int = DEFAULT_FAILURE_THRESHOLD,
        cooldown: float = DEFAULT_COOLDOWN,
        verify_locally: bool = True,
        observer: Observer | None = None,
    ) -> None:
        if (service_name is None) != (service_secret is None):
            raise ValueError("service_name and service_secret go together")
        if refresh_ahead and not self.refreshes_ahead:
            raise TypeError(f"{type(self).__name__} does not refresh answers ahead; refresh_ahead is AsyncAuthClient's")
        self.base_url = base_url.rstrip("/")
        self.observer: Observer = observer or NullObserver()
        self.breaker = CircuitBreaker(failure_threshold, cooldown, observer=self.observer)
        self._timeout = httpx.Timeout(timeout, connect=connect_timeout)
        self._token_timeout = httpx.Timeout(service_token_timeout, connect=min(connect_timeout, service_token_timeout))
        self._service_token_wait = service_token_timeout
        self._keys = KeySet() if verify_locally else None
        self._answers = AnswerCache(answer_ttl, refresh_ahead)
        self._service = ServiceTokenState(service_name, service_secret) if service_name and service_secret else None

    def _claims_without_keys(self, token: str) -> dict[str, Any]:
        # movies_auth verifies the token when it is asked; here only to learn whose permissions to ask about.
        return unverified_claims(token)

    def _verified(self, outcome: Outcome) -> None:
        self.observer.token_verified(outcome)

    def _headers(self, service_token: str, subject_token: str, request_id: str | None) -> dict[str, str]:
        """Every permission check: who asks (this service), about which token, for which request."""
        return {
            "Authorization": f"Bearer {service_token}",
            SUBJECT_TOKEN_HEADER: subject_token,
            REQUEST_ID_HEADER: request_id or uuid.uuid4().hex,
        }

    def _no_service_token(self) -> ServiceTokenState:
        if self._service is None:
            raise AuthUnavailable("no service account configured: movies_auth answers services only")
        return self._service

    def _record(self, call: Call, outcome: Outcome, started: float) -> None:
        self.observer.call_finished(call, outcome, time.perf_counter() - started if started else 0.0)

    def _failed(self, call: Call, error: httpx.HTTPError, started: float) -> AuthUnavailable:
        """A call that got no response: a breaker failure, reported and turned into AuthUnavailable."""
        self.breaker.failed()
        outcome = Outcome.TIMEOUT if isinstance(error, httpx.TimeoutException) else Outcome.ERROR
        self._record(call, outcome, started)
        return AuthUnavailable(f"movies_auth unreachable: {type(error).__name__}")

    def _settle(self, verdict: Verdict, token: str, condition: str, claims: dict[str, Any], started: float) -> bool:
        """Turn movies_auth's verdict into the answer: bool, InvalidToken, or AuthUnavailable."""
        if verdict.reading is Reading.FAILURE:
            self.breaker.failed()
            self._record(Call.PERMISSION_CHECK, Outcome.ERROR, started)
            raise AuthUnavailable(f"movies_auth failed: {verdict.detail}")
        # Anything else came from a live movies_auth: it closes the breaker, even when it is no answer.
        self.breaker.succeeded()
        if verdict.reading in (Reading.UNUSABLE, Reading.SERVICE_REFUSED):
            logger.warning("movies_auth gave no usable answer to a permission check: %s", verdict.detail)
            self._record(Call.PERMISSION_CHECK, Outcome.UNUSABLE, started)
            raise AuthUnavailable(f"no usable answer: {verdict.detail}")
        self._answers.put(token, condition, verdict, claims)
        if verdict.reading is Reading.INVALID_TOKEN:
            self._record(Call.PERMISSION_CHECK, Outcome.INVALID_TOKEN, started)
            raise InvalidToken(verdict.detail)
        self._record(Call.PERMISSION_CHECK, Outcome.OK, started)
        return verdict.reading is Reading.GRANTED

    def _cached(self, token: str, condition: str) -> tuple[bool | None, bool]:
        """The cached answer (None: none) and whether it is due for a refresh; InvalidToken for a refused token."""
        try:
            answer, refresh_due = self._answers.lookup(token, condition)
        except InvalidToken:
            self._record(Call.PERMISSION_CHECK, Outcome.CACHED, 0.0)
            raise
        if answer is not None:
            self._record(Call.PERMISSION_CHECK, Outcome.CACHED, 0.0)
        return answer, refresh_due

    def _keys_fetched(self, response: httpx.Response, started: float) -> None:
        """Take a JWKS response; a failure keeps the keys already known."""
        try:
            response.raise_for_status()
            self._keys.replace(response.json())
        except (httpx.HTTPStatusError, ValueError) as error:
            logger.warning("movies_auth's public keys could not be fetched: %s", error)
            self._record(Call.JWKS, Outcome.UNUSABLE, started)
            return
        self._record(Call.JWKS, Outcome.OK, started)
