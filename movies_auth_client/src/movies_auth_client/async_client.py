"""The async client, for asyncio services (FastAPI, aiohttp): one per process and event loop."""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from types import TracebackType
from typing import Any, NamedTuple, Self

import httpx

from movies_auth_client._base import DEFAULT_REFRESH_AHEAD, ClientBase
from movies_auth_client.contract import check_path
from movies_auth_client.errors import AuthUnavailable, InvalidToken, ServiceTokenUnavailable
from movies_auth_client.keys import JWKS_PATH, key_id
from movies_auth_client.observer import BreakerState, Call, Outcome
from movies_auth_client.permissions import Condition, Reading, condition_text, read
from movies_auth_client.service_token import retry_delay
from movies_auth_client.tokens import checked, subject

logger = logging.getLogger("movies_auth_client")


class _Check(NamedTuple):
    task: asyncio.Task[bool]
    created_now: bool


class AsyncAuthClient(ClientBase):
    """Verify user tokens, hold this service's token, and check permissions at movies_auth (asyncio).

    Use it as `async with AsyncAuthClient(...) as auth:` or call `start()` and `aclose()` around the
    service's life (a FastAPI lifespan). Settings: see `ClientBase`.
    """

    refreshes_ahead = True

    def __init__(self, base_url: str, *, http: httpx.AsyncClient | None = None, **settings: Any) -> None:
        settings.setdefault("refresh_ahead", DEFAULT_REFRESH_AHEAD)
        super().__init__(base_url, **settings)
        self._http = http or httpx.AsyncClient(
            base_url=self.base_url,
            timeout=self._timeout,
            limits=httpx.Limits(max_connections=100, max_keepalive_connections=50),
        )
        self._renewal: asyncio.Task[None] | None = None
        self._token_lost = asyncio.Event()
        self._first_try_done = asyncio.Event()
        self._fetch_lock = asyncio.Lock()
        self._checks: dict[tuple[str, str], asyncio.Task[bool]] = {}

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        await self.aclose()

    async def start(self) -> None:
        """Fetch the keys, then get this service's token and keep it fresh in the background.

        Waits for the first try only (at most `service_token_timeout` seconds): movies_auth being down or
        slow does not stop the start; checks answer AuthUnavailable until a retry brings the token.
        """
        if self._keys is not None and self._keys.fetch_due():
            await self._fetch_keys()
        if self._service is None or not self._renew_in_background():
            return
        try:
            await asyncio.wait_for(self._first_try_done.wait(), self._service_token_wait)
        except TimeoutError:
            pass

    def _renew_in_background(self) -> bool:
        """Start the renewal task unless one runs; whether it was started now (also checked on every call)."""
        if self._renewal is not None and not self._renewal.done():
            return False
        self._renewal = asyncio.create_task(self._keep_service_token_fresh(), name="movies_auth service token")
        return True

    async def aclose(self) -> None:
        """Stop the background renewal and the checks in flight, and close the pooled connections."""
        checks = list(self._checks.values())
        for check in checks:
            check.cancel()
        await asyncio.gather(*checks, return_exceptions=True)
        if self._renewal is not None:
            self._renewal.cancel()
            await asyncio.gather(self._renewal, return_exceptions=True)
            self._renewal = None
        await self._http.aclose()

    async def verify_token(self, token: str) -> dict[str, Any]:
        """The claims of a user's access token, checked locally against movies_auth's keys (no call).

        Raises InvalidToken for a forged, garbled or expired token, AuthUnavailable when no keys are
        known to check with. Revocation is only known to movies_auth: `has_permission` asks it.
        """
        claims = await self._local_claims(token)
        if claims is None:
            raise AuthUnavailable("movies_auth's keys are not known: the token cannot be verified here")
        return claims

    async def has_permission(self, token: str, condition: Condition, request_id: str | None = None) -> bool:
        """Whether the user of `token` satisfies `condition` (a permission name or an any/all tree).

        Raises InvalidToken when movies_auth (or the local check) refuses the token, AuthUnavailable
        when movies_auth cannot answer; `request_id` is passed on as `X-Request-Id`. With an answer
        cache, checks of one token and condition at once share one call (with the first one's request id)
        while the breaker is closed; past a failure, nobody waits on another caller's probe.
        """
        checked(token)
        text = condition_text(condition)
        answer, refresh_due = self._cached(token, text)
        if answer is not None:
            if refresh_due:
                self._shared_check(token, text, request_id)
            return answer
        if not self._answers.enabled or self.breaker.state is not BreakerState.CLOSED:
            # Nothing to share: every check is asked, or, past a failure, none is but the breaker's one probe,
            # and nobody waits on that probe or pays for a task that would only be refused.
            return await self._check(token, text, request_id)
        check = self._shared_check(token, text, request_id)
        if not check.created_now:
            self._record(Call.PERMISSION_CHECK, Outcome.SHARED, 0.0)
        # Shielded: a caller that goes away leaves the check to finish for the others (and the breaker).
        return await asyncio.shield(check.task)

    def _shared_check(self, token: str, condition: str, request_id: str | None) -> _Check:
        """The check of (token, condition) in flight, or a new one: one call however many callers ask."""
        key = (token, condition)
        task = self._checks.get(key)
        if task is not None:
            return _Check(task, created_now=False)
        task = asyncio.create_task(self._check(token, condition, request_id), name="movies_auth permission check")
        self._checks[key] = task
        task.add_done_callback(functools.partial(self._check_done, key))
        return _Check(task, created_now=True)

    def _check_done(self, key: tuple[str, str], task: asyncio.Task[bool]) -> None:
        if self._checks.get(key) is task:
            del self._checks[key]
        if not task.cancelled():
            # Retrieved here, so that a refresh nobody waits for fails quietly: the observer has counted it.
            task.exception()

    async def _check(self, token: str, text: str, request_id: str | None) -> bool:
        """Ask movies_auth, verifying the token locally first; the answer is cached."""
        claims = await self._local_claims(token)
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
            response = await self._ask(user_id, text, bearer, token, request_id)
            if read(response).reading is Reading.SERVICE_REFUSED:
                # Our own token was refused (a rotated secret, a restart that lost it): get another, once.
                bearer = await self._replace_service_token(bearer)
                response = await self._ask(user_id, text, bearer, token, request_id)
        except ServiceTokenUnavailable:
            self._record(Call.PERMISSION_CHECK, Outcome.UNUSABLE, started)
            raise
        except httpx.HTTPError as error:
            raise self._failed(Call.PERMISSION_CHECK, error, started) from None
        except BaseException:
            # Cancelled mid-call (the client closing): count it, so a probe never leaves the breaker half-open.
            self.breaker.failed()
            raise
        return self._settle(read(response), token, text, claims, started)

    async def service_token(self) -> str:
        """This service's token, for calls of its own to movies_auth; ServiceTokenUnavailable when there is none."""
        service = self._no_service_token()
        self._renew_in_background()
        return service.current()

    async def _ask(
        self, user_id: Any, condition: str, bearer: str, token: str, request_id: str | None
    ) -> httpx.Response:
        headers = self._headers(bearer, token, request_id)
        return await self._http.get(check_path(user_id), params={"permissions": condition}, headers=headers)

    async def _local_claims(self, token: str) -> dict[str, Any] | None:
        """The verified claims, or None when no keys are known (or local verification is off)."""
        checked(token)
        if self._keys is None:
            return None
        claims = self._keys.remembered(token)
        if claims is None:
            kid = key_id(token)
            if self._keys.fetch_due(kid):
                await self._fetch_keys()
            try:
                claims = self._keys.decode(token, kid)
            except InvalidToken:
                self._verified(Outcome.INVALID_TOKEN)
                raise
        if claims is not None:
            self._verified(Outcome.OK)
        return claims

    async def _fetch_keys(self) -> None:
        started = time.perf_counter()
        try:
            response = await self._http.get(JWKS_PATH)
        except httpx.HTTPError as error:
            logger.warning("movies_auth's public keys could not be fetched: %s", type(error).__name__)
            outcome = Outcome.TIMEOUT if isinstance(error, httpx.TimeoutException) else Outcome.ERROR
            self._record(Call.JWKS, outcome, started)
            return
        self._keys_fetched(response, started)

    async def _replace_service_token(self, refused: str) -> str:
        """A new service token in place of one movies_auth refused; one fetch however many callers ask."""
        service = self._no_service_token()
        async with self._fetch_lock:
            if service.discard(refused) or service.token is None:
                self._token_lost.set()  # if this fetch fails too, the renewal retries at once, not at renewal time
                await self._fetch_service_token()
        return service.current()

    async def _fetch_service_token(self) -> None:
        """One client-credentials request, with the token request's own timeout."""
        service = self._no_service_token()
        path, body = service.request()
        started, clock = time.perf_counter(), time.monotonic()
        try:
            response = await self._http.post(path, json=body, timeout=self._token_timeout)
            service.accept(response, clock)
        except httpx.HTTPError as error:
            outcome = Outcome.TIMEOUT if isinstance(error, httpx.TimeoutException) else Outcome.ERROR
            self._record(Call.SERVICE_TOKEN, outcome, started)
            raise ServiceTokenUnavailable(type(error).__name__) from None
        except ServiceTokenUnavailable:
            self._record(Call.SERVICE_TOKEN, Outcome.UNUSABLE, started)
            raise
        self._record(Call.SERVICE_TOKEN, Outcome.OK, started)

    async def _keep_service_token_fresh(self) -> None:
        """Run for the client's life: get a token, renew it before it expires, retry failures with backoff.

        The first failure of a run is a warning, the rest are logged at INFO: an outage is one line.
        """
        service = self._no_service_token()
        failures = 0
        while True:
            if failures == 0 and service.token is not None:
                await self._until_renewal_or_loss(service.seconds_to_renewal())
                if service.token is not None and service.seconds_to_renewal() > 0:
                    continue  # replaced meanwhile by a caller whose token was refused
            try:
                async with self._fetch_lock:
                    await self._fetch_service_token()
            except ServiceTokenUnavailable as error:
                self._first_try_done.set()
                failures += 1
                delay = retry_delay(failures)
                log = logger.warning if failures == 1 else logger.info
                log("No service token from movies_auth (%s, try %d); retrying in %.1fs", error, failures, delay)
                await self._until_renewal_or_loss(delay)
                continue
            self._first_try_done.set()
            if failures:
                logger.warning("Service token for %s obtained after %d failed tries", service.name, failures)
            failures = 0

    async def _until_renewal_or_loss(self, seconds: float) -> None:
        """Sleep `seconds`, or less if a caller found the token refused."""
        try:
            await asyncio.wait_for(self._token_lost.wait(), seconds)
        except TimeoutError:
            pass
        self._token_lost.clear()
