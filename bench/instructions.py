"""Instructions per inline completion (callgrind): what a request costs, free of machine noise.

Wall-clock figures on a shared 2-core machine move by a third from one minute to the
next with the same code. Instructions executed do not: this script runs a server under
valgrind's callgrind with instrumentation off, opens the same buffers as
bench/completion_latency.py part 1 (a 10,000-line Python buffer and 50 others of 2,000
lines), answers a few warm-up requests, waits for the server to go quiet, then turns
instrumentation on for N ``textDocument/inlineCompletion`` requests (Invoked,
``completion.debounceMs: 0``, the fake provider answering at once) and prints the
instructions per request. Two series: "settled" (fresh spots, no edits) and "after a
keystroke" (a one-character ``didChange`` at a fresh spot, then the request after it;
the didChange is counted). The same is measured for bench/minimal_completion_server.py,
the least a pygls 2 + httpx server does for an inline completion, as the floor.

Instruction counts do not show cache misses, which make the same instructions slower
in a busy process; they are for comparing versions (``--tree`` runs glm-lsp from another
checkout's source, e.g. a ``git worktree`` of an older commit), not for latency.

Needs valgrind (``apt-get install valgrind``); without it the reason is printed. About
half a minute per server and series. Run from the repository root with the project venv:

    python bench/instructions.py [--requests 40] [--tree PATH ...] [--no-minimal]
"""

from __future__ import annotations

import argparse
import asyncio
import glob
import os
import random
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import completion_latency as cl  # noqa: E402  (the corpus, the fake and the timed request)
from lean_client import LeanClient  # noqa: E402


TIMEOUT = 600.0  # a server under valgrind runs ~50x slower


async def count(label: str, command: list[str], cwd: Path, pythonpath: str | None, series: str,
                requests: int, seed: int) -> float | None:
    """Million instructions per request of one server, for one series."""
    tmp = Path(tempfile.mkdtemp(prefix="glm-instructions-"))
    workspace = tmp / "workspace"
    workspace.mkdir()
    corpus = cl.make_corpus(workspace, seed, 10_000, 50, 2000)
    main_uri, _, main_text = corpus[0]
    spots = cl.positions(main_text, 5 + requests, random.Random(seed + 3))
    out = tmp / "callgrind.out"
    env = cl.clean_env(tmp)
    env["PYTHONHASHSEED"] = "0"  # the same dict and set orders in every run
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    fake = cl.FakeGLM().start()
    fake.default = cl.reply_text(cl.ANSWER, chunk_size=len(cl.ANSWER), usage=None)
    here = os.getcwd()
    os.chdir(cwd)  # (python -m puts the working directory first on sys.path)
    try:
        client = await LeanClient.start(["valgrind", "-q", "--tool=callgrind", "--instr-atstart=no",
                                         f"--callgrind-out-file={out}", *command], env)
    finally:
        os.chdir(here)
    try:
        if "minimal_completion_server" in " ".join(command):
            options = {"baseUrl": fake.url + "/api/paas/v4"}
        else:
            options = cl.glm_options(fake)
        await cl.open_corpus(client, options, workspace, corpus, TIMEOUT)
        cl.TIMEOUT = TIMEOUT
        for spot in spots[:5]:
            await cl.lean_inline(client, fake, main_uri, spot, None)
        await cl.until_idle(client.process.pid, limit=TIMEOUT)
        subprocess.run(["callgrind_control", "--instr=on", str(client.process.pid)], check=True, capture_output=True)
        recorded = cl.Series(label)
        for n, spot in enumerate(spots[5:]):
            keystroke = n + 2 if series == "after a keystroke" else None
            await cl.lean_inline(client, fake, main_uri, spot, recorded, keystroke=keystroke)
        subprocess.run(["callgrind_control", "--instr=off", str(client.process.pid)], check=True, capture_output=True)
    finally:
        await client.stop()
        fake.stop()
    total = 0
    for name in glob.glob(f"{out}*"):
        for line in Path(name).read_text(errors="replace").splitlines():
            if line.startswith(("summary:", "totals:")):
                total = max(total, int(line.split()[1]))
    shutil.rmtree(tmp, ignore_errors=True)
    if not total or len(recorded.rtt) != requests or recorded.with_items != requests:
        print(f"  {label}: no count ({len(recorded.rtt)} answers, {recorded.with_items} with a suggestion)")
        return None
    return total / requests / 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=40, help="counted requests per server and series")
    parser.add_argument("--tree", action="append", default=[], help="also run glm-lsp from this source tree")
    parser.add_argument("--no-minimal", action="store_true", help="skip the minimal pygls + httpx server")
    parser.add_argument("--seed", type=int, default=20240611)
    args = parser.parse_args(argv)
    if not (shutil.which("valgrind") and shutil.which("callgrind_control")):
        print("instructions: NOT MEASURED: valgrind is not installed (apt-get install valgrind)")
        return 0
    servers = [("glm-lsp", [sys.executable, "-m", "glm_lsp", "serve"], ROOT, None)]
    for tree in args.tree:
        servers.append((f"glm-lsp from {tree}", [sys.executable, "-m", "glm_lsp", "serve"], Path(tree), tree))
    if not args.no_minimal:
        servers.append(("minimal pygls + httpx server",
                        [sys.executable, str(ROOT / "bench" / "minimal_completion_server.py")], ROOT, None))
    print(f"instructions per inline completion (callgrind), {args.requests} requests per series, "
          "10,000-line buffer + 50 open")
    for series in ("settled", "after a keystroke"):
        counts = {}
        for label, command, cwd, pythonpath in servers:
            if series == "after a keystroke" and "minimal" in label:
                continue  # (its keystroke is pygls' own document update: not what this series is about)
            counts[label] = asyncio.run(count(label, command, cwd, pythonpath, series, args.requests, args.seed))
            if counts[label] is not None:
                print(f"  {series}: {label:<40} {counts[label]:7.2f} M instructions per request")
        ours, floor = counts.get("glm-lsp"), counts.get("minimal pygls + httpx server")
        if ours and floor:
            print(f"  {series}: ratio glm-lsp / minimal server {ours / floor:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
