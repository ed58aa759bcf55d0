"""What goes into a provider and what comes out: one request, a stream of events.

A stream yields `ReasoningDelta` and `TextDelta` as they arrive, then at most one
`Usage`, then exactly one `Finish`; or it raises a `glm_lsp.errors.ProviderError`.
Finish reasons that mean failure (``sensitive``, ``network_error``,
``model_context_window_exceeded``) are raised as typed errors, never yielded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Priority = Literal["action", "completion"]


@dataclass(slots=True)
class ChatRequest:
    messages: list[dict[str, str]]  # {"role": "system"|"user"|"assistant", "content": ...}
    thinking: bool = False
    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    stop: list[str] = field(default_factory=list)
    priority: Priority = "action"


@dataclass(slots=True, frozen=True)
class TextDelta:
    text: str


@dataclass(slots=True, frozen=True)
class ReasoningDelta:
    text: str


@dataclass(slots=True, frozen=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    cached_tokens: int | None = None
    reasoning_tokens: int | None = None
    cost: float | None = None


FinishReason = Literal["stop", "length", "tool_calls", "other"]


@dataclass(slots=True, frozen=True)
class Finish:
    reason: FinishReason
    raw: str | None = None


Event = TextDelta | ReasoningDelta | Usage | Finish
