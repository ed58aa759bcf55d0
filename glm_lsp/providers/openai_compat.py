"""OpenAI-compatible chat completions over SSE: Z.AI, BigModel, Oxen, self-hosted.

Request: ``POST {baseUrl}/chat/completions``, Bearer auth, ``stream: true``.
Thinking is sent explicitly where the provider defaults it on: Z.AI and BigModel
get ``thinking: {"type": "enabled"|"disabled"}``; self-hosted vLLM/SGLang get
``chat_template_kwargs: {"enable_thinking", "clear_thinking"}`` (a per-request
object replaces the server's defaults, so both are sent). Oxen documents no
thinking switch, so nothing is sent there.

Response chunks: ``choices[0].delta`` with ``content`` and ``reasoning_content``
(Z.AI, SGLang) or ``reasoning`` / ``reasoning_details`` (vLLM, OpenRouter);
usage in the finish chunk (Z.AI) or a trailing ``choices: []`` chunk (vLLM).
"""

from __future__ import annotations

from glm_lsp.providers.events import ChatRequest, Event, ReasoningDelta, TextDelta, Usage
from glm_lsp.providers.wire import Decoder, as_int
from glm_lsp.settings import Settings, chat_url, wire_model

# Z.AI and BigModel document temperature in [0, 1], top_p in [0.01, 1], one stop word.
_STRICT_RANGES = {"zai", "bigmodel"}


def build(settings: Settings, request: ChatRequest, api_key: str) -> tuple[str, dict, dict]:
    body: dict = {"model": wire_model(settings), "messages": request.messages, "stream": True}
    provider = settings.provider
    if provider in ("zai", "bigmodel"):
        body["thinking"] = {"type": "enabled" if request.thinking else "disabled"}
    elif provider == "openai":
        body["chat_template_kwargs"] = {"enable_thinking": request.thinking, "clear_thinking": True}
        body["stream_options"] = {"include_usage": True}
    if request.max_tokens is not None:
        body["max_tokens"] = request.max_tokens
    if request.temperature is not None:
        body["temperature"] = min(request.temperature, 1.0) if provider in _STRICT_RANGES else request.temperature
    if request.top_p is not None:
        body["top_p"] = max(0.01, request.top_p)
    if request.stop:
        body["stop"] = request.stop[:1] if provider in _STRICT_RANGES else request.stop[:4]
    headers = {"Accept": "text/event-stream", "Content-Type": "application/json"}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    if provider == "zai":
        headers["Accept-Language"] = "en-US,en"
    return chat_url(settings), headers, body


class OpenAIDecoder(Decoder):
    def decode_json(self, obj) -> list[Event]:
        out: list[Event] = []
        choices = obj.get("choices") if isinstance(obj, dict) else None
        if choices:
            choice = choices[0]
            delta = choice.get("delta") or {}
            reasoning = delta.get("reasoning_content") or delta.get("reasoning")
            if not reasoning and delta.get("reasoning_details"):
                reasoning = "".join(
                    d.get("text") or ""
                    for d in delta["reasoning_details"]
                    if isinstance(d, dict) and d.get("type") == "reasoning.text"
                )
            if reasoning:
                out.append(ReasoningDelta(reasoning))
            content = delta.get("content")
            if content:
                out.append(TextDelta(content))
            self.saw_finish(choice.get("finish_reason"))
        usage = obj.get("usage") if isinstance(obj, dict) else None
        if usage:
            prompt_details = usage.get("prompt_tokens_details") or {}
            completion_details = usage.get("completion_tokens_details") or {}
            prompt, completion = as_int(usage.get("prompt_tokens")), as_int(usage.get("completion_tokens"))
            self.usage = Usage(
                prompt_tokens=prompt,
                completion_tokens=completion,
                total_tokens=as_int(usage.get("total_tokens")) or prompt + completion,
                cached_tokens=prompt_details.get("cached_tokens"),
                reasoning_tokens=completion_details.get("reasoning_tokens"),
                cost=usage.get("cost"),
            )
        return out
