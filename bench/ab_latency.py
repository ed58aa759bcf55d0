"""Interleaved wall-clock A/B of glm-lsp versions: server-added inline completion latency.

On a shared machine the same code runs up to 1.75x slower from one minute to the next,
so two versions measured one after the other cannot be compared. This script starts one
server per source tree (a checkout or ``git worktree`` of another commit; ``.`` is this
one), opens the same buffers in each (completion_latency.py part 1: a 10,000-line Python
buffer and 50 others of 2,000 lines), and sends the same requests to all of them in turn,
alternating the order, so that machine speed changes hit every version alike. Each
server answers 5 warm-up requests and goes quiet first (its redacted copies made), but in the
``opening`` series.

Series:
- ``settled``: Invoked requests at fresh spots, no edits;
- ``opening``: the same right after the warm-up, without waiting for the servers to go
  quiet (back-to-back requests leave no pause for the redacted copies to be made);
- ``keystroke``: a one-character ``didChange`` at the spot, then the request (timed
  from the didChange);
- ``word``: five keystrokes in a row at each spot, a request after every one.

Printed per tree: server-added p50 and p90 (the client's round trip minus the fake
provider's own time for the request, ms) and the ratio of p50s to the first tree.
Instruction counts (bench/instructions.py --tree) are steadier; this is the wall clock.

    git worktree add /tmp/old <commit>
    python bench/ab_latency.py [--series settled] [--requests 200] . /tmp/old
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import completion_latency as cl  # noqa: E402  (the corpus, the fake and the timed request)
from lean_client import LeanClient  # noqa: E402


WORD_KEYSTROKES = 5


async def start(tree: Path, fake, workspace: Path, corpus, env: dict[str, str]) -> LeanClient:
    """glm-lsp from ``tree``, initialized, with the corpus open."""
    here = os.getcwd()
    os.chdir(tree)  # (python -m puts the working directory first on sys.path)
    try:
        client = await LeanClient.start([sys.executable, "-m", "glm_lsp", "serve"], {**env, "PYTHONPATH": str(tree)})
    finally:
        os.chdir(here)
    await cl.open_corpus(client, cl.glm_options(fake), workspace, corpus)
    return client


async def run(args) -> list[cl.Series]:
    trees = [Path(t).resolve() for t in args.trees]
    tmp = Path(tempfile.mkdtemp(prefix="glm-ab-"))
    workspace = tmp / "workspace"
    workspace.mkdir()
    corpus = cl.make_corpus(workspace, args.seed, args.main_lines, 50, 2000)
    main_uri, _, main_text = corpus[0]
    spots = cl.positions(main_text, 5 + args.requests, random.Random(args.seed + 7))
    env = cl.clean_env(tmp)
    env["PYTHONHASHSEED"] = "0"  # the same dict and set orders in every server
    fake = cl.FakeGLM().start()
    fake.default = cl.reply_text(cl.ANSWER, chunk_size=len(cl.ANSWER), usage=None)
    clients: list[LeanClient] = []
    try:
        for tree in trees:
            clients.append(await start(tree, fake, workspace, corpus, env))
        for client in clients:
            for spot in spots[:5]:
                await cl.lean_inline(client, fake, main_uri, spot, None)
        if args.series != "opening":
            for client in clients:
                await cl.until_idle(client.process.pid)
        series = [cl.Series(str(tree)) for tree in trees]
        versions = [2] * len(trees)
        keystrokes = {"settled": 0, "opening": 0, "keystroke": 1, "word": WORD_KEYSTROKES}[args.series]
        for k, (line, character) in enumerate(spots[5:]):
            order = range(len(trees)) if k % 2 == 0 else reversed(range(len(trees)))
            for i in order:
                if not keystrokes:
                    await cl.lean_inline(clients[i], fake, main_uri, (line, character), series[i])
                for typed in range(keystrokes):
                    await cl.lean_inline(clients[i], fake, main_uri, (line, character + typed), series[i],
                                         keystroke=versions[i])
                    versions[i] += 1
    finally:
        for client in clients:
            await client.stop()
        fake.stop()
    return series


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("trees", nargs="+", help="glm-lsp source trees ('.' is this checkout)")
    parser.add_argument("--series", choices=["settled", "opening", "keystroke", "word"], default="settled")
    parser.add_argument("--requests", type=int, default=200, help="spots per tree")
    parser.add_argument("--main-lines", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=20240611)
    args = parser.parse_args(argv)
    series = asyncio.run(run(args))
    print(f"server-added latency, inline completion, series {args.series!r}, {args.requests} spots, "
          f"{args.main_lines}-line buffer + 50 open, servers interleaved (ms)")
    first = None
    for s in series:
        added = sorted(s.added)
        p50, p90 = cl.percentile(added, 0.5), cl.percentile(added, 0.9)
        first = first or p50
        print(f"  {s.name:40s} p50 {p50:6.2f}   p90 {p90:6.2f}   n {len(added)}   "
              f"with a suggestion {s.with_items}   p50 ratio to the first {p50 / first:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
