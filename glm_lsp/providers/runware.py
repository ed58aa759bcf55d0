"""Runware's native task API, streamed.

Request: a JSON array with one ``textInference`` task POSTed to the base URL
itself, ``Authorization: Bearer <key>`` (not an authentication task), a fresh
``taskUUID``, ``deliveryMethod: "stream"``; the system message moves to
``settings.systemPrompt``. The model slug ``zai-glm-5-1`` goes on the wire as
the AIR id ``zai:glm@5.1``. Runware's thinking is off by default
(``thinkingLevel: none``) and the values that switch it on are undocumented, so
``thinkingLevel`` is never sent.

Response: flat SSE events ``{"delta": {"text"|"reasoningContent"}, "finishReason",
"usage": {"promptTokens", …}, "cost"}``; errors as ``{"errors": [{code, message}]}``.
"""

from __future__ import annotations

import uuid

from glm_lsp.providers.events import ChatRequest, Event, ReasoningDelta, TextDelta, Usage
from glm_lsp.providers.wire import Decoder, as_int
from glm_lsp.settings import Settings, chat_url, wire_model


def build(settings: Settings, request: ChatRequest, api_key: str) -> tuple[str, dict, list]:
    system = "\n\n".join(m["content"] for m in request.messages if m["role"] == "system")
    messages = [m for m in request.messages if m["role"] != "system"]
    options: dict = {}
    if system:
        options["systemPrompt"] = system
    if request.temperature is not None:
        options["temperature"] = min(request.temperature, 1.0)
    if request.top_p is not None:
        options["topP"] = max(0.01, request.top_p)
    if request.max_tokens is not None:
        options["maxTokens"] = request.max_tokens
    if request.stop:
        options["stopSequences"] = [s[:50] for s in request.stop[:4]]
    task = {
        "taskType": "textInference",
        "taskUUID": str(uuid.uuid4()),
        "model": wire_model(settings),
        "deliveryMethod": "stream",
        "includeUsage": True,
        "includeCost": True,
        "numberResults": 1,
        "messages": messages,
    }
    if options:
        task["settings"] = options
    headers = {"Accept": "text/event-stream", "Content-Type": "application/json"}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    return chat_url(settings), headers, [task]


class RunwareDecoder(Decoder):
    def decode_json(self, obj) -> list[Event]:
        if isinstance(obj, list):  # tolerate a bare array of results
            return [ev for item in obj if isinstance(item, dict) for ev in self.decode_json(item)]
        out: list[Event] = []
        delta = obj.get("delta") or {}
        if delta.get("reasoningContent"):
            out.append(ReasoningDelta(delta["reasoningContent"]))
        if delta.get("text"):
            out.append(TextDelta(delta["text"]))
        usage = obj.get("usage")
        if usage or obj.get("cost") is not None:
            usage = usage or {}
            prompt, completion = as_int(usage.get("promptTokens")), as_int(usage.get("completionTokens"))
            self.usage = Usage(
                prompt_tokens=prompt,
                completion_tokens=completion,
                total_tokens=as_int(usage.get("totalTokens")) or prompt + completion,
                cached_tokens=usage.get("cachedTokens"),
                reasoning_tokens=usage.get("reasoningTokens"),
                cost=obj.get("cost"),
            )
        self.saw_finish(obj.get("finishReason"))
        return out
