"""The scripted fake GLM provider, exercised over real HTTP with httpx."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.fake_glm import (
    Cut,
    Done,
    ErrorFrame,
    FakeGLM,
    Finish,
    Raw,
    Reasoning,
    Reply,
    Stall,
    Text,
    Usage,
    UsageChunk,
    reply_error,
    reply_text,
)

CHAT = "/api/paas/v4/chat/completions"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def fake():
    with FakeGLM() as server:
        yield server


@pytest.fixture(autouse=True)
def _fresh(fake):
    fake.reset()
    yield
    fake.reset()


@pytest.fixture
def client():
    with httpx.Client(timeout=5) as c:
        yield c


def events(body: str) -> list:
    """Split an SSE body into parsed data payloads ("[DONE]" kept as a string)."""
    assert body.endswith("\n\n")
    out = []
    for block in body[:-2].split("\n\n"):
        assert block.startswith("data: ") and "\n" not in block
        data = block[len("data: ") :]
        out.append(data if data == "[DONE]" else json.loads(data))
    return out


def test_openai_text_stream_exact_bytes(fake, client):
    fake.push(reply_text("Hi, 世界!", chunk_size=4))
    r = client.post(fake.url + CHAT, json={"model": "glm-5.1-air", "stream": True})
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/event-stream; charset=UTF-8"
    assert r.headers["transfer-encoding"] == "chunked"
    assert r.headers["cache-control"] == "no-cache"
    created = events(r.text)[0]["created"]
    head = f'{{"id":"chatcmpl-fake-0","created":{created},"object":"chat.completion.chunk","model":"glm-5.1-air"'
    assert r.text == (
        f'data: {head},"choices":[{{"index":0,"delta":{{"role":"assistant","content":"Hi, "}}}}]}}\n\n'
        f'data: {head},"choices":[{{"index":0,"delta":{{"role":"assistant","content":"世界!"}}}}]}}\n\n'
        f'data: {head},"choices":[{{"index":0,"finish_reason":"stop","delta":{{"role":"assistant","content":""}}}}],'
        '"usage":{"prompt_tokens":10,"completion_tokens":5,"total_tokens":15}}\n\n'
        "data: [DONE]\n\n"
    )
    assert fake.requests[0].flavour == "openai"


def test_runware_text_stream(fake, client):
    fake.push(reply_text("abcdef", chunk_size=3, reasoning="hm", usage=Usage(7, 3, cost=0.001)))
    r = client.post(fake.url + "/v1", json=[{"taskType": "textInference", "taskUUID": "t-1", "model": "m"}])
    assert r.status_code == 200
    assert r.text.startswith('data: {"taskUUID":"t-1","taskType":"textInference","delta":{"reasoningContent":"hm"}}\n\n')
    assert events(r.text) == [
        {"taskUUID": "t-1", "taskType": "textInference", "delta": {"reasoningContent": "hm"}},
        {"taskUUID": "t-1", "taskType": "textInference", "delta": {"text": "abc"}},
        {"taskUUID": "t-1", "taskType": "textInference", "delta": {"text": "def"}},
        {
            "taskUUID": "t-1",
            "taskType": "textInference",
            "delta": {},
            "finishReason": "stop",
            "usage": {"promptTokens": 7, "completionTokens": 3, "totalTokens": 10},
            "cost": 0.001,
        },
        "[DONE]",
    ]
    assert fake.requests[0].flavour == "runware"


@pytest.mark.parametrize("field", ["reasoning_content", "reasoning"])
def test_reasoning_field_choice(fake, client, field):
    fake.push(reply_text("ok", reasoning="think", chunk_size=10, reasoning_field=field, done=False))
    got = events(client.post(fake.url + CHAT, json={}).text)
    assert got[0]["choices"][0]["delta"] == {"role": "assistant", field: "think"}
    assert got[0]["model"] == "glm-5.1"  # no model in the request
    assert got[1]["choices"][0]["delta"] == {"role": "assistant", "content": "ok"}
    assert len(got) == 3


def test_usage_rendering(fake, client):
    usage = Usage(100, 20, cached_tokens=80, reasoning_tokens=7, cost=0.5)
    fake.push(Reply(steps=[Finish("length", usage=None), UsageChunk(usage), Done()]))
    finish, chunk, done = events(client.post(fake.url + CHAT, json={"model": "x"}).text)
    assert finish["choices"][0]["finish_reason"] == "length" and "usage" not in finish
    assert chunk["choices"] == []
    assert chunk["usage"] == {
        "prompt_tokens": 100,
        "completion_tokens": 20,
        "total_tokens": 120,
        "prompt_tokens_details": {"cached_tokens": 80},
        "completion_tokens_details": {"reasoning_tokens": 7},
    }
    assert done == "[DONE]"


@pytest.mark.parametrize(
    "provider, status, retry_after, expected",
    [
        ("zai", 429, 3, {"error": {"code": "1302", "message": "Rate limit reached for requests"}}),
        ("bigmodel", 404, None, {"error": {"code": "1211", "message": "Unknown Model, please check the model code."}}),
        ("zai", 503, 1.5, {"error": {"code": "1305", "message": "The service may be temporarily overloaded, please try again later"}}),  # fmt: skip
        ("oxen", 401, None, {"error": {"type": "unauthenticated", "title": "Unauthorized", "detail": "Unauthorized"},
                             "status": "error", "status_message": "unauthenticated"}),  # fmt: skip
        ("runware", 429, 2, {"errors": [{"code": "rateLimitExceeded", "message": "Too Many Requests", "parameter": None,
                                         "taskType": "textInference", "taskUUID": "fake"}]}),  # fmt: skip
        ("openai", 400, None, {"object": "error", "message": "Bad Request", "type": "BadRequestError",
                               "param": None, "code": 400}),  # fmt: skip
    ],
)
def test_reply_error_bodies(fake, client, provider, status, retry_after, expected):
    fake.push(reply_error(status, provider=provider, retry_after=retry_after))
    r = client.post(fake.url + CHAT, json={})
    assert r.status_code == status
    assert r.headers["content-type"] == "application/json"
    assert int(r.headers["content-length"]) == len(r.content)
    assert r.json() == expected
    assert r.headers.get("retry-after") == (None if retry_after is None else str(retry_after))


def test_reply_error_overrides():
    body = reply_error(400, code=1210, message="bad temperature").body
    assert body == {"error": {"code": "1210", "message": "bad temperature"}}


def test_cut_mid_stream_is_an_http_error(fake, client):
    fake.push(Reply(steps=[Text("first"), Cut(), Text("never")]))
    got = []
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        with client.stream("POST", fake.url + CHAT, json={}) as r:
            for line in r.iter_lines():
                got.append(line)
    assert got and "first" in got[0]
    assert fake.requests[0].finished is None and not fake.requests[0].disconnected


def test_clean_end_without_done_and_raw_steps(fake, client):
    fake.push(Reply(steps=[Text("hi"), Raw(b": comment\r\n"), ErrorFrame({"error": {"code": "1301"}}), Raw("")]))
    r = client.post(fake.url + CHAT, json={})
    assert r.text.endswith('\n\n: comment\r\ndata: {"error":{"code":"1301"}}\n\n')
    assert "[DONE]" not in r.text
    assert fake.requests[0].finished is not None and not fake.requests[0].disconnected


def test_each_step_is_its_own_chunk(fake, client):
    fake.push(Reply(steps=[Raw("data: {\"a\""), Raw(":1}\n\n", delay=0.05)]))
    with client.stream("POST", fake.url + CHAT, json={}) as r:
        parts = list(r.iter_raw())
    assert parts == [b'data: {"a"', b":1}\n\n"]


def test_keep_alive_reuses_connection(fake, client):
    r1 = client.post(fake.url + CHAT, json={"n": 1})
    r2 = client.post(fake.url + "/v1/chat/completions", json={"n": 2})
    assert r1.status_code == r2.status_code == 200
    addr1 = r1.extensions["network_stream"].get_extra_info("client_addr")
    addr2 = r2.extensions["network_stream"].get_extra_info("client_addr")
    assert addr1 == addr2
    assert [rec.body for rec in fake.requests] == [{"n": 1}, {"n": 2}]


def test_queue_default_reset_and_get(fake, client):
    fake.push(Reply(body="one"), Reply(status=201, body={"two": 2}, headers={"X-Fake": "yes"}))
    assert client.get(fake.url + "/models").text == "one"
    second = client.get(fake.url + "/models")
    assert second.status_code == 201 and second.json() == {"two": 2} and second.headers["x-fake"] == "yes"
    fake.default = Reply(body=b"default")
    assert client.post(fake.url + CHAT, json={}).text == "default"
    fake.reset()
    assert fake.requests == []
    assert "Hello from fake GLM." in "".join(
        e["choices"][0]["delta"].get("content", "") for e in events(client.post(fake.url + CHAT, json={}).text)[:-1]
    )


def test_recording(fake, client):
    t0 = time.monotonic()
    fake.push(Reply(steps=[Text("x")], delay=0.05))
    client.post(fake.url + CHAT + "?a=1", json={"model": "glm-5.1", "messages": []}, headers={"Authorization": "Bearer k"})
    t1 = time.monotonic()
    fake.wait_for_requests(1)
    rec = fake.requests[0]
    assert (rec.method, rec.path, rec.flavour) == ("POST", CHAT + "?a=1", "openai")
    assert rec.headers["authorization"] == "Bearer k"
    assert rec.headers["content-type"] == "application/json"
    assert json.loads(rec.raw_body) == rec.body == {"model": "glm-5.1", "messages": []}
    assert t0 <= rec.arrived <= rec.first_byte_sent <= rec.finished <= t1
    assert rec.first_byte_sent - rec.arrived >= 0.04
    with pytest.raises(TimeoutError):
        fake.wait_for_requests(2, timeout=0.05)


def test_disconnect_during_stall(fake, client):
    fake.push(Reply(steps=[Text("first"), Stall(30), Text("never")]))
    with client.stream("POST", fake.url + CHAT, json={}) as r:
        first = next(r.iter_lines())
        assert "first" in first
        t0 = time.monotonic()
    assert fake.wait_disconnect(0, 5)
    assert time.monotonic() - t0 < 2
    rec = fake.requests[0]
    assert rec.disconnected and rec.disconnected_at >= rec.first_byte_sent and rec.finished is None


def test_disconnect_during_reply_delay(fake):
    fake.push(Reply(delay=30, body="late"))
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(fake.url + CHAT, json={}, timeout=0.2)
    assert fake.wait_disconnect(0, 5)
    assert fake.requests[0].first_byte_sent is None


def test_no_disconnect_after_finished_reply(fake):
    httpx.post(fake.url + CHAT, json={}).read()
    assert not fake.wait_disconnect(0, 0.2)


def test_malformed_request_does_not_break_server(fake, client):
    with socket.create_connection(("127.0.0.1", fake.port)) as s:
        s.sendall(b"NONSENSE\r\n\r\n")
        s.settimeout(5)
        assert s.recv(100) == b""  # connection closed
    assert client.post(fake.url + CHAT, json={}).status_code == 200


def test_connection_close_header(fake):
    with socket.create_connection(("127.0.0.1", fake.port)) as s:
        s.sendall(b"GET /x HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
        s.settimeout(5)
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    assert data.startswith(b"HTTP/1.1 200 OK\r\n") and data.endswith(b"0\r\n\r\n")
    assert b"connection: close" in data.lower()


async def test_async_stream_and_disconnect(fake):
    fake.push(reply_text("async!", chunk_size=3), Reply(steps=[Reasoning("r"), Stall(30)]))
    async with httpx.AsyncClient(timeout=5) as ac:
        r = await ac.post(fake.url + CHAT, json={})
        assert [e["choices"][0]["delta"].get("content") for e in events(r.text)[:2]] == ["asy", "nc!"]
        async with ac.stream("POST", fake.url + CHAT, json={}) as r:
            async for line in r.aiter_lines():
                assert "reasoning_content" in line
                break
    assert await fake.await_disconnect(1, 5)
    assert not fake.requests[0].disconnected


def test_standalone():
    argv = [sys.executable, "-m", "tests.fake_glm", "--port", "0", "--text", "standalone"]
    with subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, text=True) as proc:
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            assert line.startswith("fake GLM listening on http://127.0.0.1:")
            url = line.split()[-1]
            body = httpx.post(url + "/v1/chat/completions", json={}, timeout=5).text
            assert '"content":"stan"' in body and "[DONE]" in body
        finally:
            proc.terminate()
            proc.wait(timeout=5)
