"""One HTTP client base for the services' calls to each other (aiohttp + tenacity).

`HttpClient` keeps one session per client (and event loop), applies a timeout to every call
and a single retry policy:
- retried are only requests that are safe to repeat: GET/HEAD/OPTIONS/PUT/DELETE, and a
  POST or PATCH that carries an `Idempotency-Key` (the server answers a repeat with the
  first result, shop/ and desk/ do: service_common.idempotency);
- on a connection error, a timeout or a 5xx answer, never on a 4xx;
- with exponential backoff and jitter, a bounded number of attempts.
What still fails is raised as the caller's own exception type (`errors`), so a client's
callers keep catching what they caught before. Redirects are never followed: the services
do not redirect, and a followed redirect would carry the caller's key to another host.
"""

from __future__ import annotations

import asyncio
import hashlib
import json as jsonlib
import logging
import weakref
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Hashable, Mapping, Optional
from urllib.parse import urlsplit

import aiohttp
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential_jitter,
)

logger = logging.getLogger("service_common.http")

IDEMPOTENCY_HEADER = "Idempotency-Key"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


_Pool = Dict[Hashable, aiohttp.ClientSession]
_pools: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Pool] = weakref.WeakKeyDictionary()


def pooled_session(key: Hashable,
                   create: Callable[[], aiohttp.ClientSession]) -> aiohttp.ClientSession:
    """One long-lived session per event loop and key, made by `create` on first use (or
    after it was closed), so its connections stay open between calls. A server closes them
    with `close_pooled_sessions` when it stops."""
    pool = _pools.setdefault(asyncio.get_running_loop(), {})
    session = pool.get(key)
    if session is None or session.closed:
        session = pool[key] = create()
    return session


async def close_pooled_sessions() -> None:
    """Closes this event loop's pooled sessions."""
    for session in _pools.pop(asyncio.get_running_loop(), {}).values():
        await session.close()


class HttpError(Exception):
    """The call did not give a usable answer. `reason`: unreachable, timeout, server_error,
    bad_response or too_large; `status`: the HTTP status when there was one. The message
    names the reason and the status only (URLs may carry tokens or phone numbers)."""

    def __init__(self, reason: str, status: Optional[int] = None) -> None:
        super().__init__(reason if status is None else f"{reason} (HTTP {status})")
        self.reason = reason
        self.status = status


class _ServerError(Exception):
    """A 5xx answer inside one attempt: retried like a dropped connection."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


@dataclass
class Reply:
    """A complete answer (body read) with any status below 500."""

    status: int
    headers: Mapping[str, str]
    body: bytes
    content_type: str
    data: Any = field(default=None)  # the decoded JSON body (request_json)

    def json(self) -> Any:
        """The decoded body (None when empty); HttpError("bad_response") if it is no JSON."""
        if not self.body:
            return None
        try:
            return jsonlib.loads(self.body)
        except ValueError:
            raise HttpError("bad_response", self.status) from None


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded attempts, exponential backoff with jitter (seconds)."""

    attempts: int = 3
    initial: float = 0.1
    maximum: float = 2.0
    jitter: float = 0.1

    def retrying(self, attempts: int, on_retry: Callable[[RetryCallState], None]
                 ) -> AsyncRetrying:
        return AsyncRetrying(
            stop=stop_after_attempt(max(1, attempts)),
            wait=wait_exponential_jitter(multiplier=self.initial, max=self.maximum,
                                         jitter=self.jitter),
            retry=retry_if_exception_type(RETRYABLE),
            before_sleep=on_retry,
            reraise=True,
        )


DEFAULT_RETRY = RetryPolicy()
NO_RETRY = RetryPolicy(attempts=1)
# A dropped connection, a response cut off, a timeout, a 5xx: worth another attempt.
RETRYABLE = (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError, asyncio.TimeoutError,
             ConnectionError, _ServerError)


def idempotency_key(*parts: Any) -> str:
    """A stable key from what identifies one operation (e.g. the conversation, its turn,
    the action, the request): the same parts give the same key, on every retry."""
    digest = hashlib.sha256("\x1f".join(str(part) for part in parts).encode("utf-8"))
    return digest.hexdigest()


def body_digest(body: Any) -> str:
    """A digest of a JSON body that does not depend on key order."""
    text = jsonlib.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"),
                         default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class HttpClient:
    """Calls to one service at `base_url` (paths are joined to it; full URLs pass as they
    are). `errors` turns an HttpError into the caller's exception (default: raise it).
    `connector`: a factory for the session's connector (e.g. one with a checking resolver).
    `name` appears in log lines, with the request's path unless `log_paths` is False (the
    query never: it may hold a token or a phone number)."""

    def __init__(
        self,
        base_url: str = "",
        *,
        name: str = "http",
        headers: Optional[Mapping[str, str]] = None,
        timeout: float = 5.0,
        retry: RetryPolicy = DEFAULT_RETRY,
        errors: Optional[Callable[[HttpError], Exception]] = None,
        connector: Optional[Callable[[], aiohttp.BaseConnector]] = None,
        log_paths: bool = True,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.name = name
        self.headers = dict(headers or {})
        self.timeout = timeout
        self.retry = retry
        self.errors = errors
        self.connector = connector
        self.log_paths = log_paths
        self._session: Optional[aiohttp.ClientSession] = None
        self._loop: Optional[asyncio.AbstractEventLoop] = None

    def session(self) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        if self._session is None or self._session.closed or self._loop is not loop:
            # A session belongs to one event loop (tests and CLI commands run several).
            self._session = aiohttp.ClientSession(
                headers=self.headers, timeout=aiohttp.ClientTimeout(total=self.timeout),
                connector=self.connector() if self.connector else None,
            )
            self._loop = loop
        return self._session

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            try:
                await self._session.close()
            except RuntimeError:  # its loop is gone: nothing left to close
                pass
        self._session = None

    async def __aenter__(self) -> HttpClient:
        return self

    async def __aexit__(self, *_exc: Any) -> None:
        await self.close()

    def url(self, path: str) -> str:
        return path if path.startswith(("http://", "https://")) else self.base_url + path

    def may_retry(self, method: str, headers: Mapping[str, str]) -> bool:
        return method.upper() in SAFE_METHODS or any(
            name.lower() == IDEMPOTENCY_HEADER.lower() for name in headers)

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        data: Any = None,
        params: Optional[Mapping[str, str]] = None,
        headers: Optional[Mapping[str, str]] = None,
        idempotency_key: Optional[str] = None,
        timeout: Optional[float] = None,
        max_bytes: Optional[int] = None,
        retry: Optional[RetryPolicy] = None,
    ) -> Reply:
        """The answer (any status below 500). Raises the caller's error for an unreachable
        service, a timeout, a 5xx after the last attempt or a body over `max_bytes`."""
        method = method.upper()
        sent: Dict[str, str] = dict(headers or {})
        if idempotency_key:
            sent[IDEMPOTENCY_HEADER] = idempotency_key
        policy = retry or self.retry
        attempts = policy.attempts if self.may_retry(method, sent) else 1
        url = self.url(path)
        where = urlsplit(url).path if self.log_paths else "-"
        options: Dict[str, Any] = {"headers": sent, "allow_redirects": False}
        if json is not None:
            options["json"] = json
        if data is not None:
            options["data"] = data
        if params is not None:
            options["params"] = params
        if timeout is not None:
            options["timeout"] = aiohttp.ClientTimeout(total=timeout)

        def on_retry(state: RetryCallState) -> None:
            problem = state.outcome.exception() if state.outcome else None
            logger.warning("%s %s %s: attempt %d failed (%s), retrying", self.name, method,
                           where, state.attempt_number, _describe(problem))

        try:
            async for attempt in policy.retrying(attempts, on_retry):
                with attempt:
                    return await self._once(method, url, options, max_bytes)
        except _ServerError as error:
            logger.warning("%s %s %s -> %s", self.name, method, where, error.status)
            raise self._fail(HttpError("server_error", error.status)) from None
        except asyncio.TimeoutError:
            logger.warning("%s %s %s: timed out", self.name, method, where)
            raise self._fail(HttpError("timeout")) from None
        except (aiohttp.ClientError, OSError) as error:
            # The class only: aiohttp messages quote the URL.
            logger.warning("%s %s %s failed: %s", self.name, method, where,
                           type(error).__name__)
            raise self._fail(HttpError("unreachable")) from None
        except HttpError as error:
            raise self._fail(error) from None
        raise AssertionError("unreachable: tenacity returns or raises")  # pragma: no cover

    async def request_json(self, method: str, path: str, **options: Any) -> Reply:
        """Like request(); `reply.data` is the decoded JSON body (bad JSON: the caller's
        error with reason bad_response)."""
        reply = await self.request(method, path, **options)
        try:
            reply.data = reply.json()
        except HttpError as error:
            raise self._fail(error) from None
        return reply

    async def _once(self, method: str, url: str, options: Dict[str, Any],
                    max_bytes: Optional[int]) -> Reply:
        async with self.session().request(method, url, **options) as response:
            if response.status >= 500:
                await response.read()  # the connection goes back to the pool
                raise _ServerError(response.status)
            if max_bytes is not None and response.status >= 300:
                content = b""  # a bounded read wants the content only, not an error page
            elif max_bytes is not None:
                if (response.content_length or 0) > max_bytes:
                    raise HttpError("too_large", response.status)
                body = bytearray()
                async for chunk in response.content.iter_chunked(256 * 1024):
                    body += chunk
                    if len(body) > max_bytes:  # a server that did not say its size
                        raise HttpError("too_large", response.status)
                content = bytes(body)
            else:
                content = await response.read()
            return Reply(response.status, response.headers, content,
                         response.content_type or "application/octet-stream")

    def _fail(self, error: HttpError) -> Exception:
        return self.errors(error) if self.errors else error


def _describe(problem: Optional[BaseException]) -> str:
    if isinstance(problem, _ServerError):
        return f"HTTP {problem.status}"
    return type(problem).__name__ if problem else "?"
