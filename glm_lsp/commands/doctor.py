"""`glm-lsp doctor`: the effective settings and where each came from, then one live request.

Exit 0 only if the live request worked; otherwise say exactly what failed (no key,
401, DNS/connect, timeout, unknown model, …) and what to do.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time

from glm_lsp.cli import EXIT_ERROR, load_settings
from glm_lsp.errors import GlmError


def run(args: argparse.Namespace) -> int:
    from glm_lsp import settings as s

    try:
        resolved = load_settings(args)
    except GlmError as exc:
        print(f"glm-lsp: {exc}", file=sys.stderr)
        return EXIT_ERROR
    settings = resolved.settings
    print("glm-lsp doctor\n\nSettings (origin in brackets):")
    for key, value in _rows(settings):
        origin = resolved.origins.get(key) or _default_origin(key, settings)
        print(f"  {s.display_key(key):28} {value}  [{origin}]")
    for key in resolved.unknown_keys:
        print(f"  (ignored unknown setting {key})")
    try:
        url = s.chat_url(settings)
        s.require_api_key(settings)
    except GlmError as exc:
        print(f"\nFAIL: {exc}", file=sys.stderr)
        return EXIT_ERROR
    print(f"\nLive check: POST {url} (model {s.wire_model(settings)}) …", flush=True)
    return asyncio.run(_ping(settings))


def _rows(settings) -> list[tuple[str, str]]:
    from glm_lsp import settings as s

    rows = [
        ("provider", settings.provider),
        ("base_url", settings.effective_base_url or "(not set)"),
        ("model", settings.effective_model),
        ("api_key", s.mask_key(settings.api_key.get_secret_value() if settings.api_key else None)),
    ]
    data = settings.model_dump(exclude={"provider", "base_url", "model", "api_key"})
    for key, value in data.items():
        if isinstance(value, dict):
            rows += [(f"{key}.{sub}", _show(v)) for sub, v in value.items()]
        else:
            rows.append((key, _show(value)))
    rows = [(k, "(adaptive)" if k == "completion.debounce_ms" and v == "(per feature)" else v) for k, v in rows]
    return rows


def _show(value) -> str:
    return "(per feature)" if value is None else str(value)


def _default_origin(key: str, settings) -> str:
    if key in ("base_url", "model"):
        return f"default for {settings.provider}"
    return "default"


async def _ping(settings) -> int:
    from glm_lsp.providers.client import Provider
    from glm_lsp.providers.events import ChatRequest, TextDelta, Usage

    settings = settings.model_copy(update={"timeout_seconds": min(settings.timeout_seconds, 30.0)})
    request = ChatRequest(
        messages=[{"role": "user", "content": "Reply with the single word: pong"}],
        thinking=False,
        max_tokens=16,
    )
    provider = Provider(settings)
    started = time.monotonic()
    text, usage = "", None
    try:
        async with provider.stream(request) as events:
            async for event in events:
                if isinstance(event, TextDelta):
                    text += event.text
                elif isinstance(event, Usage):
                    usage = event
    except GlmError as exc:
        print(f"FAIL: {exc}", file=sys.stderr)
        return EXIT_ERROR
    finally:
        await provider.aclose()
    took = time.monotonic() - started
    tokens = f", {usage.prompt_tokens}+{usage.completion_tokens} tokens" if usage else ""
    print(f"OK: {settings.provider_label} answered {text.strip()[:40]!r} in {took:.2f} s{tokens}.")
    return 0
