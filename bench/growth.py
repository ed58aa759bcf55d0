"""How glm-lsp's server-added completion latency and RSS grow with open buffers and file size.

    python bench/growth.py [--requests 50] [--warmup 5] [--buffers 1,10,50,200]
                           [--sizes 1k,10k,100k,1M,5M] [--no-plot] [--quick]

The method of bench/completion_latency.py part 1: the real server (``python -m glm_lsp
serve`` over stdio, pytest-lsp's client, VS Code capabilities), the fake provider
(tests/fake_glm.py, 127.0.0.1, in a thread of this script) answering at once (one
content chunk, finish without usage, ``[DONE]``), ``completion.debounceMs: 0``, Invoked
``textDocument/inlineCompletion`` requests one at a time;

    server-added = (client: request sent -> response received)
                   - (fake: request arrived -> last byte of its reply written)

A fresh server for every configuration:

1. open buffers: N buffers open in all (1, 10, 50, 200): the current one, a 2,000-line
   Python file, plus N-1 others of 2,000 lines (alternately Python and TypeScript,
   bench/context_build.py's generator, fixed seed), all opened with ``didOpen``.
2. current file size: only the current Python buffer open, of about 1 kB, 10 kB,
   100 kB, 1 MB and 5 MB (the same generator, cut at a line boundary).

Per configuration: a few unrecorded warm-up requests (the first one indexes the open
buffers), then ``--requests`` recorded ones at distinct random spots (line ends when the
file has enough lines, else random columns); the server's VmRSS (/proc/<pid>/status)
after ``initialize`` and after the requests. Printed: p50 / p95 of server-added latency
in ms, RSS in MB, requests that did not reach the fake; plotted (matplotlib, Agg) to
bench/growth_buffers.png and bench/growth_filesize.png. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from completion_latency import (  # noqa: E402  (bench/completion_latency.py)
    ANSWER, Series, cpu_model, glm_inline, percentile, settle, start_glm, stop,
)
from context_build import CodeGen  # noqa: E402
from tests.clients import PRESETS  # noqa: E402
from tests.fake_glm import FakeGLM, reply_text  # noqa: E402
from tests.lsp.editor import Editor  # noqa: E402

SEED = 20240611
OTHER_LINES = 2000
MAIN_LINES = 2000


def parse_size(text: str) -> int:
    text = text.strip().lower()
    mult = {"k": 1000, "m": 1000_000}.get(text[-1], 1)
    return int(float(text.rstrip("km")) * mult)


def label_size(size: int) -> str:
    return f"{size / 1e6:g} MB" if size >= 1e6 else f"{size / 1e3:g} kB"


def python_of_size(size: int, rng: random.Random) -> str:
    """Generated Python of about ``size`` bytes, cut at a line boundary, ending with a newline."""
    lines = max(20, size // 40)
    text = CodeGen(rng, 0).python(lines, "orders_main") + "\n"
    while len(text) < size:  # the generator's lines vary in length: grow until large enough
        lines *= 2
        text = CodeGen(random.Random(rng.random()), 0).python(lines, "orders_main") + "\n"
    cut = text.rfind("\n", 0, size)
    return text[: cut + 1] if cut > 0 else text[:size]


def others(count: int, rng: random.Random, workspace: Path) -> list[tuple[str, str, str]]:
    out = []
    for i in range(1, count + 1):
        gen = CodeGen(rng, i)
        module = f"{gen.nouns[0]}_{i}"
        if i % 2:
            path, language, text = workspace / "src" / f"{module}.py", "python", gen.python(OTHER_LINES, module)
        else:
            path, language, text = workspace / "web" / f"{module}.ts", "typescript", gen.typescript(OTHER_LINES, module)
        out.append((path.as_uri(), language, text + "\n"))
    return out


def spots(text: str, count: int, rng: random.Random) -> list[tuple[int, int]]:
    """Distinct (line, character) spots: line ends of non-blank lines if there are enough, else any columns."""
    lines = text.split("\n")
    nonblank = [n for n, line in enumerate(lines) if line.strip()]
    if len(nonblank) >= count:
        return [(n, len(lines[n])) for n in rng.sample(nonblank, count)]
    every = [(n, c) for n in nonblank for c in range(len(lines[n]) - len(lines[n].lstrip()), len(lines[n]) + 1)]
    return rng.sample(every, min(count, len(every)))


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def one_config(main_text: str, extra, args, tmp: Path) -> dict:
    workspace = tmp / "project"
    workspace.mkdir(exist_ok=True)
    main_uri = (workspace / "orders_main.py").as_uri()
    fake = FakeGLM().start()
    fake.default = reply_text(ANSWER, chunk_size=len(ANSWER), usage=None)
    client = None
    series = Series("inline")
    try:
        client = await start_glm(fake, workspace, tmp, {"debounceMs": 0})
        pid = client._server.pid
        await settle(client)
        rss_initialized = rss_mb(pid)
        editor = Editor(client, encoding=PRESETS["vscode"].expected_encoding, behaviour="vscode")
        t0 = time.monotonic()
        editor.open(main_uri, main_text, "python")
        for uri, language, text in extra:
            editor.open(uri, text, language)
        await settle(client)
        open_s = time.monotonic() - t0
        rng = random.Random(SEED + len(main_text) + len(extra))
        where = spots(main_text, args.warmup + args.requests, rng)
        for i, pos in enumerate(where):
            await glm_inline(client, fake, main_uri, pos, series if i >= args.warmup else None)
        rss_after = rss_mb(pid)
    finally:
        await stop(client)
        fake.stop()
    added = series.added
    return {
        "p50": statistics.median(added) if added else float("nan"),
        "p95": percentile(added, 0.95) if added else float("nan"),
        "rtt50": statistics.median(series.rtt) if series.rtt else float("nan"),
        "n": len(added), "no_upstream": series.no_upstream,
        "rss0": rss_initialized, "rss": rss_after, "open_s": open_s,
    }


def print_row(label: str, r: dict) -> None:
    print(f"  {label:>10}  {r['p50']:8.2f}  {r['p95']:8.2f}  {r['rtt50']:8.2f}  {r['rss0']:8.1f}  {r['rss']:8.1f}"
          f"  {r['open_s']:7.2f}  {r['n']:4d}  {r['no_upstream']:4d}", flush=True)


HEAD = (f"  {'':>10}  {'added50':>8}  {'added95':>8}  {'rtt p50':>8}  {'RSS init':>8}  {'RSS end':>8}"
        f"  {'open s':>7}  {'n':>4}  {'miss':>4}")


def plot(path: Path, title: str, xlabel: str, xs: list[float], ticks: list[str], results: list[dict]) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
    ax1.plot(xs, [r["p50"] for r in results], "o-", label="p50")
    ax1.plot(xs, [r["p95"] for r in results], "s--", label="p95")
    ax1.set_ylabel("server-added latency (ms)")
    ax2.plot(xs, [r["rss"] for r in results], "o-", color="tab:red", label="after requests")
    ax2.plot(xs, [r["rss0"] for r in results], "s--", color="tab:gray", label="after initialize")
    ax2.set_ylabel("RSS (MB)")
    for ax in (ax1, ax2):
        ax.set_xscale("log")
        ax.set_xticks(xs)
        ax.set_xticklabels(ticks)
        ax.minorticks_off()
        ax.set_xlabel(xlabel)
        ax.set_ylim(bottom=0)
        ax.grid(True, alpha=0.3)
        ax.legend()
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


async def main_async(args) -> None:
    print(f"date:    {datetime.datetime.now().astimezone().isoformat(timespec='seconds')}")
    print(f"machine: {platform.node()}, {cpu_model()}, {os.cpu_count()} CPUs, {platform.system()} "
          f"{platform.release()}, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"python:  {platform.python_version()}; {args.requests} recorded requests (+{args.warmup} warm-up) "
          f"per configuration, a fresh server each, debounceMs 0, fake answering at once")
    print("columns: server-added latency p50/p95 and client round trip p50 (ms); RSS after initialize and after "
          "the requests (MB); seconds to open the buffers; n recorded; miss = requests that did not reach the fake\n")
    rng = random.Random(SEED)
    main_text = CodeGen(rng, 0).python(MAIN_LINES, "orders_main") + "\n"
    by_buffers: list[dict] = []
    by_size: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="glm-growth-") as name:
        tmp = Path(name)
        pool = others(max(args.buffers) - 1, random.Random(SEED + 1), tmp / "project")
        print(f"1. open buffers (current: {MAIN_LINES} lines, {len(main_text) / 1e3:.0f} kB; "
              f"others: {OTHER_LINES} lines each)")
        print(HEAD.replace("          ", "   buffers", 1))
        for n in args.buffers:
            r = await one_config(main_text, pool[: n - 1], args, tmp)
            by_buffers.append(r)
            print_row(str(n), r)
        print("\n2. size of the current file (no other buffer open)")
        print(HEAD.replace("          ", "      size", 1))
        for size in args.sizes:
            text = python_of_size(size, random.Random(SEED + size))
            r = await one_config(text, [], args, tmp)
            r["bytes"] = len(text)
            by_size.append(r)
            print_row(label_size(size), r)

    def slope(xs, ys) -> float:
        """Least-squares slope."""
        return statistics.linear_regression(xs, ys).slope if len(set(xs)) > 1 else float("nan")

    print()
    b = args.buffers
    print(f"least-squares growth per extra open buffer ({b[0]} -> {b[-1]}): latency p50 "
          f"{slope(b, [r['p50'] for r in by_buffers]) * 1000:+.1f} us, RSS {slope(b, [r['rss'] for r in by_buffers]):+.3f} MB")
    mb = [r["bytes"] / 1e6 for r in by_size]
    print(f"least-squares growth per MB of current file ({label_size(args.sizes[0])} -> {label_size(args.sizes[-1])}): latency p50 "
          f"{slope(mb, [r['p50'] for r in by_size]):+.2f} ms, RSS {slope(mb, [r['rss'] for r in by_size]):+.1f} MB")
    if not args.no_plot:
        here = ROOT / "bench"
        plot(here / "growth_buffers.png", "glm-lsp: inline completion vs open buffers (2,000 lines each)",
             "open buffers", b, [str(x) for x in b], by_buffers)
        plot(here / "growth_filesize.png", "glm-lsp: inline completion vs size of the current file",
             "current file size", [r["bytes"] for r in by_size], [label_size(s) for s in args.sizes], by_size)
        print(f"plots:   {here / 'growth_buffers.png'}, {here / 'growth_filesize.png'}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=50, help="recorded requests per configuration (default 50)")
    parser.add_argument("--warmup", type=int, default=5, help="unrecorded requests first (default 5)")
    parser.add_argument("--buffers", default="1,10,50,200", help="open-buffer counts (default 1,10,50,200)")
    parser.add_argument("--sizes", default="1k,10k,100k,1M,5M", help="current-file sizes (default 1k,10k,100k,1M,5M)")
    parser.add_argument("--quick", action="store_true", help="15 requests, 3 warm-up")
    parser.add_argument("--no-plot", action="store_true", help="print only (no matplotlib needed)")
    args = parser.parse_args(argv)
    if args.quick:
        args.requests, args.warmup = 15, 3
    args.buffers = sorted(int(x) for x in args.buffers.split(","))
    args.sizes = sorted(parse_size(x) for x in args.sizes.split(","))
    if args.requests < 1 or args.warmup < 1 or min(args.buffers) < 1:
        parser.error("--requests, --warmup and every buffer count must be >= 1")
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
