"""SSE parsing throughput: glm-lsp's provider client against the openai SDK.

What it measures: how fast each client turns one long OpenAI-format chat
completion stream into text deltas. Both read the same body from the fake
provider (tests/fake_glm.py): N chunks (default 20,000) with short content
deltas of a few characters, some CJK and emoji, like a real token stream, then
a finish chunk with usage and ``data: [DONE]``. The body is pre-rendered into a
few 64 KiB ``Raw`` steps, so the fake's per-step overhead is negligible and
the time goes to the client: HTTP reads, SSE framing, JSON and event objects
(for the openai SDK, a typed ``ChatCompletionChunk`` model per event, which is
most of its cost; that is what a caller of either client pays).

- A = glm-lsp: ``Provider(settings).stream(ChatRequest(...))``, counting TextDelta.
- B = openai SDK: ``AsyncOpenAI(...).chat.completions.create(stream=True)``.

Run (from the repo root, with the project venv):

    python bench/sse_throughput.py [--events N] [--runs R]

Each client is warmed up once, then runs R times (order alternating A/B).
Reported per client: median wall time, events/s and MB/s of SSE body, and the
median process CPU time per run. The fake server runs in this same process
(its own thread), so its CPU is included for both clients equally. The last
line is the ratio of events/s, glm-lsp over the openai SDK: > 1 means glm-lsp
is faster. Before any figure, both clients must reassemble the exact same text;
otherwise the script exits with status 1. No figure is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import os
import platform
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import openai  # noqa: E402

from glm_lsp import settings as s  # noqa: E402
from glm_lsp.providers.client import Provider  # noqa: E402
from glm_lsp.providers.events import ChatRequest, TextDelta  # noqa: E402
from tests.fake_glm import FakeGLM, Raw, Reply  # noqa: E402

STEP_BYTES = 64 * 1024
MESSAGES = [{"role": "user", "content": "Write a long answer."}]
TOKENS = ["def", " f", "(x", "):", "\n   ", " return", " x", " +", " 1", "\n", "the", " value", " is",
          " 你好", "世界", "，", "数据", "结构", "。", " café", " naïve", " 😀", "==", " {", "}", "\"a\"", "\\n"]  # fmt: skip


def build_body(n: int) -> tuple[bytes, str]:
    """The whole SSE body of n content chunks, and the text it carries."""
    rng = random.Random(0)
    parts, text = [], []
    head = {"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 1700000000, "model": "glm-5.1"}
    for _ in range(n):
        delta = "".join(rng.choice(TOKENS) for _ in range(rng.randint(1, 2)))
        text.append(delta)
        chunk = {**head, "choices": [{"index": 0, "delta": {"content": delta}}]}
        parts.append(b"data: " + json.dumps(chunk, ensure_ascii=False, separators=(",", ":")).encode() + b"\n\n")
    usage = {"prompt_tokens": 10, "completion_tokens": n, "total_tokens": n + 10}
    finish = {**head, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}], "usage": usage}
    parts.append(b"data: " + json.dumps(finish, separators=(",", ":")).encode() + b"\n\n")
    parts.append(b"data: [DONE]\n\n")
    return b"".join(parts), "".join(text)


async def run_ours(provider: Provider) -> tuple[int, str]:
    count, text = 0, []
    async with provider.stream(ChatRequest(messages=MESSAGES)) as events:
        async for ev in events:
            if isinstance(ev, TextDelta):
                count += 1
                text.append(ev.text)
    return count, "".join(text)


async def run_openai(client: openai.AsyncOpenAI) -> tuple[int, str]:
    count, text = 0, []
    stream = await client.chat.completions.create(model="glm-5.1", messages=MESSAGES, stream=True)
    async for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            count += 1
            text.append(chunk.choices[0].delta.content)
    return count, "".join(text)


async def timed(fn, target) -> tuple[float, float, int, str]:
    cpu, wall = time.process_time(), time.perf_counter()
    count, text = await fn(target)
    return time.perf_counter() - wall, time.process_time() - cpu, count, text


async def bench(url: str, n: int, runs: int, body_len: int, expected: str) -> None:
    settings = s.resolve(
        [s.Layer("bench", {"provider": "openai", "base_url": url + "/v1", "api_key": "x", "max_retries": 0})],
        env={},
    ).settings
    provider = Provider(settings)
    client = openai.AsyncOpenAI(base_url=url + "/v1", api_key="x", max_retries=0)
    clients = {"glm-lsp": (run_ours, provider), "openai SDK": (run_openai, client)}
    try:
        for name, (fn, target) in clients.items():  # warm-up and correctness guard
            _, _, count, text = await timed(fn, target)
            if text != expected or count != n:
                sys.exit(f"FAIL: {name} reassembled {count} deltas / {len(text)} chars, "
                         f"expected {n} / {len(expected)} chars (text differs: {text != expected})")  # fmt: skip
        walls: dict[str, list[float]] = {name: [] for name in clients}
        cpus: dict[str, list[float]] = {name: [] for name in clients}
        names = list(clients)
        for i in range(runs):
            for name in names if i % 2 == 0 else names[::-1]:
                fn, target = clients[name]
                wall, cpu, count, text = await timed(fn, target)
                if text != expected:
                    sys.exit(f"FAIL: {name} text differs on run {i + 1}")
                walls[name].append(wall)
                cpus[name].append(cpu)
    finally:
        await provider.aclose()
        await client.close()

    print(f"{'client':<12} {'median s':>9} {'min s':>8} {'events/s':>11} {'MB/s':>8} {'CPU s/run':>10}")
    rate = {}
    for name in names:
        med = statistics.median(walls[name])
        rate[name] = n / med
        print(f"{name:<12} {med:>9.4f} {min(walls[name]):>8.4f} {rate[name]:>11,.0f} "
              f"{body_len / med / 1e6:>8.2f} {statistics.median(cpus[name]):>10.4f}")  # fmt: skip
    print("(CPU = time.process_time, includes the fake server thread, equal for both clients)")
    print(f"ratio (glm-lsp / openai SDK, events/s): {rate['glm-lsp'] / rate['openai SDK']:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000, help="content chunks in the stream")
    parser.add_argument("--runs", type=int, default=7, help="timed runs per client (after one warm-up)")
    args = parser.parse_args()

    body, expected = build_body(args.events)
    now = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
    print(f"date: {now}")
    print(f"machine: {platform.platform()}, {platform.machine()}, {os.cpu_count()} CPUs")
    print(f"python: {platform.python_implementation()} {platform.python_version()}, "
          f"openai {openai.__version__}, httpx {__import__('httpx').__version__}")  # fmt: skip
    print(f"stream: {args.events:,} content chunks, {len(expected):,} chars, {len(body) / 1e6:.2f} MB SSE body, "
          f"{args.runs} runs per client (median); fake server in-process (a thread)")  # fmt: skip
    print()

    fake = FakeGLM().start()
    try:
        steps = [Raw(body[i : i + STEP_BYTES]) for i in range(0, len(body), STEP_BYTES)]
        fake.default = Reply(steps=steps)
        asyncio.run(bench(fake.url, args.events, args.runs, len(body), expected))
    finally:
        fake.stop()


if __name__ == "__main__":
    main()
