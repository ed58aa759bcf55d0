"""Streamed-edit latency: model token sent by the provider -> workspace/applyEdit at the editor.

What it measures, end to end, with the real server process (``python -m glm_lsp serve``
over stdio, driven by pytest-lsp's client) and the fake provider (tests/fake_glm.py,
a real HTTP server on 127.0.0.1 in a thread of this process):

- first token -> first edit: from the moment the fake writes the FIRST content token
  of a fix (the first code line inside the fence, ``def area(r):\\n``) to the moment
  the client's ``workspace/applyEdit`` handler is entered for the first applyEdit of
  the session. Goal: <= 5 ms median.
- last token -> final edit: from the moment the fake writes the LAST content token
  (the closing fence, three backticks, followed at once by the finish chunk,
  ``[DONE]`` and the end of the body) to the moment the client receives the last applyEdit of the
  session (the one that removes the old, broken last line: it can only be sent once
  the answer is complete).

Both are wall-clock intervals on one monotonic clock (``time.monotonic()``, shared by
all processes on Linux). They include the server's processing plus loopback IPC both
ways: fake -> server over HTTP (SSE, chunked), server -> client over stdio pipes, and
the client's JSON-RPC parsing. The fake's per-step send times are real timestamps,
taken just before each step's bytes are written to the socket (``StampingFakeGLM``
below wraps the connection's ``send`` for each reply; tests/fake_glm.py is unchanged).
The client records ``time.monotonic()`` when an applyEdit reaches the simulated editor
(``tests/lsp/editor.py``'s ``Editor``, VS Code behaviour, utf-16, didChange echoed
before the reply, incremental sync), which then applies it and echoes the change as
VS Code does, so the server's edit session runs exactly as with a real editor.

One server for all runs (started and initialized once); each run opens a fresh
document ``geo_<i>.py`` holding a 10-line function with two errors (a missing colon
on the first line, a dangling operator on the last), asks ``glm.fix`` on it, and the
fake answers the opening fence (three backticks and ``python``), a pause (default
50 ms, so earlier work settles), the fixed function one line per step (small delays
between lines), then the closing fence, finish and ``[DONE]``. The final document
text is checked against the expected fix (the script exits with status 1 if it
differs); the document is then closed.
A few unrecorded warm-up runs come first.

Run from the repository root with the project venv (pytest-lsp is in ``.[test]``):

    python bench/edit_latency.py [--runs 50] [--warmup 3] [--pause-ms 50] [--line-delay-ms 5]

Printed: machine and date; a table with p50, p95, min and max in ms and n per metric,
the goal beside it. Nothing is asserted on timing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import os
import platform
import statistics
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lsprotocol import types  # noqa: E402
from pytest_lsp import ClientServerConfig, LanguageClient  # noqa: E402

from tests.clients import PRESETS, capabilities  # noqa: E402
from tests.fake_glm import Done, FakeGLM, Finish, Reply, Text  # noqa: E402
from tests.lsp.editor import Editor  # noqa: E402

KEY = "bench-key-0123456789abcdef"
GOAL_FIRST_MS = 5.0
TIMEOUT = 15.0

HEAD = "import math\n\n\n"
TAIL = "\n\nprint(area(2))\n"
BROKEN = [  # the target: lines 3-12 of the document, two errors (first and last line)
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
FIRST = len(HEAD.splitlines())  # 3: the function's first line
TARGET = {"start": {"line": FIRST, "character": 0}, "end": {"line": FIRST + len(BROKEN), "character": 0}}


class StampingFakeGLM(FakeGLM):
    """The fake provider, also recording when each write of a reply starts.

    ``sends[i]`` holds the ``time.monotonic()`` of every write for request ``i``, taken
    just before the bytes go to the socket: [status line and headers, one per step
    (every step used here renders to a non-empty chunk), the chunked terminator].
    """

    def __init__(self, port: int = 0) -> None:
        super().__init__(port)
        self.sends: dict[int, list[float]] = {}

    async def _reply(self, conn, rec, index, reply, keep):
        stamps = self.sends.setdefault(index, [])
        send = conn.send

        async def stamped(data: bytes, last=None) -> None:
            stamps.append(time.monotonic())
            await send(data, last)

        conn.send = stamped  # this connection object only, for this reply
        try:
            return await super()._reply(conn, rec, index, reply, keep)
        finally:
            del conn.send  # back to the class's method


def script(pause: float, line_delay: float) -> tuple[Reply, int, int]:
    """The fake's reply for one run, and the step indexes of the first and last content tokens."""
    steps: list = [Text("```python\n")]
    first = len(steps)
    for i, line in enumerate(FIXED):
        steps.append(Text(line, delay=pause if i == 0 else line_delay))
    last = len(steps)
    steps += [Text("```", delay=line_delay), Finish(), Done()]
    return Reply(steps=steps), first, last


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    pos = (len(ordered) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def server_env(config_home: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("GLM_LSP_") and not k.endswith("_API_KEY")}  # fmt: skip
    env["ZAI_API_KEY"] = KEY
    env["XDG_CONFIG_HOME"] = config_home
    return env


async def one_run(client: LanguageClient, editor: Editor, fake: StampingFakeGLM, workspace: Path,
                  i: int, pause: float, line_delay: float) -> tuple[float, float, int]:
    """One glm.fix on a fresh document: (first-token latency, last-token latency) in s, applyEdits."""
    reply, first_step, last_step = script(pause, line_delay)
    arrivals: list[float] = []
    uri = (workspace / f"geo_{i}.py").as_uri()

    def stamp(params: types.ApplyWorkspaceEditParams) -> None:
        now = time.monotonic()
        if any(getattr(c, "text_document", None) and c.text_document.uri == uri
               for c in params.edit.document_changes or []):  # fmt: skip
            arrivals.append(now)

    editor.before_apply = stamp
    index = len(fake.requests)
    fake.push(reply)
    editor.open(uri, HEAD + "".join(BROKEN) + TAIL)
    params = types.ExecuteCommandParams(command="glm.fix", arguments=[{"uri": uri, "range": TARGET}])
    result = await asyncio.wait_for(client.workspace_execute_command_async(params), TIMEOUT)
    await editor.wait_idle(quiet=0.02)
    editor.before_apply = None
    text = editor.text(uri)
    editor.close(uri)
    if result is None or text != HEAD + "".join(FIXED) + TAIL:
        sys.exit(f"run {i}: the fix did not produce the expected document (result {result!r}):\n{text}")
    sends = fake.sends.get(index, [])
    if len(sends) != len(reply.steps) + 2:
        sys.exit(f"run {i}: the fake recorded {len(sends)} writes, expected {len(reply.steps) + 2}")
    if not arrivals:
        sys.exit(f"run {i}: no applyEdit reached the editor")
    # sends[0] is the header block, so step k went out with write k + 1.
    first_token, last_token = sends[first_step + 1], sends[last_step + 1]
    return arrivals[0] - first_token, arrivals[-1] - last_token, len(arrivals)


async def main_async(args: argparse.Namespace) -> None:
    pause, line_delay = args.pause_ms / 1000, args.line_delay_ms / 1000
    with tempfile.TemporaryDirectory(prefix="glm-edit-latency-") as tmp, StampingFakeGLM() as fake:
        workspace = Path(tmp) / "project"
        workspace.mkdir()
        (Path(tmp) / "config").mkdir()
        config = ClientServerConfig(
            server_command=[sys.executable, "-m", "glm_lsp", "serve"], server_env=server_env(str(Path(tmp) / "config"))
        )
        client: LanguageClient = await config.start()
        try:
            await client.initialize_session(
                types.InitializeParams(
                    capabilities=capabilities("vscode"),
                    client_info=PRESETS["vscode"].client_info(),
                    initialization_options={"baseUrl": fake.url + "/api/paas/v4", "maxRetries": 0},
                    root_uri=workspace.as_uri(),
                    workspace_folders=[types.WorkspaceFolder(uri=workspace.as_uri(), name="project")],
                )
            )
            editor = Editor(client, encoding=PRESETS["vscode"].expected_encoding, behaviour="vscode",
                            echo="before", sync="incremental")  # fmt: skip
            await asyncio.sleep(0.5)  # let the server load its settings before the first run
            firsts, lasts, counts = [], [], []
            for i in range(args.warmup + args.runs):
                first, last, count = await one_run(client, editor, fake, workspace, i, pause, line_delay)
                if i >= args.warmup:
                    firsts.append(first * 1000)
                    lasts.append(last * 1000)
                    counts.append(count)
        finally:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client.shutdown_session(), 5)
            await client.stop()
    report(args, firsts, lasts, counts)


def report(args: argparse.Namespace, firsts: list[float], lasts: list[float], counts: list[int]) -> None:
    versions = ", ".join(f"{name} {metadata.version(name)}" for name in ("pygls", "lsprotocol", "httpx", "pytest-lsp"))
    print(f"date:    {datetime.datetime.now().astimezone().isoformat(timespec='seconds')}")
    print(f"machine: {platform.node()}, {cpu_model()}, {os.cpu_count()} CPUs, {platform.system()} {platform.release()}")
    print(f"python:  {platform.python_version()} ({sys.executable}); {versions}")
    print(f"runs:    {args.runs} (+{args.warmup} warm-up), one server process; reply: fence, "
          f"{args.pause_ms:g} ms pause, {len(FIXED)} code lines {args.line_delay_ms:g} ms apart, closing fence; "
          f"applyEdits per run: {min(counts)}-{max(counts)}")
    print()
    rows = [
        ("first token -> first applyEdit", firsts, f"p50 <= {GOAL_FIRST_MS:g} ms"),
        ("last token -> final applyEdit", lasts, "-"),
    ]
    print(f"{'metric':<32} {'p50':>8} {'p95':>8} {'min':>8} {'max':>8} {'n':>5}   goal")
    for name, values, goal in rows:
        p50, p95 = statistics.median(values), percentile(values, 0.95)
        print(f"{name:<32} {p50:8.2f} {p95:8.2f} {min(values):8.2f} {max(values):8.2f} {len(values):5d}   {goal}")
    print("(ms; each includes the server's processing plus loopback IPC both ways: fake -> server over HTTP,")
    print(" server -> client over stdio, and the client's JSON-RPC parsing)")
    verdict = "meets" if statistics.median(firsts) <= GOAL_FIRST_MS else "misses"
    print(f"first-edit median {statistics.median(firsts):.2f} ms {verdict} the goal (<= {GOAL_FIRST_MS:g} ms)")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=50, help="recorded runs (default 50)")
    parser.add_argument("--warmup", type=int, default=3, help="unrecorded runs first (default 3)")
    parser.add_argument("--pause-ms", type=float, default=50.0, help="pause before the first code line (default 50)")
    parser.add_argument("--line-delay-ms", type=float, default=5.0, help="delay between later steps (default 5)")
    args = parser.parse_args(argv)
    if args.runs < 1 or args.warmup < 0:
        parser.error("--runs must be >= 1 and --warmup >= 0")
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
