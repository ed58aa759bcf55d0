"""Retries only before the first token; timeouts; cancellation closes the HTTP stream; admission order."""

from __future__ import annotations

import asyncio

import pytest

from glm_lsp import errors
from tests.fake_glm import Cut, Reply, Stall, Text, reply_error, reply_text
from tests.providers.conftest import collect, request, text_of


async def test_429_waits_at_least_retry_after(fake, make_provider):
    fake.push(reply_error(429, provider="zai", retry_after=1), reply_text("after the wait"))
    events = await collect(make_provider(max_retries=2))
    assert text_of(events) == "after the wait"
    first, second = fake.requests
    assert second.arrived - first.arrived >= 1.0


async def test_5xx_retried_then_given_up_with_a_clear_message(fake, make_provider):
    fake.push(reply_error(500), reply_error(503), reply_error(500))
    with pytest.raises(errors.ServerError) as caught:
        await collect(make_provider(max_retries=2))
    assert len(fake.requests) == 3
    assert "Try again" in str(caught.value)


async def test_5xx_then_success(fake, make_provider):
    fake.push(reply_error(502, provider="openai"), reply_text("fine"))
    assert text_of(await collect(make_provider("openai", max_retries=2))) == "fine"
    assert len(fake.requests) == 2


async def test_cut_before_first_token_is_retried(fake, make_provider):
    fake.push(Reply(steps=[Cut()]), reply_text("second try"))
    assert text_of(await collect(make_provider(max_retries=1))) == "second try"


@pytest.mark.parametrize("status", [400, 401, 403, 404])
async def test_no_retry_on_other_4xx(fake, make_provider, status):
    fake.push(reply_error(status), reply_text("must not be used"))
    with pytest.raises(errors.ProviderError):
        await collect(make_provider(max_retries=2))
    assert len(fake.requests) == 1


async def test_no_retry_after_the_first_token(fake, make_provider):
    fake.push(Reply(steps=[Text("already shown"), Cut()]), reply_text("must not be used"))
    seen = []
    with pytest.raises(errors.StreamCutError):
        async with make_provider(max_retries=2).stream(request()) as events:
            async for event in events:
                seen.append(event)
    assert text_of(seen) == "already shown"
    assert len(fake.requests) == 1


async def test_no_retry_on_quota(fake, make_provider):
    fake.push(reply_error(429, code="1113"), reply_text("must not be used"))
    with pytest.raises(errors.QuotaExceededError):
        await collect(make_provider(max_retries=2))
    assert len(fake.requests) == 1


async def test_connection_refused_is_a_clear_error(make_provider):
    provider = make_provider(base_url="http://127.0.0.1:9/v1")
    with pytest.raises(errors.ConnectionFailedError) as caught:
        await collect(provider)
    assert "connection refused" in str(caught.value)


async def test_first_token_timeout(fake, make_provider):
    fake.push(Reply(delay=5, steps=[Text("late")]))
    with pytest.raises(errors.ProviderTimeoutError) as caught:
        await collect(make_provider(timeout_seconds=0.5))
    assert "timeoutSeconds" in str(caught.value)
    assert await fake.await_disconnect(0, 3)


async def test_silence_between_chunks_times_out(fake, make_provider):
    fake.push(Reply(steps=[Text("a"), Stall(5), Text("b")]))
    with pytest.raises(errors.ProviderTimeoutError) as caught:
        await collect(make_provider(timeout_seconds=0.5))
    assert "silent" in str(caught.value)
    assert await fake.await_disconnect(0, 3)


async def test_cancelling_the_consumer_closes_the_http_stream(fake, make_provider):
    fake.push(Reply(steps=[Text("first"), Stall(60), Text("never")]))
    got_first = asyncio.Event()

    async def consume():
        async with make_provider().stream(request()) as events:
            async for _ in events:
                got_first.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(got_first.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await fake.await_disconnect(0, 3)


async def test_leaving_the_block_early_closes_the_http_stream(fake, make_provider):
    fake.push(Reply(steps=[Text("first"), Stall(60), Text("never")]))
    async with make_provider().stream(request()) as events:
        async for _ in events:
            break
    assert await fake.await_disconnect(0, 3)


async def test_keep_alive_reuses_one_connection(fake, make_provider):
    provider = make_provider()
    await collect(provider)
    await collect(provider)
    assert len(fake.requests) == 2
    assert fake.requests[0].client_port == fake.requests[1].client_port


async def test_at_most_max_concurrent_and_actions_admitted_first(fake, make_provider):
    fake.push(Reply(steps=[Text("blocker"), Stall(0.5), Text("."), *reply_text("", done=True).steps[-2:]]))
    provider = make_provider(max_concurrent_requests=1)
    order: list[str] = []

    async def run(priority: str, label: str, delay: float):
        await asyncio.sleep(delay)
        async with provider.stream(request(priority=priority, messages=[{"role": "user", "content": label}])) as events:
            order.append(label)
            async for _ in events:
                pass

    await asyncio.gather(run("action", "blocker", 0), run("completion", "completion", 0.1), run("action", "action", 0.2))
    assert order == ["blocker", "action", "completion"]
    # never two at once: each request arrived after the previous reply finished
    reqs = fake.requests
    assert [r.body["messages"][0]["content"] for r in reqs] == ["blocker", "action", "completion"]
    assert reqs[1].arrived >= reqs[0].finished - 0.01
