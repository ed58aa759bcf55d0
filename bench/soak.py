"""Soak test: mixed traffic against one glm-lsp server for a long time; does RSS or the fd count grow?

    python bench/soak.py [--minutes 30] [--sample-seconds 60] [--seed 20240611]

Not run in CI (30 minutes by default). One real server (``python -m glm_lsp serve`` over
stdio, pytest-lsp's client, VS Code capabilities, default settings: adaptive debounce,
``maxRetries: 0``), the fake provider (tests/fake_glm.py) in a thread of this script,
and the simulated editor (tests/lsp/editor.py, VS Code behaviour) holding a 2,000-line
Python buffer and 20 other open buffers of 1,000 lines (bench/context_build.py's
generator). Traffic, in cycles, until the time is up:

- typing: Enter at the end of a random line of the main buffer, then 10-30 characters
  60 ms apart, an Automatic inline completion request after each keystroke (not
  awaited; about one burst in five cancels one of its requests with ``$/cancelRequest``);
  all answers awaited, then the typed line is deleted again (so the buffer does not grow);
- every 3rd cycle ``glm.explain`` on a random 20-line range (a streamed prose answer);
- every 4th cycle ``glm.fix``: a fresh document with a broken 10-line function is opened,
  fixed by streamed edits that the simulated editor applies and echoes, checked, closed;
- every 5th cycle a provider error (HTTP 500, 429 or 401, in turn) for an Invoked inline
  completion, and every 7th cycle an explain cancelled while the fake stalls mid-stream.

Every ``--sample-seconds`` (and at the start, after a warm-up cycle): the server's VmRSS,
VmHWM and thread count (/proc/<pid>/status), its open file descriptors (/proc/<pid>/fd)
and how many of them are sockets and pipes. Printed: a table of the samples, the traffic
counts, and per figure the least-squares slope per minute over all samples and over the
second half, and whether it grew (a heuristic, printed, never asserted: RSS slope over
the second half above 0.5 MB/min and the last sample 5 MB above the first; fds and sockets:
second-half slope above 0.05 per minute and the last sample above the first).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import itertools
import os
import platform
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from lsprotocol import types  # noqa: E402

from completion_latency import ANSWER, cpu_model, inline_params, settle, start_glm, stop  # noqa: E402
from context_build import CodeGen  # noqa: E402
from tests.clients import PRESETS  # noqa: E402
from tests.fake_glm import Done, FakeGLM, Finish, Reply, Stall, Text, reply_error, reply_text  # noqa: E402
from tests.lsp.editor import Editor  # noqa: E402

TIMEOUT = 20.0
HEAD = "import math\n\n\n"
TAIL = "\n\nprint(area(2))\n"
BROKEN = [
    "def area(r)\n",
    '    """Area of a circle of radius r."""\n',
    "    if r is None:\n",
    '        raise TypeError("r is required")\n',
    "    r = float(r)\n",
    "    if r < 0:\n",
    '        raise ValueError("negative radius")\n',
    "    scale = 1.0\n",
    "    result = math.pi * r * r * scale\n",
    "    return result *\n",
]
FIXED = ["def area(r):\n", *BROKEN[1:-1], "    return result\n"]
EXPLANATION = ("This function looks up the order, applies the discount and logs the result. "
               "It returns None when the order is missing. ") * 8
TYPED = "total = compute(orders, items, config, logger)"


def rng_json(start: int, end: int) -> dict:
    return {"start": {"line": start, "character": 0}, "end": {"line": end, "character": 0}}


def fix_reply() -> Reply:
    steps: list = [Text("Here is the fix:\n\n```python\n")]
    steps += [Text(line, delay=0.002) for line in FIXED]
    steps += [Text("```\n\nThe colon was missing.", delay=0.002), Finish(), Done()]
    return Reply(steps=steps)


def stalled_reply() -> Reply:
    return Reply(steps=[Text("This code "), Stall(30.0), Text("never sent"), Finish(), Done()])


# --------------------------------------------------------------------------- sampling


def proc_sample(pid: int) -> dict:
    status = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        status[key] = value.strip()
    fds = sockets = pipes = 0
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        fds += 1
        with contextlib.suppress(OSError):
            target = os.readlink(fd)
            sockets += target.startswith("socket:")
            pipes += target.startswith("pipe:")
    kb = lambda key: int(status.get(key, "0 kB").split()[0]) / 1024  # noqa: E731
    return {"rss": kb("VmRSS"), "hwm": kb("VmHWM"), "threads": int(status.get("Threads", "0")),
            "fds": fds, "sockets": sockets, "pipes": pipes}


def slope(points: list[tuple[float, float]]) -> float:
    if len(points) < 2 or len({x for x, _ in points}) < 2:
        return float("nan")
    xs, ys = zip(*points)
    return statistics.linear_regression(xs, ys).slope


# --------------------------------------------------------------------------- traffic


class Soak:
    def __init__(self, client, editor: Editor, fake: FakeGLM, main_uri: str, workspace: Path, seed: int) -> None:
        self.client, self.editor, self.fake, self.main_uri = client, editor, fake, main_uri
        self.workspace = workspace
        self.rng = random.Random(seed)
        self.counts: Counter = Counter()
        self.failures: list[str] = []

    def main_lines(self) -> list[str]:
        return self.editor.text(self.main_uri).split("\n")

    def fail(self, what: str, exc: BaseException) -> None:
        self.counts[f"{what} failed"] += 1
        if len(self.failures) < 20:
            self.failures.append(f"{what}: {type(exc).__name__}: {exc}"[:300])

    async def typing(self) -> None:
        lines = self.main_lines()
        candidates = [n for n, line in enumerate(lines) if line.startswith("    ") and line.strip() and n > 10]
        n = self.rng.choice(candidates)
        line = lines[n]
        indent = line[: len(line) - len(line.lstrip())]
        self.editor.type(self.main_uri, (n, len(line)), "\n" + indent)
        await asyncio.sleep(self.rng.uniform(0.2, 0.8))
        text = TYPED[: self.rng.randint(10, 30)]
        cancel_at = self.rng.randrange(len(text)) if self.rng.random() < 0.2 else None
        column = len(indent)
        pending = []
        for i, ch in enumerate(text):
            self.editor.type(self.main_uri, (n + 1, column), ch)
            column += 1
            msg_id = str(uuid.uuid4())
            future = self.client.protocol.send_request_async(
                types.TEXT_DOCUMENT_INLINE_COMPLETION, inline_params(self.main_uri, (n + 1, column), True), msg_id=msg_id)
            pending.append(asyncio.ensure_future(asyncio.wait_for(future, TIMEOUT)))
            self.counts["inline requests (typing)"] += 1
            if i == cancel_at:
                await asyncio.sleep(0.01)
                self.client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id=msg_id))
                self.counts["$/cancelRequest sent"] += 1
            await asyncio.sleep(0.060)
        for result in await asyncio.gather(*pending, return_exceptions=True):
            if isinstance(result, BaseException):
                self.counts["inline answered with an error (cancelled etc.)"] += 1
            elif result and result.items:
                self.counts["inline answers with a suggestion"] += 1
        # delete the typed line again: back to the original text
        self.editor.type(self.main_uri, (n, len(line)), "", end=(n + 1, column))
        self.counts["bursts"] += 1

    async def execute(self, command: str, *arguments, msg_id: str | None = None):
        params = types.ExecuteCommandParams(command=command, arguments=list(arguments))
        future = self.client.protocol.send_request_async(types.WORKSPACE_EXECUTE_COMMAND, params,
                                                          msg_id=msg_id or str(uuid.uuid4()))
        return await asyncio.wait_for(future, TIMEOUT)

    async def explain(self) -> None:
        lines = self.main_lines()
        start = self.rng.randrange(0, max(1, len(lines) - 25))
        self.fake.push(reply_text(EXPLANATION, chunk_size=24, delay=0.001))
        try:
            await self.execute("glm.explain", {"uri": self.main_uri, "range": rng_json(start, start + 20)})
            self.counts["explains"] += 1
        except Exception as exc:
            self.fail("explain", exc)

    async def fix(self, i: int) -> None:
        uri = (self.workspace / f"geo_{i}.py").as_uri()
        self.editor.open(uri, HEAD + "".join(BROKEN) + TAIL)
        self.fake.push(fix_reply())
        try:
            await self.execute("glm.fix", {"uri": uri, "range": rng_json(len(HEAD.splitlines()),
                                                                          len(HEAD.splitlines()) + len(BROKEN))})
            await self.editor.wait_idle(timeout=10)
            if self.editor.text(uri) == HEAD + "".join(FIXED) + TAIL:
                self.counts["fixes applied correctly"] += 1
            else:
                self.counts["fixes with unexpected text"] += 1
        except Exception as exc:
            self.fail("fix", exc)
        finally:
            self.editor.close(uri)

    async def provider_error(self, k: int) -> None:
        status = (500, 429, 401)[k % 3]
        self.fake.push(reply_error(status))
        lines = self.main_lines()
        n = self.rng.randrange(11, len(lines) - 1)
        try:
            await asyncio.wait_for(self.client.text_document_inline_completion_async(
                inline_params(self.main_uri, (n, len(lines[n])), False)), TIMEOUT)
        except Exception:
            pass  # an error answer is fine; the server must keep going
        self.counts[f"provider errors injected (HTTP {status})"] += 1

    async def cancelled_explain(self) -> None:
        self.fake.push(stalled_reply())
        msg_id = str(uuid.uuid4())
        task = asyncio.ensure_future(self.execute("glm.explain", {"uri": self.main_uri, "range": rng_json(20, 40)},
                                                  msg_id=msg_id))
        await asyncio.sleep(0.3)
        self.client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id=msg_id))
        with contextlib.suppress(Exception):
            await task
        self.counts["explains cancelled mid-stream"] += 1

    async def cycle(self, i: int) -> None:
        await self.typing()
        if i % 3 == 0:
            await self.explain()
        if i % 4 == 0:
            await self.fix(i)
        if i % 5 == 0:
            await self.provider_error(i // 5)
        if i % 7 == 0:
            await self.cancelled_explain()
        await asyncio.sleep(self.rng.uniform(0.1, 0.5))


# --------------------------------------------------------------------------- main


async def main_async(args) -> None:
    print(f"date:    {datetime.datetime.now().astimezone().isoformat(timespec='seconds')}")
    print(f"machine: {platform.node()}, {cpu_model()}, {os.cpu_count()} CPUs, {platform.system()} "
          f"{platform.release()}, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"python:  {platform.python_version()}; {args.minutes:g} minutes, a sample every {args.sample_seconds:g} s\n",
          flush=True)
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="glm-soak-") as name:
        tmp = Path(name)
        workspace = tmp / "project"
        workspace.mkdir()
        main_uri = (workspace / "orders_main.py").as_uri()
        main_text = CodeGen(rng, 0).python(2000, "orders_main") + "\n"
        fake = FakeGLM().start()
        fake.default = reply_text(ANSWER, chunk_size=len(ANSWER), usage=None)
        client = None
        samples: list[tuple[float, dict, int]] = []
        try:
            client = await start_glm(fake, workspace, tmp, {})
            pid = client._server.pid
            editor = Editor(client, encoding=PRESETS["vscode"].expected_encoding, behaviour="vscode")
            editor.open(main_uri, main_text, "python")
            for i in range(1, 21):
                gen = CodeGen(rng, i)
                module = f"{gen.nouns[0]}_{i}"
                if i % 2:
                    editor.open((workspace / f"{module}.py").as_uri(), gen.python(1000, module) + "\n", "python")
                else:
                    editor.open((workspace / f"{module}.ts").as_uri(), gen.typescript(1000, module) + "\n", "typescript")
            await settle(client)
            soak = Soak(client, editor, fake, main_uri, workspace, args.seed)
            for i in (0, 1):  # warm-up: cycle 0 has every kind of traffic
                await soak.cycle(i)
            soak.counts.clear()
            t0 = time.monotonic()
            end = t0 + args.minutes * 60
            next_sample = t0
            header = (f"{'min':>6} {'RSS MB':>8} {'HWM MB':>8} {'threads':>7} {'fds':>5} {'sockets':>7} {'pipes':>5}"
                      f" {'upstream':>8} {'cycles':>6}")
            print(header, flush=True)
            for i in itertools.count(1):
                now = time.monotonic()
                if now >= next_sample:
                    s = proc_sample(pid)
                    samples.append(((now - t0) / 60, s, len(fake.requests)))
                    print(f"{(now - t0) / 60:6.1f} {s['rss']:8.1f} {s['hwm']:8.1f} {s['threads']:7d} {s['fds']:5d}"
                          f" {s['sockets']:7d} {s['pipes']:5d} {len(fake.requests):8d} {i - 1:6d}", flush=True)
                    next_sample += args.sample_seconds
                    if now >= end:
                        break
                if client._server.returncode is not None:
                    raise RuntimeError(f"the server exited with code {client._server.returncode}")
                await soak.cycle(i)
            await settle(client)
        finally:
            await stop(client)
            fake.stop()

    print("\ntraffic:")
    for key, value in sorted(soak.counts.items()):
        print(f"  {key:<48} {value:7d}")
    print(f"  {'upstream requests the fake received (in all)':<48} {len(fake.requests):7d}")
    for line in soak.failures:
        print(f"  failure: {line}")
    print("\ngrowth (least-squares slope per minute; 'second half' ignores the early samples):")
    half = samples[len(samples) // 2:]
    for key, unit, grew in (
        ("rss", "MB", lambda sl, first, last: sl > 0.5 and last - first > 5),
        ("hwm", "MB", lambda sl, first, last: sl > 0.5 and last - first > 5),
        ("threads", "", lambda sl, first, last: sl > 0.05 and last > first),
        ("fds", "", lambda sl, first, last: sl > 0.05 and last > first),
        ("sockets", "", lambda sl, first, last: sl > 0.05 and last > first),
        ("pipes", "", lambda sl, first, last: sl > 0.05 and last > first),
    ):
        all_slope = slope([(m, s[key]) for m, s, _ in samples])
        half_slope = slope([(m, s[key]) for m, s, _ in half])
        first, last = samples[0][1][key], samples[-1][1][key]
        verdict = "GREW" if grew(half_slope, first, last) else "flat"
        print(f"  {key:<8} first {first:8.1f}  last {last:8.1f} {unit:<2}  slope {all_slope:+8.3f}/min  "
              f"second half {half_slope:+8.3f}/min  -> {verdict}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=30.0, help="how long (default 30)")
    parser.add_argument("--sample-seconds", type=float, default=60.0, help="sampling interval (default 60)")
    parser.add_argument("--seed", type=int, default=20240611)
    args = parser.parse_args(argv)
    if args.minutes <= 0 or args.sample_seconds <= 0:
        parser.error("--minutes and --sample-seconds must be > 0")
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
