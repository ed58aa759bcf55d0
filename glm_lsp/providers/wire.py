"""What both wire formats share: turning SSE events into our events.

A `Decoder` keeps the first finish reason and the last usage it saw, so the end
of a stream is decided in one place (`end`): usage, then one `Finish`, or a
typed error — and a body that ends with neither a finish reason nor ``[DONE]``
is a cut stream even when HTTP ended cleanly.
"""

from __future__ import annotations

import json

from glm_lsp import errors
from glm_lsp.providers import classify
from glm_lsp.providers.events import Event, Finish, Usage
from glm_lsp.providers.sse import SSEEvent
from glm_lsp.settings import Settings

_NORMAL_FINISH = {"stop": "stop", "length": "length", "tool_calls": "tool_calls", "tool_use": "tool_calls"}


class Decoder:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.finish_raw: str | None = None
        self.usage: Usage | None = None
        self.done = False

    def decode(self, sse: SSEEvent) -> list[Event]:
        data = sse.data
        if data == "[DONE]":
            self.done = True
            return []
        if not data.strip():
            return []  # an empty keep-alive event
        try:
            obj = json.loads(data)
        except ValueError as exc:
            shown = classify.scrub(data, self._key())[:80]
            raise errors.ProtocolError(
                f"{self.settings.provider_label} sent a stream event that is not JSON "
                f"({shown!r}). Check that baseUrl points at {self.settings.provider_label}'s API.",
                provider=self.settings.provider,
            ) from exc
        if not isinstance(obj, dict) and not isinstance(obj, list):
            raise errors.ProtocolError(
                f"{self.settings.provider_label} sent an unexpected stream event "
                f"({classify.scrub(data, self._key())[:80]!r}).",
                provider=self.settings.provider,
            )
        if sse.event == "error" or (isinstance(obj, dict) and ("error" in obj or "errors" in obj)):
            code, message = classify.code_and_message(obj)
            raise classify.classify(self.settings, None, code, message)
        return self.decode_json(obj)

    def _key(self) -> str | None:
        return self.settings.api_key.get_secret_value() if self.settings.api_key else None

    def decode_json(self, obj) -> list[Event]:  # pragma: no cover - overridden
        raise NotImplementedError

    def saw_finish(self, raw: str | None) -> None:
        if raw and self.finish_raw is None:
            self.finish_raw = raw

    @property
    def finished(self) -> bool:
        return self.done or self.finish_raw is not None

    def end(self) -> list[Event]:
        """Events that close a stream whose body has ended (or raise)."""
        raw = self.finish_raw
        if raw is None and not self.done:
            raise errors.StreamCutError(
                f"The answer from {self.settings.provider_label} was cut off before it finished. Try again.",
                provider=self.settings.provider,
            )
        failure = classify.from_finish(self.settings, raw) if raw else None
        if failure is not None:
            raise failure
        events: list[Event] = [self.usage] if self.usage else []
        reason = _NORMAL_FINISH.get(raw or "stop", "other")
        events.append(Finish(reason, raw))
        return events


def as_int(value) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0
