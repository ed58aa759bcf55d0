"""Each wire format against the fake provider: what is sent, and what comes back."""

from __future__ import annotations

import uuid

import pytest

from glm_lsp import errors
from glm_lsp.providers.events import Finish, Usage as UsageEvent
from tests.fake_glm import Finish as FinishStep, Reasoning, Text, Usage, UsageChunk, Done, reply_text, Reply
from tests.providers.conftest import TEST_KEY, collect, reasoning_of, request, text_of


@pytest.mark.parametrize("provider,path,model", [
    ("zai", "/api/paas/v4/chat/completions", "glm-5.1"),
    ("bigmodel", "/api/paas/v4/chat/completions", "glm-5.1"),
    ("oxen", "/api/ai/chat/completions", "zai-org-glm-5-1"),
    ("openai", "/v1/chat/completions", "glm-5.1"),
])
async def test_openai_compatible_text_reasoning_usage(fake, make_provider, provider, path, model):
    fake.push(reply_text("Hello, 世界 😀!", reasoning="Let me think.", usage=Usage(12, 7, cached_tokens=4, reasoning_tokens=3)))
    events = await collect(make_provider(provider))
    assert text_of(events) == "Hello, 世界 😀!"
    assert reasoning_of(events) == "Let me think."
    assert events[-2] == UsageEvent(12, 7, 19, cached_tokens=4, reasoning_tokens=3)
    assert events[-1] == Finish("stop", "stop")
    sent = fake.requests[0]
    assert sent.path == path
    assert sent.headers["authorization"] == f"Bearer {TEST_KEY}"
    assert sent.body["model"] == model and sent.body["stream"] is True
    assert sent.body["messages"][1] == {"role": "user", "content": "hi"}


async def test_zai_and_bigmodel_send_thinking_explicitly(fake, make_provider):
    await collect(make_provider("zai"), request(thinking=True))
    await collect(make_provider("bigmodel"), request(thinking=False))
    assert fake.requests[0].body["thinking"] == {"type": "enabled"}
    assert fake.requests[1].body["thinking"] == {"type": "disabled"}
    assert fake.requests[0].headers["accept-language"].startswith("en")


async def test_self_hosted_gets_chat_template_kwargs_and_reasoning_field(fake, make_provider):
    fake.push(Reply(steps=[Reasoning("hmm", field="reasoning"), Text("ok"), FinishStep("stop", usage=None),
                           UsageChunk(Usage(3, 1)), Done()]))
    events = await collect(make_provider("openai"), request(thinking=False))
    assert fake.requests[0].body["chat_template_kwargs"] == {"enable_thinking": False, "clear_thinking": True}
    assert "thinking" not in fake.requests[0].body
    assert reasoning_of(events) == "hmm" and text_of(events) == "ok"
    assert UsageEvent(3, 1, 4) in events


async def test_oxen_sends_no_thinking_switch(fake, make_provider):
    await collect(make_provider("oxen"))
    assert "thinking" not in fake.requests[0].body and "chat_template_kwargs" not in fake.requests[0].body


async def test_sampling_options_clamped_to_zai_ranges(fake, make_provider):
    await collect(make_provider("zai"), request(temperature=1.5, top_p=0.0001, max_tokens=99, stop=["a", "b"]))
    body = fake.requests[0].body
    assert body["temperature"] == 1.0 and body["top_p"] == 0.01 and body["max_tokens"] == 99 and body["stop"] == ["a"]


async def test_runware_task_array_and_stream_events(fake, make_provider):
    fake.push(reply_text("Hi there", reasoning="thinking…", usage=Usage(10, 5, cost=0.001)))
    events = await collect(make_provider("runware"), request(max_tokens=50, temperature=0.2, stop=["</done>"]))
    sent = fake.requests[0]
    assert sent.path == "/v1"
    assert sent.headers["authorization"] == f"Bearer {TEST_KEY}"
    (task,) = sent.body
    assert task["taskType"] == "textInference" and task["deliveryMethod"] == "stream"
    assert uuid.UUID(task["taskUUID"]).version == 4
    assert task["model"] == "zai:glm@5.1"
    assert task["settings"]["systemPrompt"] == "Be brief."
    assert task["settings"]["maxTokens"] == 50 and task["settings"]["stopSequences"] == ["</done>"]
    assert task["messages"] == [{"role": "user", "content": "hi"}]
    assert all(t["taskType"] != "authentication" for t in sent.body)
    assert text_of(events) == "Hi there" and reasoning_of(events) == "thinking…"
    assert UsageEvent(10, 5, 15, cost=0.001) in events
    assert events[-1] == Finish("stop", "stop")


async def test_runware_other_air_ids_pass_through(fake, make_provider):
    await collect(make_provider("runware", model="acme:model@2"))
    assert fake.requests[0].body[0]["model"] == "acme:model@2"


async def test_each_request_gets_a_fresh_task_uuid(fake, make_provider):
    provider = make_provider("runware")
    await collect(provider)
    await collect(provider)
    assert fake.requests[0].body[0]["taskUUID"] != fake.requests[1].body[0]["taskUUID"]


@pytest.mark.parametrize("flavour", ["zai", "runware"])
@pytest.mark.parametrize("raw,reason", [("stop", "stop"), ("length", "length"), ("tool_calls", "tool_calls"), ("unknown", "other")])
async def test_normal_finish_reasons(fake, make_provider, flavour, raw, reason):
    fake.push(reply_text("abc", finish=raw))
    events = await collect(make_provider(flavour))
    assert events[-1] == Finish(reason, raw)


@pytest.mark.parametrize("flavour", ["zai", "runware"])
@pytest.mark.parametrize("raw,error", [
    ("sensitive", errors.ContentFilteredError),
    ("content_filter", errors.ContentFilteredError),
    ("network_error", errors.StreamCutError),
    ("model_context_window_exceeded", errors.ContextTooLongError),
])
async def test_failure_finish_reasons_raise_typed_errors(fake, make_provider, flavour, raw, error):
    fake.push(reply_text("partial", finish=raw))
    with pytest.raises(error) as caught:
        await collect(make_provider(flavour))
    assert str(caught.value)  # a message for the user
    assert len(fake.requests) == 1  # content had streamed: never retried


async def test_done_without_finish_reason_is_a_normal_stop(fake, make_provider):
    fake.push(Reply(steps=[Text("ok"), Done()]))
    events = await collect(make_provider("zai"))
    assert events == [__import__("glm_lsp.providers.events", fromlist=["TextDelta"]).TextDelta("ok"), Finish("stop", None)]
