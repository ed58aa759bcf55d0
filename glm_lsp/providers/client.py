"""One async interface over every provider: a request in, a stream of events out.

    provider = Provider(settings)
    async with provider.stream(ChatRequest(messages=[...])) as events:
        async for event in events:
            ...

Guarantees:
- the HTTP response is closed when the ``async with`` block exits, however it exits
  (finished, broken out of, raised, or cancelled by the consumer's task);
- retries (tenacity) only while opening: connect errors, 429 (waiting at least its
  Retry-After; jitter only adds) and 5xx, at most ``maxRetries`` times, and never once
  the first delta has been handed to the consumer nor on other 4xx;
- timeouts: connect, first token and silence between chunks, from settings;
- at most ``maxConcurrentRequests`` streams per (provider, base URL, model), actions
  admitted before completions;
- httpx errors become `glm_lsp.errors` types here and nowhere else.
"""

from __future__ import annotations

import asyncio
import logging
import random
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import AsyncIterator, Callable

import httpx
import tenacity

from glm_lsp import errors
from glm_lsp.providers import classify, network, openai_compat, runware
from glm_lsp.providers.admission import admission_for
from glm_lsp.providers.events import ChatRequest, Event, ReasoningDelta, TextDelta
from glm_lsp.providers.sse import SSEParser
from glm_lsp.providers.wire import Decoder
from glm_lsp.settings import Settings, chat_url, require_api_key, wire_model

log = logging.getLogger(__name__)

BACKOFF_BASE = 0.5  # seconds; doubled per attempt, plus up to as much again of jitter
BACKOFF_MAX = 8.0
RETRY_AFTER_MAX = 60.0  # a longer wait is not worth holding an editor request for


def _backoff(attempt: int, error: BaseException | None) -> float:
    base = min(BACKOFF_MAX, BACKOFF_BASE * 2 ** (attempt - 1))
    jitter = random.uniform(0, base)
    if isinstance(error, errors.RateLimitedError) and error.retry_after is not None:
        return min(error.retry_after, RETRY_AFTER_MAX) + random.uniform(0, 0.25)
    return base + jitter


@dataclass
class _Opened:
    """A response that has started streaming, with what was already read."""

    response: httpx.Response
    chunks: AsyncIterator[bytes]
    parser: SSEParser
    decoder: Decoder
    first: list[Event] = field(default_factory=list)
    ended: bool = False


class Provider:
    """A pooled HTTP client for one provider, base URL and model."""

    def __init__(
        self,
        settings: Settings,
        *,
        on_retry: Callable[[errors.ProviderError, float], None] | None = None,
    ) -> None:
        self.settings = settings
        self.on_retry = on_retry
        self._wire = runware if settings.provider == "runware" else openai_compat
        self._decoder_type = runware.RunwareDecoder if settings.provider == "runware" else openai_compat.OpenAIDecoder
        self._url = chat_url(settings)  # raises SettingsError for openai without baseUrl
        self._admission = admission_for(
            (settings.provider, self._url, wire_model(settings)), settings.max_concurrent_requests
        )
        limits = httpx.Limits(max_connections=settings.max_concurrent_requests + 4, max_keepalive_connections=8)
        # Direct connections on asyncio streams (network.py: anyio's checks cost ~0.3 ms a request).
        # With a proxy in the environment httpx keeps its own transports (given one, it would
        # ignore the proxy settings).
        self.transport = None if network.proxied() else network.Transport(limits)
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(
                connect=settings.connect_timeout_seconds,
                read=settings.timeout_seconds,
                write=30.0,
                pool=None,
            ),
            limits=limits,
            transport=self.transport,
            headers={"User-Agent": "glm-lsp"},
            trust_env=True,
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    @asynccontextmanager
    async def stream(self, request: ChatRequest) -> AsyncIterator[AsyncIterator[Event]]:
        api_key = require_api_key(self.settings)
        async with self._admission.slot(request.priority):
            opened = await self._open_with_retries(request, api_key)
            events = self._events(opened)
            try:
                yield events
            finally:
                await events.aclose()
                await opened.response.aclose()

    async def _open_with_retries(self, request: ChatRequest, api_key: str) -> _Opened:
        def before_sleep(state: tenacity.RetryCallState) -> None:
            error = state.outcome.exception() if state.outcome else None
            delay = state.next_action.sleep if state.next_action else 0.0
            log.info("retrying in %.1f s: %s", delay, error)
            if self.on_retry and isinstance(error, errors.ProviderError):
                self.on_retry(error, delay)

        retrying = tenacity.AsyncRetrying(
            stop=tenacity.stop_after_attempt(self.settings.max_retries + 1),
            wait=lambda state: _backoff(
                state.attempt_number, state.outcome.exception() if state.outcome else None
            ),
            retry=tenacity.retry_if_exception(
                lambda exc: isinstance(exc, errors.ProviderError) and exc.retryable
            ),
            before_sleep=before_sleep,
            reraise=True,
        )
        return await retrying(self._open, request, api_key)

    async def _open(self, request: ChatRequest, api_key: str) -> _Opened:
        """Send, check the status, and read until the first delta (or the end)."""
        url, headers, body = self._wire.build(self.settings, request, api_key)
        try:
            http_request = self._client.build_request("POST", url, headers=headers, json=body)
        except UnicodeEncodeError as exc:  # lone surrogates: a binary file opened as text
            raise errors.BadRequestError(
                "The text to send holds characters that cannot be encoded (is this a binary file?). "
                "Nothing was sent.", provider=self.settings.provider,
            ) from exc
        try:
            async with asyncio.timeout(self.settings.timeout_seconds + self.settings.connect_timeout_seconds):
                response = await self._send(http_request)
                try:
                    if response.status_code != 200:
                        raw = await response.aread()
                        code, message, _ = classify.parse_body(raw)
                        raise classify.classify(
                            self.settings,
                            response.status_code,
                            code,
                            message,
                            retry_after=classify.parse_retry_after(response.headers),
                        )
                    opened = _Opened(
                        response, response.aiter_bytes(), SSEParser(), self._decoder_type(self.settings)
                    )
                    # Read until the first delta, so failures before it can still be retried.
                    while not opened.ended:
                        events = await self._read(opened)
                        opened.first.extend(events)
                        if any(isinstance(ev, (TextDelta, ReasoningDelta)) for ev in events):
                            break
                    return opened
                except BaseException:
                    await response.aclose()
                    raise
        except TimeoutError as exc:
            raise errors.ProviderTimeoutError(
                f"No answer from {self.settings.provider_label} within "
                f"{self.settings.timeout_seconds:g} s. Check your network, or raise timeoutSeconds.",
                provider=self.settings.provider,
            ) from exc

    async def _send(self, http_request: httpx.Request) -> httpx.Response:
        label = self.settings.provider_label
        where = f"{http_request.url.scheme}://{http_request.url.netloc.decode()}"
        try:
            return await self._client.send(http_request, stream=True)
        except httpx.ConnectTimeout as exc:
            raise errors.ProviderTimeoutError(
                f"Could not connect to {label} at {where} within {self.settings.connect_timeout_seconds:g} s. "
                "Check your network and baseUrl.",
                provider=self.settings.provider,
                retryable=True,
            ) from exc
        except httpx.ConnectError as exc:
            reason = _connect_reason(exc)
            raise errors.ConnectionFailedError(
                f"Could not connect to {label} at {where} ({reason}). Check baseUrl and your network.",
                provider=self.settings.provider,
            ) from exc
        except httpx.TimeoutException as exc:
            raise errors.ProviderTimeoutError(
                f"No answer from {label} within {self.settings.timeout_seconds:g} s. "
                "Check your network, or raise timeoutSeconds.",
                provider=self.settings.provider,
            ) from exc
        except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as exc:
            raise errors.ConnectionFailedError(
                f"The connection to {label} at {where} broke before an answer ({type(exc).__name__}). Try again.",
                provider=self.settings.provider,
            ) from exc
        except httpx.UnsupportedProtocol as exc:
            raise errors.SettingsError(
                f"baseUrl {where} is not an http:// or https:// URL.", key="baseUrl"
            ) from exc

    async def _read(self, opened: _Opened) -> list[Event]:
        """The events of the next network read; at the end of the body, the closing events."""
        try:
            chunk = await anext(opened.chunks)
        except StopAsyncIteration:
            opened.ended = True
            return self._close_events(opened)
        except httpx.ReadTimeout as exc:
            raise errors.ProviderTimeoutError(
                f"{self.settings.provider_label} went silent for {self.settings.timeout_seconds:g} s "
                "in the middle of an answer. Try again, or raise timeoutSeconds.",
                provider=self.settings.provider,
            ) from exc
        except httpx.TransportError as exc:
            raise errors.StreamCutError(
                f"The answer from {self.settings.provider_label} was cut off "
                f"({type(exc).__name__}). Try again.",
                provider=self.settings.provider,
            ) from exc
        events: list[Event] = []
        for sse in opened.parser.feed(chunk):
            events.extend(opened.decoder.decode(sse))
        if opened.decoder.done:
            opened.ended = True
            events.extend(opened.decoder.end())
        return events

    def _close_events(self, opened: _Opened) -> list[Event]:
        events: list[Event] = []
        for sse in opened.parser.close():
            events.extend(opened.decoder.decode(sse))
        return events + opened.decoder.end()

    async def _events(self, opened: _Opened) -> AsyncIterator[Event]:
        for event in opened.first:
            yield event
        while not opened.ended:
            for event in await self._read(opened):
                yield event
        await self._drain(opened)

    async def _drain(self, opened: _Opened) -> None:
        """Read what follows ``[DONE]`` (the body's end) so the connection is kept alive."""
        try:
            async with asyncio.timeout(1.0):
                async for _ in opened.chunks:
                    pass
        except (TimeoutError, httpx.TransportError):
            pass


def _connect_reason(exc: BaseException) -> str:
    """DNS failure, refused, TLS…: found in the chain of causes httpx wraps."""
    import socket
    import ssl

    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, socket.gaierror):
            return "DNS lookup failed"
        if isinstance(seen, ConnectionRefusedError):
            return "connection refused"
        if isinstance(seen, ssl.SSLError):
            return f"TLS error: {seen}"[:160]
        text = str(seen).lower()
        if "name or service not known" in text or "name resolution" in text or "nodename nor servname" in text:
            return "DNS lookup failed"
        if "connection refused" in text or "connect call failed" in text:
            return "connection refused"
        seen = seen.__cause__ or seen.__context__
    return str(exc)[:120] or type(exc).__name__
