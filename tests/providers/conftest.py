from __future__ import annotations

import pytest

from glm_lsp import settings as s
from glm_lsp.providers.client import Provider
from glm_lsp.providers.events import ChatRequest

BASE_PATHS = {"zai": "/api/paas/v4", "bigmodel": "/api/paas/v4", "oxen": "/api/ai", "openai": "/v1", "runware": "/v1"}
TEST_KEY = "test-key-0123456789abcdef"


@pytest.fixture
async def make_provider(fake):
    """Provider(settings) pointed at the fake; closed after the test."""
    made: list[Provider] = []

    def make(provider: str = "zai", **values) -> Provider:
        values.setdefault("base_url", fake.url + BASE_PATHS[provider])
        values.setdefault("api_key", TEST_KEY)
        values.setdefault("max_retries", 0)
        settings = s.resolve([s.Layer("test", {"provider": provider, **values})], env={}).settings
        made.append(Provider(settings))
        return made[-1]

    yield make
    for instance in made:
        await instance.aclose()


def request(**kw) -> ChatRequest:
    kw.setdefault("messages", [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}])
    kw.setdefault("thinking", True)
    return ChatRequest(**kw)


async def collect(provider: Provider, req: ChatRequest | None = None) -> list:
    """All events of one stream, as a list."""
    async with provider.stream(req or request()) as events:
        return [event async for event in events]


def text_of(events) -> str:
    from glm_lsp.providers.events import TextDelta

    return "".join(e.text for e in events if isinstance(e, TextDelta))


def reasoning_of(events) -> str:
    from glm_lsp.providers.events import ReasoningDelta

    return "".join(e.text for e in events if isinstance(e, ReasoningDelta))
