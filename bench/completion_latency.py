"""Inline completion: latency glm-lsp adds, upstream requests per typing burst, and tabby-agent beside it.

What it measures, with the real server (``python -m glm_lsp serve`` over stdio, driven by
pytest-lsp's client with VS Code capabilities, utf-16) and the fake provider
(tests/fake_glm.py, a real HTTP server on 127.0.0.1 in a thread of this process):

1. Server-added latency (goal: p50 <= 2 ms, p99 <= 10 ms). One server with a 10,000-line
   Python buffer plus 50 other open buffers of 2,000 lines (realistic synthetic code,
   alternately Python and TypeScript, from bench/context_build.py's generator), and
   ``completion.debounceMs: 0``. ``textDocument/inlineCompletion`` requests, trigger kind
   Invoked, one at a time, at varied positions of the big buffer (the end of a random
   non-blank line). The fake answers at once: one short content chunk, finish (without a
   usage object: the fake's default usage, 10 prompt tokens, would calibrate the server's
   token estimator down and make it pack ~4x the snippet budget), ``[DONE]``. For each
   request:

       server-added = (client: request sent -> response received)
                      - (fake: request line arrived -> last byte of its reply written)

   Both ends read ``time.monotonic()`` in this process (the fake runs in a thread here),
   so the difference is what the server process costs on top of the provider: JSON-RPC
   in and out over stdio, building the prompt (120 lines before the cursor, 40 after,
   up to 1,024 tokens of snippets ranked from the 50 other buffers), the HTTP request,
   reading the SSE stream and post-processing. The client is bench/lean_client.py (asyncio
   pipes, dicts): pytest-lsp's client reads through a thread pool and converts every
   message to classes, which on this 2-core machine costs about as much as the server's
   work and is not the server's. A few unrecorded warm-up requests come first (the first
   one indexes the 50 buffers); then three recorded series at fresh positions: "right
   after opening" (the server's redacted copies and index of the buffers wait for a
   pause, which back-to-back requests never leave: snippets are redacted as they are
   chosen), "settled" (after the server's CPU time stopped growing, as it
   does a moment after an editor opens files) and "after a keystroke" (a ``didChange``
   typing one character at the spot, then the request for the spot after it: every
   request meets a new version of the 10,000-line document, as when completing while
   typing; the time starts before the didChange is sent). A fourth series, "typing a word",
   does the same five keystrokes in a row at each spot, as a user typing a word does: what
   the server remembers from one keystroke to the next (the ranking, the lines around the
   cursor) shows there. For reference, two floors measured in the same
   run: the round trip of a request that does no work (``workspace/executeCommand
   glm.usage``) on the same connection, and one streamed httpx POST of the last prompt
   to the fake from this process (its added time, computed the same way). And the
   floor of the stack: bench/minimal_completion_server.py (pygls 2 + httpx doing the
   least an inline completion needs) with the same buffers, its requests alternating
   with glm-lsp's at fresh spots, and the ratio of the two server-added p50s.

2. Upstream requests per typing burst (goal: 1). A second server with the default,
   adaptive debounce and the same buffers. Each burst: press Enter at the end of a
   line (a new indented line), pause 1 s, then type 30 characters 60 ms apart
   (``didChange`` per keystroke, as VS Code sends them), sending an Automatic
   inline completion request right after each keystroke without waiting for the
   answer. After the burst every answer is awaited; printed per burst: the upstream
   requests the fake received during it, how many of them the server closed early
   (the fake saw the client disconnect before the reply ended), how many answers
   carried a suggestion, and which keystrokes the upstream requests were for (the
   number of characters typed before the cursor in the prompt; "x" = closed early).
   Done twice: the fake answering at once, and the fake waiting 300 ms before its first
   byte (a model's time to first token), where superseded streams are still open when
   the next keystroke comes.

3. tabby-agent beside it, both driven by pytest-lsp's client (the same client for both,
   so the ratio is fair). ``tabby-agent`` from npm, pinned in bench/tabby/package.json
   (+ package-lock.json; install with ``npm ci --prefix bench/tabby``), started by
   bench/tabby/agent.js as ``tabby-agent --lsp --stdio`` with a temporary HOME whose
   ``.tabby-client/agent/config.toml`` points ``[server] endpoint`` at a fake Tabby
   server in this script (127.0.0.1; ``GET /v1/health``, ``GET /v1beta/server_setting``,
   ``POST /v1/completions`` answered at once with one choice), with a token, debounce
   ``fixed`` 0 ms, logs silent and usage tracking off. The same buffers are opened in
   it. tabby-agent 1.5.0 (the only version the registry offers) registers no
   ``textDocument/inlineCompletion`` handler (its README calls inline completion "WIP";
   it advertises only ``completionProvider``): the script sends one inline request to
   prove it and prints the error, then times tabby-agent's ``textDocument/completion``
   instead. glm-lsp is timed the same way (``textDocument/completion`` with
   ``completion.items: always``) and with its inline completion, at other positions of
   the same buffer (glm-lsp would otherwise serve a spot it has answered from its
   cache). Requests of the three kinds are interleaved. Printed: round trip p50/p95/p99
   for each, each server's added latency (its fake's own time subtracted), and the
   ratios glm-lsp / tabby-agent. If node or the npm install is missing, or tabby-agent
   fails, the reason is printed and glm-lsp's figures still are.

Run from the repository root with the project venv (pytest-lsp is in ``.[test]``):

    (cd bench/tabby && npm ci)        # once, for the tabby-agent comparison
    python bench/completion_latency.py [--requests 200] [--warmup 10] [--bursts 5] [--no-tabby]

Printed: machine, date and versions; then one block per part, in milliseconds. Timings
are wall clock and vary with machine load; nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from lsprotocol import types  # noqa: E402
from pytest_lsp import ClientServerConfig, LanguageClient  # noqa: E402

from context_build import CodeGen  # noqa: E402  (bench/context_build.py: the synthetic code)
from lean_client import LeanClient  # noqa: E402  (bench/lean_client.py: times the server, not the client)
from tests.clients import PRESETS, capabilities  # noqa: E402
from tests.fake_glm import FakeGLM, Reply, Text, reply_text  # noqa: E402
from tests.lsp.editor import Editor  # noqa: E402

KEY = "bench-key-0123456789abcdef"
TIMEOUT = 20.0
P50_GOAL_MS, P99_GOAL_MS = 2.0, 10.0
ANSWER = "value_from_model"  # what both fakes suggest
WORD_KEYSTROKES = 5  # per spot in the "typing a word" series
BURST_TEXT = "total = compute(orders, items)"  # 30 characters, typed one at a time after an Enter and a pause
BURST_INTERVAL = 0.060
TABBY_DIR = ROOT / "bench" / "tabby"


# --------------------------------------------------------------------------- corpus


def make_corpus(workspace: Path, seed: int, main_lines: int, others: int,
                other_lines: int) -> list[tuple[str, str, str]]:
    """[(uri, language, text)]: the big Python buffer first, then the others. Written to disk too."""
    rng = random.Random(seed)
    docs = []
    main = CodeGen(rng, 0).python(main_lines, "orders_main") + "\n"
    docs.append((workspace / "orders_main.py", "python", main))
    for i in range(1, others + 1):
        gen = CodeGen(rng, i)
        module = f"{gen.nouns[0]}_{i}"
        if i % 2:
            docs.append((workspace / "src" / f"{module}.py", "python", gen.python(other_lines, module) + "\n"))
        else:
            docs.append((workspace / "web" / f"{module}.ts", "typescript", gen.typescript(other_lines, module) + "\n"))
    out = []
    for path, language, text in docs:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8", newline="")
        out.append((path.as_uri(), language, text))
    return out


def positions(text: str, count: int, rng: random.Random, avoid: set[int] = frozenset()) -> list[tuple[int, int]]:
    """Distinct (line, end of line) spots on non-blank lines, never on a line in ``avoid``."""
    lines = text.split("\n")
    candidates = [n for n, line in enumerate(lines) if line.strip() and n not in avoid and n > 10]
    return [(n, len(lines[n])) for n in rng.sample(candidates, count)]


# --------------------------------------------------------------------------- helpers


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


def clean_env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GLM_LSP_") and not k.endswith("_API_KEY")}
    env["ZAI_API_KEY"] = KEY
    env["XDG_CONFIG_HOME"] = str(tmp / "config")
    (tmp / "config").mkdir(exist_ok=True)
    return env


def inline_params(uri: str, pos: tuple[int, int], automatic: bool) -> types.InlineCompletionParams:
    kind = types.InlineCompletionTriggerKind.Automatic if automatic else types.InlineCompletionTriggerKind.Invoked
    return types.InlineCompletionParams(
        text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(*pos),
        context=types.InlineCompletionContext(trigger_kind=kind),
    )


def completion_params(uri: str, pos: tuple[int, int]) -> types.CompletionParams:
    return types.CompletionParams(
        text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(*pos),
        context=types.CompletionContext(trigger_kind=types.CompletionTriggerKind.Invoked),
    )


async def start_glm(fake: FakeGLM, workspace: Path, tmp: Path, completion: dict) -> LanguageClient:
    config = ClientServerConfig(server_command=[sys.executable, "-m", "glm_lsp", "serve"], server_env=clean_env(tmp))
    client: LanguageClient = await config.start()
    await client.initialize_session(
        types.InitializeParams(
            capabilities=capabilities("vscode"),
            client_info=PRESETS["vscode"].client_info(),
            initialization_options={"baseUrl": fake.url + "/api/paas/v4", "maxRetries": 0, "completion": completion},
            root_uri=workspace.as_uri(),
            workspace_folders=[types.WorkspaceFolder(uri=workspace.as_uri(), name="project")],
        )
    )
    return client


async def stop(client: LanguageClient | None) -> None:
    if client is None:
        return
    with contextlib.suppress(Exception):
        await asyncio.wait_for(client.shutdown_session(), 5)
    with contextlib.suppress(Exception):
        await client.stop()


async def settle(client: LanguageClient) -> None:
    """A round trip, so every notification sent before it has been handled."""
    params = types.ExecuteCommandParams(command="glm.usage")
    await asyncio.wait_for(client.workspace_execute_command_async(params), TIMEOUT)


def open_all(editor: Editor, corpus) -> None:
    for uri, language, text in corpus:
        editor.open(uri, text, language)


# --------------------------------------------------------------------------- fake Tabby


class FakeTabby:
    """A minimal Tabby server on 127.0.0.1, answering at once; records each request's own time."""

    HEALTH = {
        "model": "TabbyML/StarCoder-1B", "device": "cpu", "arch": "x86_64", "cpu_info": "bench",
        "cpu_count": 1, "cuda_devices": [],
        "version": {"build_date": "2024-05-01", "build_timestamp": "2024-05-01T00:00:00Z",
                    "git_sha": "0000000", "git_describe": "v0.11.1"},
    }

    def __init__(self) -> None:
        self.completions: list[tuple[float, float]] = []  # (arrived, last byte written) per POST /v1/completions
        self.other: list[str] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as Node's fetch uses it

            def log_message(self, *args) -> None:
                pass

            def _reply(self, status: int, obj, arrived: float | None = None) -> None:
                body = json.dumps(obj).encode()
                head = (f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\ncontent-type: application/json\r\n"
                        f"content-length: {len(body)}\r\n\r\n").encode()
                finished = time.monotonic()
                self.wfile.write(head + body)
                self.wfile.flush()
                if arrived is not None:
                    fake.completions.append((arrived, finished))

            def do_GET(self) -> None:
                fake.other.append(f"GET {self.path}")
                if self.path.startswith("/v1/health"):
                    self._reply(200, FakeTabby.HEALTH)
                elif self.path.startswith("/v1beta/server_setting"):
                    self._reply(200, {"disable_client_side_telemetry": True})
                else:
                    self._reply(404, {"error": "not found"})

            def do_POST(self) -> None:
                arrived = self.arrived
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length)
                if self.path.startswith("/v1/completions"):
                    request = json.loads(body or b"{}")
                    fake.last_request = request
                    self._reply(200, {"id": f"cmpl-{len(fake.completions)}",
                                      "choices": [{"index": 0, "text": ANSWER}]}, arrived)
                else:
                    fake.other.append(f"POST {self.path}")
                    self._reply(200, {})

            def parse_request(self) -> bool:  # stamp as soon as the request line is read
                self.arrived = time.monotonic()
                return super().parse_request()

        self.last_request: dict | None = None
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, name="fake-tabby", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> FakeTabby:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


def tabby_version() -> str | None:
    with contextlib.suppress(OSError, ValueError):
        return json.loads((TABBY_DIR / "node_modules" / "tabby-agent" / "package.json").read_text())["version"]
    return None


def tabby_unavailable() -> str | None:
    """Why tabby-agent cannot be started here, or None."""
    node = shutil.which("node")
    if node is None:
        return "node is not on PATH"
    if tabby_version() is None:
        return f"tabby-agent is not installed: run `npm ci` in {TABBY_DIR.relative_to(ROOT)}"
    return None


async def start_tabby(fake: FakeTabby, workspace: Path, home: Path) -> LanguageClient:
    command = [shutil.which("node") or "node", str(TABBY_DIR / "agent.js"), "--home", str(home),
               "--endpoint", fake.url, "--token", "bench-token", "--debounce", "fixed:0"]
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    client: LanguageClient = await ClientServerConfig(server_command=command, server_env=env).start()
    await asyncio.wait_for(client.initialize_session(
        types.InitializeParams(
            capabilities=capabilities("vscode"),
            client_info=types.ClientInfo(name="glm-lsp bench", version="0"),
            root_uri=workspace.as_uri(),
            workspace_folders=[types.WorkspaceFolder(uri=workspace.as_uri(), name="project")],
        )
    ), TIMEOUT)
    return client


# --------------------------------------------------------------------------- part 3


class Series:
    def __init__(self, name: str) -> None:
        self.name = name
        self.rtt: list[float] = []  # ms
        self.added: list[float] = []  # ms
        self.with_items = 0
        self.no_upstream = 0


async def timed(coro) -> tuple[float, object]:
    t0 = time.monotonic()
    result = await asyncio.wait_for(coro, TIMEOUT)
    return time.monotonic() - t0, result


def glm_fake_time(fake: FakeGLM, index: int) -> float | None:
    if index >= len(fake.requests):
        return None
    rec = fake.requests[index]
    end = rec.finished if rec.finished is not None else rec.disconnected_at
    return None if end is None else end - rec.arrived


async def glm_inline(client, fake, uri, pos, series: Series | None) -> None:
    before = len(fake.requests)
    seconds, result = await timed(client.text_document_inline_completion_async(inline_params(uri, pos, False)))
    own = glm_fake_time(fake, before) if len(fake.requests) == before + 1 else None
    record(series, seconds, bool(result and result.items), own)


async def glm_completion(client, fake, uri, pos, series: Series | None) -> None:
    before = len(fake.requests)
    seconds, result = await timed(client.text_document_completion_async(completion_params(uri, pos)))
    own = glm_fake_time(fake, before) if len(fake.requests) == before + 1 else None
    record(series, seconds, bool(result and result.items), own)


async def tabby_completion(client, fake: FakeTabby, uri, pos, series: Series | None) -> None:
    before = len(fake.completions)
    seconds, result = await timed(client.text_document_completion_async(completion_params(uri, pos)))
    own = None
    if len(fake.completions) == before + 1:
        arrived, finished = fake.completions[before]
        own = finished - arrived
    record(series, seconds, bool(result and result.items), own)


def record(series: Series | None, seconds: float, items: bool, own: float | None) -> None:
    if series is None:
        return
    series.rtt.append(seconds * 1000)
    series.with_items += items
    if own is None:
        series.no_upstream += 1
    else:
        series.added.append((seconds - own) * 1000)


def row(label: str, values: list[float]) -> str:
    if not values:
        return f"  {label:<40} (no data)"
    return (f"  {label:<40} p50 {statistics.median(values):7.2f}   p95 {percentile(values, 0.95):7.2f}   "
            f"p99 {percentile(values, 0.99):7.2f}   max {max(values):7.2f}   n {len(values)}")


async def latency_and_comparison(args, corpus, workspace: Path, tmp: Path) -> None:
    main_uri, _, main_text = corpus[0]
    rng = random.Random(args.seed + 1)
    spots_inline = positions(main_text, args.requests + args.warmup, rng)
    spots_items = positions(main_text, args.requests + args.warmup, rng, avoid={n for n, _ in spots_inline})

    inline_s, items_s, tabby_s = Series("glm-lsp inline"), Series("glm-lsp completion"), Series("tabby completion")
    tabby_note = None if not args.no_tabby else "skipped (--no-tabby)"
    tabby_inline_probe = None
    client = tabby = None
    fake = FakeGLM().start()
    fake.default = reply_text(ANSWER, chunk_size=len(ANSWER), usage=None)  # one content chunk, finish, [DONE]
    fake_tabby = FakeTabby().__enter__()
    try:
        t0 = time.monotonic()
        client = await start_glm(fake, workspace, tmp, {"debounceMs": 0, "items": "always"})
        editor = Editor(client, encoding=PRESETS["vscode"].expected_encoding, behaviour="vscode")
        open_all(editor, corpus)
        await settle(client)
        print(f"glm-lsp: started, initialized and {len(corpus)} buffers opened in {time.monotonic() - t0:.1f} s")

        if tabby_note is None:
            tabby_note = tabby_unavailable()
        if tabby_note is None:
            try:
                t0 = time.monotonic()
                home = tmp / "tabby-home"
                home.mkdir()
                tabby = await start_tabby(fake_tabby, workspace, home)
                for uri, language, text in corpus:
                    tabby.text_document_did_open(types.DidOpenTextDocumentParams(
                        text_document=types.TextDocumentItem(uri=uri, language_id=language, version=1, text=text)))
                try:
                    await asyncio.wait_for(tabby.text_document_inline_completion_async(
                        inline_params(main_uri, spots_items[0], False)), TIMEOUT)
                    tabby_inline_probe = "answered (inline completion supported)"
                except Exception as exc:  # JsonRpcMethodNotFound with 1.5.0
                    tabby_inline_probe = f"{type(exc).__name__}: {exc}"
                print(f"tabby-agent {tabby_version()}: started, initialized and {len(corpus)} buffers opened in "
                      f"{time.monotonic() - t0:.1f} s; fake Tabby saw {', '.join(fake_tabby.other) or 'nothing else'}")
            except Exception as exc:
                tabby_note = f"tabby-agent failed to start or answer: {type(exc).__name__}: {exc}"
                await stop(tabby)
                tabby = None

        # warm-up, unrecorded; then the recorded requests, the three kinds interleaved
        for i in range(args.warmup + args.requests):
            recording = i >= args.warmup
            await glm_inline(client, fake, main_uri, spots_inline[i], inline_s if recording else None)
            await glm_completion(client, fake, main_uri, spots_items[i], items_s if recording else None)
            if tabby is not None:
                try:
                    await tabby_completion(tabby, fake_tabby, main_uri, spots_items[i], tabby_s if recording else None)
                except Exception as exc:
                    tabby_note = f"tabby-agent stopped answering: {type(exc).__name__}: {exc}"
                    await stop(tabby)
                    tabby = None
        prompt_tokens = None
        if fake.requests:
            body = fake.requests[-1].body
            prompt_tokens = sum(len(m["content"]) for m in body["messages"]) // 4
        tabby_prompt = None
        if fake_tabby.last_request:
            segments = fake_tabby.last_request.get("segments", {})
            tabby_prompt = sum(len(str(v)) for v in segments.values()) // 4
    finally:
        await stop(client)
        await stop(tabby)
        fake.stop()
        fake_tabby.__exit__()

    print("3. round trip against a fake provider answering at once, glm-lsp vs tabby-agent (ms)")
    print(row("glm-lsp textDocument/inlineCompletion", inline_s.rtt))
    print(row("glm-lsp textDocument/completion", items_s.rtt))
    print(row("  server-added", items_s.added))
    if tabby_note is not None:
        print(f"  tabby-agent: NOT MEASURED: {tabby_note}")
        return
    print(f"  tabby-agent textDocument/inlineCompletion: {tabby_inline_probe}")
    print(row("tabby-agent textDocument/completion", tabby_s.rtt))
    print(row("  server-added", tabby_s.added))
    print(f"  answers with a suggestion: glm-lsp inline {inline_s.with_items}/{len(inline_s.rtt)}, glm-lsp completion "
          f"{items_s.with_items}/{len(items_s.rtt)}, tabby-agent {tabby_s.with_items}/{len(tabby_s.rtt)}; "
          f"requests that did not reach the fake: {items_s.no_upstream} glm-lsp, {tabby_s.no_upstream} tabby-agent")
    print(f"  prompt sent upstream (chars/4): glm-lsp ~{prompt_tokens} tokens, tabby-agent ~{tabby_prompt} tokens")
    if tabby_s.rtt and inline_s.rtt:
        for label, ours in (("inlineCompletion", inline_s), ("completion", items_s)):
            for q, name in ((0.5, "p50"), (0.99, "p99")):
                a, b = percentile(ours.rtt, q), percentile(tabby_s.rtt, q)
                print(f"  ratio glm-lsp {label} / tabby-agent completion, round trip {name}: {a / b:.2f}")
        if items_s.added and tabby_s.added:
            a, b = statistics.median(items_s.added), statistics.median(tabby_s.added)
            print(f"  ratio server-added p50, completion / completion: {a / b:.2f} "
                  "(< 1: glm-lsp adds less)")

# --------------------------------------------------------------------------- part 1


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def until_idle(pid: int, limit: float = 60.0) -> float:
    """Wait until the server's CPU time stops growing (its background copies are made); seconds waited."""
    t0 = time.monotonic()
    with contextlib.suppress(OSError, ValueError, IndexError):
        before = cpu_seconds(pid)
        while time.monotonic() - t0 < limit:
            await asyncio.sleep(0.5)
            now = cpu_seconds(pid)
            if now - before < 0.02:  # under 4 % of a core for half a second
                break
            before = now
    return time.monotonic() - t0


async def lean_inline(client: LeanClient, fake: FakeGLM, uri: str, pos: tuple[int, int], series: Series | None,
                      keystroke: int | None = None):
    """One request, timed; with ``keystroke`` (the document's next version) a character is typed at
    ``pos`` first and the request is for the spot after it, as when completing while typing."""
    before = len(fake.requests)
    t0 = time.monotonic()
    if keystroke is not None:
        client.notify("textDocument/didChange", {
            "textDocument": {"uri": uri, "version": keystroke},
            "contentChanges": [{"range": {"start": {"line": pos[0], "character": pos[1]},
                                          "end": {"line": pos[0], "character": pos[1]}}, "text": "x"}],
        })
        pos = (pos[0], pos[1] + 1)
    result = await asyncio.wait_for(client.request("textDocument/inlineCompletion", {
        "textDocument": {"uri": uri}, "position": {"line": pos[0], "character": pos[1]},
        "context": {"triggerKind": 1},  # Invoked
    }), TIMEOUT)
    seconds = time.monotonic() - t0
    own = glm_fake_time(fake, before) if len(fake.requests) == before + 1 else None
    record(series, seconds, bool(result and result.get("items")), own)


def glm_options(fake: FakeGLM) -> dict:
    """glm-lsp's initializationOptions for part 1: the fake, no retries, no debounce."""
    return {"baseUrl": fake.url + "/api/paas/v4", "maxRetries": 0, "completion": {"debounceMs": 0}}


async def open_corpus(client: LeanClient, options: dict, workspace: Path, corpus, timeout: float = TIMEOUT) -> None:
    """initialize (VS Code's capabilities) with ``options``, initialized, and every buffer opened."""
    from lsprotocol import converters

    await asyncio.wait_for(client.request("initialize", {
        "processId": os.getpid(),
        "capabilities": converters.get_converter().unstructure(capabilities("vscode")),
        "clientInfo": {"name": "Visual Studio Code", "version": "1.95.0"},
        "initializationOptions": options,
        "rootUri": workspace.as_uri(), "workspaceFolders": [{"uri": workspace.as_uri(), "name": "project"}],
    }), timeout)
    client.notify("initialized", {})
    for uri, language, text in corpus:
        client.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": language,
                                                                "version": 1, "text": text}})


async def start_minimal(fake: FakeGLM, workspace: Path, tmp: Path, corpus) -> LeanClient:
    """bench/minimal_completion_server.py, initialized, with the corpus open."""
    client = await LeanClient.start([sys.executable, str(ROOT / "bench" / "minimal_completion_server.py")],
                                    clean_env(tmp))
    await open_corpus(client, {"baseUrl": fake.url + "/api/paas/v4"}, workspace, corpus)
    return client


async def bare_http(fake: FakeGLM, body: dict, count: int) -> list[float]:
    """One streamed POST to the fake with httpx, as the server makes it, minus the fake's own time (ms)."""
    import httpx

    out = []
    async with httpx.AsyncClient() as http:
        for _ in range(count):
            before = len(fake.requests)
            t0 = time.monotonic()
            async with http.stream("POST", fake.url + "/api/paas/v4/chat/completions", json=body,
                                   headers={"Authorization": f"Bearer {KEY}"}) as response:
                async for _chunk in response.aiter_bytes():
                    pass
            seconds = time.monotonic() - t0
            own = glm_fake_time(fake, before)
            if own is not None:
                out.append((seconds - own) * 1000)
    return out


async def server_added(args, corpus, workspace: Path, tmp: Path) -> None:
    """Part 1: what glm-lsp adds to an inline completion, timed by a lean client (bench/lean_client.py)."""
    main_uri, _, main_text = corpus[0]
    rng = random.Random(args.seed + 3)
    word_spots = max(1, args.requests // WORD_KEYSTROKES)
    spots = positions(main_text, args.warmup + 3 * args.requests + word_spots, rng)
    pair_spots = positions(main_text, args.warmup + args.requests, random.Random(args.seed + 5),
                           avoid={line for line, _ in spots})  # (a spot glm-lsp answered would be a cache hit)
    fresh, settled, typing = Series("right after opening"), Series("settled"), Series("after a keystroke")
    word = Series("typing a word")
    paired, minimal = Series("glm-lsp, settled, interleaved"), Series("minimal pygls + httpx server")
    fake = FakeGLM().start()
    fake.default = reply_text(ANSWER, chunk_size=len(ANSWER), usage=None)  # one content chunk, finish, [DONE]
    client = None
    try:
        client = await LeanClient.start([sys.executable, "-m", "glm_lsp", "serve"], clean_env(tmp))
        await open_corpus(client, glm_options(fake), workspace, corpus)
        usage = {"command": "glm.usage"}
        await asyncio.wait_for(client.request("workspace/executeCommand", usage), TIMEOUT)
        for i, spot in enumerate(spots[: args.warmup]):  # the first one indexes the 50 buffers
            await lean_inline(client, fake, main_uri, spot, None)
        pid = client.process.pid
        cpu = {}
        first = args.warmup
        for series, todo in ((fresh, spots[first : first + args.requests]),
                             (settled, spots[first + args.requests : first + 2 * args.requests]),
                             (typing, spots[first + 2 * args.requests : first + 3 * args.requests])):
            if series is settled:
                waited = await until_idle(pid)
            before = cpu_seconds(pid)
            for n, spot in enumerate(todo):
                await lean_inline(client, fake, main_uri, spot, series, keystroke=n + 2 if series is typing else None)
            cpu[series.name] = (cpu_seconds(pid) - before) * 1000 / len(todo)
        before, version = cpu_seconds(pid), args.requests + 2  # (the document's next version)
        for line, column in spots[first + 3 * args.requests :]:
            for k in range(WORD_KEYSTROKES):  # "xxxxx" typed at the spot, a request after each key
                await lean_inline(client, fake, main_uri, (line, column + k), word, keystroke=version)
                version += 1
        cpu[word.name] = (cpu_seconds(pid) - before) * 1000 / (word_spots * WORD_KEYSTROKES)
        floor = []
        for _ in range(50):
            t0 = time.monotonic()
            await asyncio.wait_for(client.request("workspace/executeCommand", usage), TIMEOUT)
            floor.append((time.monotonic() - t0) * 1000)
        last_body = fake.requests[-1].body
        http_floor = await bare_http(fake, last_body, 50)
        bare = await start_minimal(fake, workspace, tmp, corpus)
        try:
            for spot in pair_spots[: args.warmup]:
                await lean_inline(bare, fake, main_uri, spot, None)
            await until_idle(bare.process.pid)
            for n, spot in enumerate(pair_spots[args.warmup :]):  # alternately, so both meet the same machine
                for c, series in ((client, paired), (bare, minimal))[:: 1 if n % 2 else -1]:
                    await lean_inline(c, fake, main_uri, spot, series)
        finally:
            await bare.stop()
    finally:
        if client is not None:
            await client.stop()
        fake.stop()

    print(f"1. server-added latency, inline completion (Invoked), debounceMs 0, {args.requests} requests per "
          f"series (+{args.warmup} warm-up) in a {args.main_lines}-line buffer with {args.others} other buffers "
          "open; timed by a lean stdio client (bench/lean_client.py)")
    print(row("server-added (round trip - fake's own)", settled.added))
    print(row("round trip at the client", settled.rtt))
    print(row("right after opening: server-added", fresh.added))
    print(row("after a keystroke: server-added", typing.added))
    print(row("typing a word: server-added", word.added))
    print(f"  (the settled series ran after the server's CPU went quiet, {waited:.1f} s after the other series: "
          "the redacted copies of the open buffers were made; right after opening they wait for a pause, which "
          "back-to-back requests never leave, and snippets are redacted as they are chosen)")
    print(f"  server CPU time per request (user + system, /proc; steadier than wall clock on a shared machine): "
          f"settled {cpu['settled']:.2f} ms, right after opening {cpu['right after opening']:.2f} ms, after a keystroke {cpu['after a keystroke']:.2f} "
          f"ms, typing a word {cpu['typing a word']:.2f} ms (the didChange included)")
    print(f"  (typing a word: {word_spots} spots, {WORD_KEYSTROKES} keystrokes at each, a request after every one)")
    print(row("for reference: glm.usage round trip", floor))
    print(row("for reference: httpx POST to the fake, added", http_floor))
    print("  (the two references are floors no server in this stack goes under: a request that does no work, "
          "and one streamed HTTP exchange with the fake from Python)")
    print(row("for reference: minimal pygls + httpx server", minimal.added))
    print(row("glm-lsp, settled, interleaved with it", paired.added))
    if minimal.added and paired.added:
        print(f"  ratio glm-lsp / minimal server, server-added p50 (interleaved): "
              f"{statistics.median(paired.added) / statistics.median(minimal.added):.2f}  "
              "(bench/minimal_completion_server.py: the same buffers and requests, on pygls 2 + httpx, doing only "
              "the least an inline completion needs: 160 lines around the cursor in one POST, the stream read, "
              "the text answered; requests alternate between the two servers)")
    for series in (settled, fresh, typing, word):
        if series.added:
            p50, p99 = statistics.median(series.added), percentile(series.added, 0.99)
            print(f"  {series.name}: goal p50 <= {P50_GOAL_MS:g} ms: {'met' if p50 <= P50_GOAL_MS else 'MISSED'} "
                  f"({p50:.2f});  goal p99 <= {P99_GOAL_MS:g} ms: {'met' if p99 <= P99_GOAL_MS else 'MISSED'} "
                  f"({p99:.2f})")
    every = (settled, fresh, typing, word)
    print(f"  answers with a suggestion: {sum(s.with_items for s in every)}/{sum(len(s.rtt) for s in every)};"
          f" requests that did not reach the fake: {sum(s.no_upstream for s in every)}; last prompt "
          f"~{sum(len(m['content']) for m in last_body['messages']) // 4} tokens (chars/4)")


# --------------------------------------------------------------------------- part 2


async def bursts(args, corpus, workspace: Path, tmp: Path, delay: float) -> list[tuple[int, int, int, int]]:
    """[(upstream requests, closed early, answers with a suggestion, requests sent)] per burst."""
    main_uri, _, main_text = corpus[0]
    lines = main_text.split("\n")
    rng = random.Random(args.seed + 2)
    # bursts start at the end of lines that are indented code lines, spread over the file
    candidates = [n for n, line in enumerate(lines) if line.startswith("    ") and line.strip() and n > 10]
    starts = sorted(rng.sample(candidates, args.bursts), reverse=True)  # bottom-up: earlier lines keep their numbers
    fake = FakeGLM().start()
    steps = reply_text(ANSWER, chunk_size=len(ANSWER), usage=None).steps
    fake.default = Reply(steps=[Text(steps[0].text, delay=delay), *steps[1:]])
    client = None
    results = []
    try:
        client = await start_glm(fake, workspace, tmp, {})
        editor = Editor(client, encoding=PRESETS["vscode"].expected_encoding, behaviour="vscode")
        open_all(editor, corpus)
        await settle(client)
        await glm_inline(client, fake, main_uri, (starts[0] - 1, len(lines[starts[0] - 1])), None)  # index the buffers
        await asyncio.sleep(1.0)
        for n in starts:
            line = lines[n]
            indent = line[: len(line) - len(line.lstrip())]
            editor.type(main_uri, (n, len(line)), "\n" + indent)  # Enter (+ auto-indent): keystroke 1
            await asyncio.sleep(1.0)  # the user thinks
            first = len(fake.requests)
            pending = []
            column = len(indent)
            next_at = time.monotonic()
            for ch in BURST_TEXT:  # keystrokes 2-30
                editor.type(main_uri, (n + 1, column), ch)
                column += 1
                pending.append(asyncio.create_task(asyncio.wait_for(
                    client.text_document_inline_completion_async(inline_params(main_uri, (n + 1, column), True)),
                    TIMEOUT)))
                # keystrokes on a 60 ms clock: this client's own work per keystroke (its model of a
                # 10,000-line document) must not stretch the gaps the server sees
                next_at += BURST_INTERVAL
                await asyncio.sleep(max(0.0, next_at - time.monotonic()))
            answers = await asyncio.gather(*pending)
            await asyncio.sleep(0.3 + delay)  # let closed streams show up at the fake
            burst = fake.requests[first:]
            results.append((len(burst), sum(r.disconnected for r in burst), sum(bool(a and a.items) for a in answers),
                            len(pending), [keystroke_of(r) for r in burst]))
            await asyncio.sleep(1.0)
    finally:
        await stop(client)
        fake.stop()
    return results


def keystroke_of(rec) -> str:
    """Which keystroke of the burst a request was for (characters typed before its cursor), from its prompt."""
    try:
        content = rec.body["messages"][-1]["content"]
    except (KeyError, IndexError, TypeError):
        return "?"
    typed = content.split("<|CURSOR|>")[0].rsplit("\n", 1)[-1].lstrip()
    mark = "x" if rec.disconnected else ""
    return f"{len(typed)}{mark}" if BURST_TEXT.startswith(typed) else "?"


def print_bursts(delay: float, results) -> None:
    print(f"  fake's time to first byte {delay * 1000:.0f} ms:")
    for i, (upstream, closed, with_items, sent, which) in enumerate(results, 1):
        print(f"    burst {i}: {sent} inline requests -> {upstream} upstream request(s), {closed} closed early; "
              f"{with_items} answer(s) with a suggestion; upstream for keystroke(s) {', '.join(which) or '-'}")
    total = sum(r[0] for r in results)
    print(f"    mean upstream requests per burst: {total / len(results):.2f} (goal 1); "
          f"closed early: {sum(r[1] for r in results)} of {total}")


# --------------------------------------------------------------------------- main


def header(args) -> None:
    versions = ", ".join(f"{name} {metadata.version(name)}" for name in ("pygls", "lsprotocol", "httpx", "pytest-lsp"))
    node = "not found"
    if shutil.which("node"):
        with contextlib.suppress(Exception):
            node = subprocess.run(["node", "--version"], capture_output=True, text=True, timeout=10).stdout.strip()
    print(f"date:    {datetime.datetime.now().astimezone().isoformat(timespec='seconds')}")
    print(f"machine: {platform.node()}, {cpu_model()}, {os.cpu_count()} CPUs, {platform.system()} "
          f"{platform.release()}, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"python:  {platform.python_version()} ({sys.executable}); {versions}")
    print(f"node:    {node}; tabby-agent {tabby_version() or 'not installed'}")


async def main_async(args) -> None:
    with tempfile.TemporaryDirectory(prefix="glm-completion-latency-") as name:
        tmp = Path(name)
        workspace = tmp / "project"
        workspace.mkdir()
        t0 = time.monotonic()
        corpus = make_corpus(workspace, args.seed, args.main_lines, args.others, args.other_lines)
        size = sum(len(text) for _, _, text in corpus)
        print(f"corpus:  {corpus[0][0].rsplit('/', 1)[-1]} ({args.main_lines} lines, {len(corpus[0][2]) / 1e3:.0f} kB) "
              f"+ {args.others} buffers x {args.other_lines} lines; {size / 1e6:.1f} MB in all, seed {args.seed}, "
              f"generated in {time.monotonic() - t0:.1f} s")
        if not args.skip_latency:
            await server_added(args, corpus, workspace, tmp)
            print()
            await latency_and_comparison(args, corpus, workspace, tmp)
            print()
        print(f"2. upstream requests per burst of 30 keystrokes {BURST_INTERVAL * 1000:.0f} ms apart, an Automatic "
              f"inline request after each, adaptive debounce (default settings)")
        for delay in (0.0, 0.3):
            print_bursts(delay, await bursts(args, corpus, workspace, tmp, delay))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=200, help="recorded requests per kind (default 200)")
    parser.add_argument("--warmup", type=int, default=10, help="unrecorded requests first (default 10)")
    parser.add_argument("--bursts", type=int, default=5, help="typing bursts per provider delay (default 5)")
    parser.add_argument("--main-lines", type=int, default=10_000)
    parser.add_argument("--others", type=int, default=50)
    parser.add_argument("--other-lines", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=20240611)
    parser.add_argument("--no-tabby", action="store_true", help="skip the tabby-agent comparison")
    parser.add_argument("--skip-latency", action="store_true", help="only the typing bursts")
    args = parser.parse_args(argv)
    if args.requests < 1 or args.warmup < 0 or args.bursts < 1:
        parser.error("--requests and --bursts must be >= 1, --warmup >= 0")
    header(args)
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
