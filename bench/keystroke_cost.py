"""Per-keystroke and per-completion costs: didChange on big and small files, context building, prompt size.

What it measures (synthetic but realistic code from bench/context_build.py's generator,
fixed seed):

1. One keystroke in our document model, in-process: ``glm_lsp.context.documents.Document
   .apply_change`` for a 1-character insertion at a random spot, then the matching
   1-character deletion (a backspace), on a 5 MB file (~100,000 lines) and on a 50 KB
   file (~1,000 lines). Median, p99 and mean in microseconds over many keystrokes, and
   the ratio 5 MB / 50 KB of the medians: the cost should not depend on the file's size
   (the model re-splits only the touched line).

2. The same keystroke through the server (``python -m glm_lsp serve`` over stdio, driven by
   pytest-lsp's client): both files open, then pairs of measurements, alternating which
   comes first:
   a. a cheap request round trip alone (``workspace/executeCommand glm.usage``);
   b. a ranged ``didChange`` (one character, prepared before the clock starts) followed at
      once by the same request, timed until its answer.
   Since the server handles messages in order, b - a is what handling the didChange costs
   (parsing it, the document update, the typing-rhythm and recent-edit bookkeeping). Printed
   per file: the median of a, the median of b, and the median and p90 of the pairwise
   differences b - a, in microseconds, and how much of it is the client's own send call
   (pytest-lsp turning the params into JSON and writing them). Loopback and scheduling
   noise is of the order of the figure itself, so read the medians, not single values.

3. Context building, in-process: ``glm_lsp.context.builder.ContextBuilder().build(...)``
   with 50 open buffers of 2,000 lines (alternately Python and TypeScript) plus the
   current buffer (2,000 lines of Python), for a completion-sized request: the query is
   the last 1,500 characters of the 120 lines before the cursor and the budget 1,024 tokens
   with recent edits included, as glm_lsp/features/completion.py asks. Settings:
   ``glm_lsp.settings.resolve([Layer("bench", {})], env={}).settings``. The first build
   (it indexes the 50 buffers) is shown apart; then p50/p99 over many builds at random
   cursor lines (wall clock, and the thread's CPU time, which other processes on a busy
   machine do not inflate), against the goals p50 <= 2 ms and p99 <= 10 ms. Repeated with
   a 10,000-line current buffer (the case bench/completion_latency.py times end to end).

4. Tokens sent per completion against sending the whole file: a server with a 2,000-line
   Python file open (plus the same 50 other buffers), ``completion.debounceMs: 0``, the fake
   provider (tests/fake_glm.py) answering at once; N Invoked inline completions at random
   line ends of the file. The fake's replies carry no usage object: its default usage
   (10 prompt tokens) would calibrate the server's token estimator down to a quarter and
   make it pack about four times the snippet budget. For each request the fake received,
   the prompt size is ``TokenEstimator().estimate`` summed over its messages (a fresh
   estimator, not calibrated); printed: mean, min and max per completion, the whole file's
   estimate, and the ratio mean / whole file.

Run from the repository root with the project venv (pytest-lsp is in ``.[test]``):

    python bench/keystroke_cost.py [--keystrokes 5000] [--pairs 400] [--builds 500] [--completions 50]

Printed: machine and date, then one block per part. Timings are wall clock
(``time.perf_counter``/``time.monotonic``) and vary with machine load; nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from lsprotocol import types  # noqa: E402
from pytest_lsp import ClientServerConfig, LanguageClient  # noqa: E402

from context_build import CodeGen  # noqa: E402  (bench/context_build.py: the synthetic code)
from glm_lsp.context.builder import ContextBuilder  # noqa: E402
from glm_lsp.context.documents import Document, DocumentStore  # noqa: E402
from glm_lsp.context.tokens import TokenEstimator  # noqa: E402
from glm_lsp.features.completion import COMPLETION_CONTEXT_TOKENS, CONTEXT_QUERY_CHARS, PREFIX_LINES  # noqa: E402
from glm_lsp.settings import Layer, resolve  # noqa: E402
from tests.clients import PRESETS, capabilities  # noqa: E402
from tests.fake_glm import FakeGLM, reply_text  # noqa: E402

KEY = "bench-key-0123456789abcdef"
TIMEOUT = 20.0
P50_GOAL_MS, P99_GOAL_MS = 2.0, 10.0
BIG, SMALL = 5 * 1000 * 1000, 50 * 1000


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


def python_of_size(rng: random.Random, size: int, index: int) -> str:
    """Generated Python code of about ``size`` characters (cut at a line end)."""
    gen = CodeGen(rng, index)
    lines = max(50, size // 40)
    text = gen.python(lines, f"module_{index}") + "\n"
    while len(text) < size:  # the generator's line length varies: grow until big enough
        lines = int(lines * size / len(text) * 1.05) + 10
        text = gen.python(lines, f"module_{index}") + "\n"
    cut = text.rfind("\n", 0, size)
    return text[: cut + 1]


def others(rng: random.Random, count: int, lines: int, root: Path) -> list[tuple[str, str, str]]:
    """[(uri, language, text)]: ``count`` buffers of ``lines`` lines, alternately Python and TypeScript."""
    out = []
    for i in range(1, count + 1):
        gen = CodeGen(rng, i)
        module = f"{gen.nouns[0]}_{i}"
        if i % 2:
            path, language, text = root / "src" / f"{module}.py", "python", gen.python(lines, module) + "\n"
        else:
            path, language, text = root / "web" / f"{module}.ts", "typescript", gen.typescript(lines, module) + "\n"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8", newline="")
        out.append((path.as_uri(), language, text))
    return out


def random_spot(rng: random.Random, lines: list[str]) -> tuple[int, int]:
    n = rng.randrange(len(lines))
    return n, rng.randrange(len(lines[n]) + 1)


def us(values: list[float]) -> str:
    return (f"median {statistics.median(values) * 1e6:8.2f} us   p99 {percentile(values, 0.99) * 1e6:8.2f} us   "
            f"mean {statistics.fmean(values) * 1e6:8.2f} us   n {len(values)}")


def clean_env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GLM_LSP_") and not k.endswith("_API_KEY")}
    env["ZAI_API_KEY"] = KEY
    env["XDG_CONFIG_HOME"] = str(tmp / "config")
    (tmp / "config").mkdir(exist_ok=True)
    return env


async def start_glm(fake: FakeGLM, workspace: Path, tmp: Path, completion: dict | None = None) -> LanguageClient:
    config = ClientServerConfig(server_command=[sys.executable, "-m", "glm_lsp", "serve"], server_env=clean_env(tmp))
    client: LanguageClient = await config.start()
    options = {"baseUrl": fake.url + "/api/paas/v4", "maxRetries": 0}
    if completion:
        options["completion"] = completion
    await client.initialize_session(
        types.InitializeParams(
            capabilities=capabilities("vscode"),
            client_info=PRESETS["vscode"].client_info(),
            initialization_options=options,
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


def did_open(client: LanguageClient, uri: str, language: str, text: str) -> None:
    client.text_document_did_open(types.DidOpenTextDocumentParams(
        text_document=types.TextDocumentItem(uri=uri, language_id=language, version=1, text=text)))


USAGE = types.ExecuteCommandParams(command="glm.usage")


async def usage(client: LanguageClient) -> None:
    await asyncio.wait_for(client.workspace_execute_command_async(USAGE), TIMEOUT)


# --------------------------------------------------------------------------- 1. in-process keystroke


def keystrokes_in_process(text: str, count: int, rng: random.Random) -> list[float]:
    doc = Document("file:///bench/file.py", text, 1, "python")
    lines = text.split("\n")
    times = []
    for i in range(count // 2):
        n, col = random_spot(rng, lines)
        t0 = time.perf_counter()
        doc.apply_change("x", ((n, col), (n, col)))
        t1 = time.perf_counter()
        doc.apply_change("", ((n, col), (n, col + 1)))  # backspace
        t2 = time.perf_counter()
        times += [t1 - t0, t2 - t1]
    if doc.text != text:
        sys.exit("in-process keystrokes did not restore the document")
    return times


# --------------------------------------------------------------------------- 2. through the server


async def keystrokes_through_server(files: dict[str, tuple[str, str]], pairs: int, workspace: Path, tmp: Path,
                                    seed: int) -> dict[str, tuple[list[float], list[float], list[float]]]:
    """{label: (round trip alone, didChange + round trip, the client's didChange send call)} in seconds."""
    fake = FakeGLM().start()
    client = None
    results: dict[str, tuple[list[float], list[float], list[float]]] = {}
    try:
        client = await start_glm(fake, workspace, tmp)
        uris = {}
        for label, (name, text) in files.items():
            path = workspace / name
            path.write_text(text, encoding="utf-8", newline="")
            uris[label] = path.as_uri()
            did_open(client, uris[label], "python", text)
        for _ in range(30):  # warm-up: both paths, every file
            await usage(client)
        rng = random.Random(seed)
        for label, (name, text) in files.items():
            uri, lines = uris[label], text.split("\n")
            version = 1
            alone, with_change, sends = [], [], []
            for i in range(pairs + 10):
                n, col = random_spot(rng, lines)
                version += 1
                insert = types.DidChangeTextDocumentParams(
                    text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
                    content_changes=[types.TextDocumentContentChangePartial(
                        range=types.Range(types.Position(n, col), types.Position(n, col)), text="x")])
                version += 1
                delete = types.DidChangeTextDocumentParams(
                    text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
                    content_changes=[types.TextDocumentContentChangePartial(
                        range=types.Range(types.Position(n, col), types.Position(n, col + 1)), text="")])
                a = b = send = 0.0
                for first in ((True, False) if i % 2 else (False, True)):
                    if first:
                        t0 = time.perf_counter()
                        await usage(client)
                        a = time.perf_counter() - t0
                    else:
                        t0 = time.perf_counter()
                        client.text_document_did_change(insert)
                        send = time.perf_counter() - t0
                        await usage(client)
                        b = time.perf_counter() - t0
                client.text_document_did_change(delete)  # restore (untimed)
                await usage(client)
                if i >= 10:
                    alone.append(a)
                    with_change.append(b)
                    sends.append(send)
            results[label] = (alone, with_change, sends)
    finally:
        await stop(client)
        fake.stop()
    return results


# --------------------------------------------------------------------------- 3. context build


def context_builds(current_text: str, other_docs, builds: int, root: Path, seed: int):
    """(first build s, [later builds s], [their thread CPU time s], average snippets, average tokens chosen)."""
    settings = resolve([Layer("bench", {})], env={}).settings
    store = DocumentStore()
    for uri, language, text in other_docs:
        store.open(uri, text, 1, language)
    current = store.open((root / "current.py").as_uri(), current_text, 1, "python")
    lines = current_text.split("\n")
    rng = random.Random(seed)

    def query_at(n: int) -> str:
        return "\n".join(lines[max(0, n - PREFIX_LINES):n + 1])[-CONTEXT_QUERY_CHARS:]

    builder = ContextBuilder()
    t0 = time.perf_counter()
    builder.build(store, current, query_at(len(lines) // 2), COMPLETION_CONTEXT_TOKENS, root, settings, with_recent=True)
    first = time.perf_counter() - t0
    times, cpu, chosen, tokens = [], [], [], []
    for _ in range(builds):
        n = rng.randrange(len(lines))
        builder.edited(current.uri, n, "x")  # as typing does: recent edits exist
        query = query_at(n)
        c0, t0 = time.thread_time(), time.perf_counter()
        context = builder.build(store, current, query, COMPLETION_CONTEXT_TOKENS, root, settings, with_recent=True)
        times.append(time.perf_counter() - t0)
        cpu.append(time.thread_time() - c0)
        chosen.append(len(context.snippets))
        tokens.append(sum(s.tokens for s in context.snippets))
    return first, times, cpu, statistics.fmean(chosen), statistics.fmean(tokens)


# --------------------------------------------------------------------------- 4. tokens per completion


async def tokens_per_completion(text: str, other_docs, count: int, workspace: Path, tmp: Path, seed: int):
    """([prompt tokens per request], requests that reached the fake)."""
    fake = FakeGLM().start()
    fake.default = reply_text("value", chunk_size=8, usage=None)  # no usage: see the docstring
    client = None
    try:
        client = await start_glm(fake, workspace, tmp, {"debounceMs": 0})
        for uri, language, other in other_docs:
            did_open(client, uri, language, other)
        path = workspace / "target.py"
        path.write_text(text, encoding="utf-8", newline="")
        uri = path.as_uri()
        did_open(client, uri, "python", text)
        await usage(client)
        lines = text.split("\n")
        rng = random.Random(seed)
        spots = rng.sample([n for n, line in enumerate(lines) if line.strip()], count)
        for n in spots:
            params = types.InlineCompletionParams(
                text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(n, len(lines[n])),
                context=types.InlineCompletionContext(trigger_kind=types.InlineCompletionTriggerKind.Invoked))
            await asyncio.wait_for(client.text_document_inline_completion_async(params), TIMEOUT)
    finally:
        await stop(client)
        fake.stop()
    estimator = TokenEstimator()
    sizes = [sum(estimator.estimate(m["content"]) for m in r.body["messages"]) for r in fake.requests]
    return sizes, len(fake.requests)


# --------------------------------------------------------------------------- main


def header() -> None:
    versions = ", ".join(f"{name} {metadata.version(name)}" for name in ("pygls", "lsprotocol", "pytest-lsp"))
    print(f"date:    {datetime.datetime.now().astimezone().isoformat(timespec='seconds')}")
    print(f"machine: {platform.node()}, {cpu_model()}, {os.cpu_count()} CPUs, {platform.system()} "
          f"{platform.release()}, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"python:  {platform.python_version()} ({sys.executable}); {versions}")


async def main_async(args) -> None:
    rng = random.Random(args.seed)
    big, small = python_of_size(rng, BIG, 100), python_of_size(rng, SMALL, 101)
    print(f"files:   big {len(big) / 1e6:.2f} MB ({big.count(chr(10))} lines), "
          f"small {len(small) / 1e3:.1f} kB ({small.count(chr(10))} lines), seed {args.seed}")
    print()

    print(f"1. one keystroke in Document.apply_change, in-process (1-char insert, then a backspace; "
          f"{args.keystrokes} keystrokes per file)")
    medians = {}
    for label, text in (("5 MB", big), ("50 KB", small)):
        times = keystrokes_in_process(text, args.keystrokes, random.Random(args.seed + 1))
        medians[label] = statistics.median(times)
        print(f"  {label:<6} {us(times)}")
    print(f"  ratio 5 MB / 50 KB (medians): {medians['5 MB'] / medians['50 KB']:.2f} (1 = independent of size)")
    print()

    with tempfile.TemporaryDirectory(prefix="glm-keystroke-cost-") as name:
        tmp = Path(name)
        workspace = tmp / "project"
        workspace.mkdir()
        other_docs = others(random.Random(args.seed + 2), args.others, args.other_lines, workspace)

        print(f"2. one keystroke through the server: didChange + glm.usage round trip minus the round trip alone "
              f"({args.pairs} pairs per file)")
        results = await keystrokes_through_server({"5 MB": ("big.py", big), "50 KB": ("small.py", small)},
                                                  args.pairs, workspace, tmp, args.seed + 3)
        costs = {}
        for label, (alone, with_change, sends) in results.items():
            diffs = [b - a for a, b in zip(alone, with_change)]
            costs[label] = statistics.median(diffs)
            print(f"  {label:<6} round trip alone: median {statistics.median(alone) * 1e6:7.1f} us;  didChange + round "
                  f"trip: median {statistics.median(with_change) * 1e6:7.1f} us")
            print(f"         didChange cost (b - a, pairwise): median {statistics.median(diffs) * 1e6:6.1f} us, "
                  f"p90 {percentile(diffs, 0.9) * 1e6:6.1f} us; of which the client's own send call (pytest-lsp "
                  f"serialisation + write): median {statistics.median(sends) * 1e6:5.1f} us")
        print(f"  difference 5 MB - 50 KB (didChange cost medians): {(costs['5 MB'] - costs['50 KB']) * 1e6:.1f} us")
        print()

        print(f"3. ContextBuilder.build, in-process, {args.others} other buffers of {args.other_lines} lines, "
              f"budget {COMPLETION_CONTEXT_TOKENS} tokens, query = last {CONTEXT_QUERY_CHARS} chars of "
              f"{PREFIX_LINES} lines, recent edits on; {args.builds} builds at random cursor lines")
        current_rng = random.Random(args.seed + 4)
        for lines in (args.other_lines, 10_000):
            current = CodeGen(current_rng, 0).python(lines, "current") + "\n"
            first, times, cpu, chosen, spent = context_builds(current, other_docs, args.builds, workspace,
                                                              args.seed + 5)
            p50, p99 = statistics.median(times) * 1000, percentile(times, 0.99) * 1000
            print(f"  current buffer {lines} lines: first build (indexes the buffers) {first * 1000:.1f} ms; then "
                  f"p50 {p50:.2f} ms, p99 {p99:.2f} ms, max {max(times) * 1000:.2f} ms (wall); thread CPU p50 "
                  f"{statistics.median(cpu) * 1000:.2f} ms, p99 {percentile(cpu, 0.99) * 1000:.2f} ms; "
                  f"{chosen:.1f} snippets, {spent:.0f} tokens chosen on average")
            print(f"    goal p50 <= {P50_GOAL_MS:g} ms: {'met' if p50 <= P50_GOAL_MS else 'MISSED'};  "
                  f"goal p99 <= {P99_GOAL_MS:g} ms: {'met' if p99 <= P99_GOAL_MS else 'MISSED'}")
        print()

        target = CodeGen(random.Random(args.seed + 6), 7).python(2000, "target") + "\n"
        whole = TokenEstimator().estimate(target)
        print(f"4. tokens sent per completion vs the whole file: {args.completions} Invoked inline completions at "
              f"random line ends of a 2,000-line Python file, {args.others} other buffers open")
        sizes, received = await tokens_per_completion(target, other_docs, args.completions, workspace, tmp,
                                                      args.seed + 7)
        if not sizes:
            print("  the fake received no request")
            return
        mean = statistics.fmean(sizes)
        print(f"  per completion: mean {mean:.0f} tokens, min {min(sizes)}, max {max(sizes)} "
              f"({received} requests reached the fake)")
        print(f"  whole file: {whole} tokens ({len(target) / 1e3:.1f} kB)")
        print(f"  ratio per completion / whole file: {mean / whole:.3f} (the whole file would be {whole / mean:.1f}x)")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keystrokes", type=int, default=5000, help="in-process keystrokes per file (default 5000)")
    parser.add_argument("--pairs", type=int, default=400, help="server measurement pairs per file (default 400)")
    parser.add_argument("--builds", type=int, default=500, help="context builds per case (default 500)")
    parser.add_argument("--completions", type=int, default=50, help="completions for the token count (default 50)")
    parser.add_argument("--others", type=int, default=50)
    parser.add_argument("--other-lines", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=20240611)
    args = parser.parse_args(argv)
    if min(args.keystrokes, args.pairs, args.builds, args.completions) < 2:
        parser.error("counts must be >= 2")
    header()
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
