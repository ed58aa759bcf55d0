"""Neighbouring-tabs context: cost of indexing open buffers and of ranking their windows.

What it measures, on synthetic but realistic-looking code (``glm_lsp.context.neighbors``):

- index: ``NeighborIndex.update`` for every document (50 buffers of 2,000 lines by
  default, half Python, half TypeScript, generated from a fixed seed), total and per
  document; and the memory the finished index holds (tracemalloc, separate build).
- rank: 1,000 ``NeighborIndex.rank`` calls, each with a ~30-line slice of one document
  as the query (that document excluded, as for the buffer being edited); p50, p99 and
  max in milliseconds against the goals p50 <= 2 ms and p99 <= 10 ms. This is the cost
  added to every completion request.
- keystroke: one 1-character insertion at a random place in a 2,000-line document
  (``Document.apply_change``) followed by re-indexing it: what typing costs if the edited
  buffer is re-indexed on every change (the caller may instead re-index it lazily).

The documents share a project-wide vocabulary (``config``, ``logger``, ``result``...),
a domain vocabulary per group of files (orders, sessions, buffers...) and identifiers
of their own, so ranking sees common, shared and unshared identifiers as in a real
workspace. Timings are wall clock (``time.perf_counter``) with the garbage collector on; for rank the
thread's CPU time is printed too, which stays put when other processes load the machine.

Run from the repository root with the project venv:

    python bench/context_build.py [--docs 50] [--lines 2000] [--queries 1000] [--seed 20240611]

Printed: machine and date, then one block per measurement. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import random
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from glm_lsp.context.documents import Document  # noqa: E402
from glm_lsp.context.neighbors import NeighborIndex  # noqa: E402

P50_GOAL_MS = 2.0
P99_GOAL_MS = 10.0

# --------------------------------------------------------------------------- synthetic code

VERBS = (
    "get set load save parse build render update compute validate fetch create delete find apply merge "
    "split format encode decode resolve normalize register dispatch schedule flush refresh sync collect "
    "filter sort emit track prepare finalize"
).split()
DOMAINS = [
    "order invoice payment customer cart product price discount shipment refund".split(),
    "user session token credential password role permission account profile audit".split(),
    "buffer cursor selection document window line range edit snippet completion".split(),
    "request response header socket connection stream packet endpoint route proxy".split(),
    "record table index query cache snapshot column schema migration cursor".split(),
    "widget layout theme panel button dialog menu icon tooltip toolbar".split(),
    "task worker queue job retry deadline batch pipeline scheduler lease".split(),
]
ATTRS = (
    "id name status items count total created_at updated_at metadata options value key timeout size "
    "owner parent children kind label version enabled priority source target limit offset"
).split()
ADJECTIVES = "pending cached raw legacy primary stale draft active remote local partial shadow".split()
PROJECT = "config logger context result data error options settings client registry".split()
PY_TYPES = "str int float bool bytes dict list Optional Sequence Mapping Any".split()
TS_TYPES = "string number boolean unknown Date Record Map Set Promise Array".split()


def snake(*words: str) -> str:
    return "_".join(words)


def camel(*words: str) -> str:
    first, *rest = "_".join(words).split("_")
    return first + "".join(w.capitalize() for w in rest)


def pascal(*words: str) -> str:
    return "".join(w.capitalize() for w in "_".join(words).split("_"))


class CodeGen:
    """Deterministic generator of Python or TypeScript files about a few domain nouns."""

    def __init__(self, rng: random.Random, index: int) -> None:
        self.rng = rng
        primary = DOMAINS[index % len(DOMAINS)]
        secondary = DOMAINS[(index * 3 + 1) % len(DOMAINS)]
        self.nouns = rng.sample(primary, 6) + rng.sample(secondary, 2)
        # identifiers only this file uses
        self.own = [f"{rng.choice(ADJECTIVES)}_{rng.choice(self.nouns)}_{index}_{k}" for k in range(40)]

    def noun(self) -> str:
        return self.rng.choice(self.nouns)

    def word(self) -> str:
        r = self.rng.random()
        if r < 0.2:
            return self.rng.choice(PROJECT)
        if r < 0.35:
            return self.rng.choice(self.own)
        if r < 0.7:
            return snake(self.rng.choice(ADJECTIVES), self.noun())
        return snake(self.noun(), self.rng.choice(ATTRS))

    # -- Python
    def py_function(self, indent: str, method: bool) -> list[str]:
        rng, verb, noun = self.rng, self.rng.choice(VERBS), self.noun()
        args = [self.word() for _ in range(rng.randint(1, 3))]
        sig = ", ".join((["self"] if method else []) + [f"{a}: {rng.choice(PY_TYPES)}" for a in args])
        out = [f"{indent}def {snake(verb, noun)}({sig}) -> {pascal(noun)}:"]
        body = indent + "    "
        out.append(f'{body}"""{verb.capitalize()} the {noun} from {args[0]} ({rng.choice(ATTRS)}).\"\"\"')
        target = self.word()
        owner = "self." if method else ""
        out.append(f"{body}{target} = {owner}{self.word()}.get({args[0]}, {self.word()})")
        for _ in range(rng.randint(2, 9)):
            kind = rng.random()
            if kind < 0.3:
                out.append(f"{body}if {target} is None or {target}.{rng.choice(ATTRS)} > {rng.randint(0, 99)}:")
                out.append(f"{body}    raise {pascal(noun, 'error')}(f\"no {noun} for {{{args[0]}!r}}\")")
            elif kind < 0.55:
                item = self.word()
                out.append(f"{body}for {item} in {target}.{rng.choice(ATTRS)}:")
                out.append(f"{body}    {self.word()}.{camel(rng.choice(VERBS), self.noun())}({item}, {self.word()})")
            elif kind < 0.8:
                out.append(f"{body}{self.word()} = {snake(rng.choice(VERBS), self.noun())}({target}, {self.word()}={self.word()})")
            else:
                out.append(f"{body}logger.debug(\"{verb} %s\", {target}.{rng.choice(ATTRS)})")
        out.append(f"{body}return {target}")
        out.append("")
        return out

    def python(self, lines: int, module: str) -> str:
        rng = self.rng
        out = [f'"""{module}: {", ".join(self.nouns[:3])} handling."""', "", "from __future__ import annotations", ""]
        out += [f"from .{self.noun()}s import {pascal(self.noun())}, {snake(rng.choice(VERBS), self.noun())}" for _ in range(3)]
        out += ["import logging", "", "logger = logging.getLogger(__name__)", ""]
        while len(out) < lines:
            if rng.random() < 0.4:
                noun = self.noun()
                out += [f"class {pascal(rng.choice(ADJECTIVES), noun)}({pascal(noun, 'base')}):", f'    """A {noun}."""', ""]
                for _ in range(rng.randint(2, 5)):
                    out += self.py_function("    ", True)
            else:
                out += self.py_function("", False)
            out.append("")
        return "\n".join(out[:lines])

    # -- TypeScript
    def ts_function(self, indent: str) -> list[str]:
        rng, verb, noun = self.rng, self.rng.choice(VERBS), self.noun()
        args = [camel(self.word()) for _ in range(rng.randint(1, 3))]
        sig = ", ".join(f"{a}: {rng.choice(TS_TYPES)}" for a in args)
        name = camel(verb, noun)
        head = f"{indent}async {name}({sig}): Promise<{pascal(noun)}> {{" if indent else f"export function {name}({sig}): {pascal(noun)} {{"
        out = [head]
        body = indent + "  "
        target = camel(self.word())
        out.append(f"{body}const {target} = {camel(self.word())}.get({args[0]}) ?? {camel(self.word())};")
        for _ in range(rng.randint(2, 9)):
            kind = rng.random()
            if kind < 0.3:
                out.append(f"{body}if (!{target} || {target}.{camel(rng.choice(ATTRS))} > {rng.randint(0, 99)}) {{")
                out.append(f"{body}  throw new {pascal(noun, 'error')}(`no {noun} for ${{{args[0]}}}`);")
                out.append(f"{body}}}")
            elif kind < 0.55:
                item = camel(self.word())
                out.append(f"{body}for (const {item} of {target}.{camel(rng.choice(ATTRS))}) {{")
                out.append(f"{body}  {camel(self.word())}.{camel(rng.choice(VERBS), self.noun())}({item}, {camel(self.word())});")
                out.append(f"{body}}}")
            elif kind < 0.8:
                out.append(f"{body}const {camel(self.word())} = {camel(rng.choice(VERBS), self.noun())}({target}, {{ {camel(self.word())} }});")
            else:
                out.append(f"{body}logger.debug(`{verb} ${{{target}.{camel(rng.choice(ATTRS))}}}`);")
        out.append(f"{body}return {target};")
        out.append(f"{indent}}}")
        out.append("")
        return out

    def typescript(self, lines: int, module: str) -> str:
        rng = self.rng
        out = [f"// {module}: {', '.join(self.nouns[:3])} handling.", ""]
        out += [f'import {{ {pascal(self.noun())}, {camel(rng.choice(VERBS), self.noun())} }} from "./{self.noun()}s";' for _ in range(3)]
        out += ['import { logger } from "./logger";', ""]
        while len(out) < lines:
            if rng.random() < 0.4:
                noun = self.noun()
                out += [f"export class {pascal(rng.choice(ADJECTIVES), noun)} extends {pascal(noun, 'base')} {{"]
                for _ in range(rng.randint(2, 5)):
                    out += self.ts_function("  ")
                out += ["}", ""]
            else:
                out += self.ts_function("")
        return "\n".join(out[:lines])


def make_documents(count: int, lines: int, seed: int) -> list[Document]:
    rng = random.Random(seed)
    docs = []
    for i in range(count):
        gen = CodeGen(rng, i)
        module = f"{gen.nouns[0]}_{i}"
        if i % 2 == 0:
            docs.append(Document(f"file:///work/app/src/{module}.py", gen.python(lines, module), 1, "python"))
        else:
            docs.append(Document(f"file:///work/app/web/{module}.ts", gen.typescript(lines, module), 1, "typescript"))
    return docs


# --------------------------------------------------------------------------- measurement


def ms(seconds: float) -> float:
    return seconds * 1000.0


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=50)
    parser.add_argument("--lines", type=int, default=2000)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--query-lines", type=int, default=30)
    parser.add_argument("--keystrokes", type=int, default=200)
    parser.add_argument("--seed", type=int, default=20240611)
    args = parser.parse_args()

    now = datetime.datetime.now().astimezone()
    print(f"machine: {platform.platform()}, {cpu_model()}, {os.cpu_count()} CPUs")
    print(f"python:  {platform.python_implementation()} {platform.python_version()}")
    print(f"date:    {now:%Y-%m-%d %H:%M %Z}")
    started = time.perf_counter()
    docs = make_documents(args.docs, args.lines, args.seed)
    size = sum(len(d.text) for d in docs)
    print(
        f"corpus:  {len(docs)} documents x {args.lines} lines ({size / 1e6:.1f} MB), seed {args.seed}, "
        f"generated in {time.perf_counter() - started:.1f} s\n"
    )

    # -- index
    index = NeighborIndex()
    per_doc = []
    for doc in docs:
        t0 = time.perf_counter()
        index.update(doc)
        per_doc.append(time.perf_counter() - t0)
    windows = sum(len(e.starts) for e in index._docs.values())
    print("index (NeighborIndex.update, every document once)")
    print(f"  total            {ms(sum(per_doc)):8.1f} ms for {len(docs)} documents, {windows} windows")
    print(f"  per document     {ms(statistics.median(per_doc)):8.2f} ms median, {ms(max(per_doc)):.2f} ms max")
    t0 = time.perf_counter()
    for doc in docs:
        index.update(doc)  # same versions: must be a no-op
    print(f"  unchanged again  {ms(time.perf_counter() - t0) / len(docs) * 1000:8.2f} us per document")
    print(f"  common identifiers ignored: {len(index.common_identifiers())} "
          f"({', '.join(sorted(index.common_identifiers())[:8])}{', ...' if len(index.common_identifiers()) > 8 else ''})")

    tracemalloc.start()
    fresh = NeighborIndex()
    for doc in docs:
        fresh.update(doc)
    held, _peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del fresh
    print(f"  memory held      {held / 2**20:8.1f} MB (tracemalloc; the documents' own text is not counted)\n")

    # -- rank
    rng = random.Random(args.seed + 1)
    source = docs[0]
    lines = source.text.split("\n")
    timings, cpu, found, top = [], [], [], []
    for _ in range(args.queries):
        start = rng.randrange(0, max(1, len(lines) - args.query_lines))
        query = "\n".join(lines[start : start + args.query_lines])
        c0, t0 = time.thread_time(), time.perf_counter()
        results = index.rank(query, exclude_uri=source.uri)
        timings.append(time.perf_counter() - t0)
        cpu.append(time.thread_time() - c0)
        found.append(len(results))
        if results:
            top.append(results[0].score)
    p50, p99 = ms(percentile(timings, 50)), ms(percentile(timings, 99))
    print(f"rank ({args.queries} queries of {args.query_lines} lines from {source.uri.rsplit('/', 1)[-1]}, that document excluded)")
    print(f"  p50              {p50:8.2f} ms   goal <= {P50_GOAL_MS:g} ms   {'met' if p50 <= P50_GOAL_MS else 'MISSED'}")
    print(f"  p99              {p99:8.2f} ms   goal <= {P99_GOAL_MS:g} ms  {'met' if p99 <= P99_GOAL_MS else 'MISSED'}")
    print(f"  mean / max       {ms(statistics.fmean(timings)):8.2f} ms / {ms(max(timings)):.2f} ms")
    print(f"  CPU p50 / p99    {ms(percentile(cpu, 50)):8.2f} ms / {ms(percentile(cpu, 99)):.2f} ms (thread time: "
          "what other processes on the machine do not inflate)")
    print(f"  results          {statistics.fmean(found):8.1f} windows per query on average (limit 20); "
          f"best score median {statistics.median(top) if top else 0:.3f}\n")

    # -- keystroke
    doc = docs[1]
    rng = random.Random(args.seed + 2)
    edit_times, update_times = [], []
    version = doc.version or 0
    for _ in range(args.keystrokes):
        line = rng.randrange(doc.line_count)
        column = rng.randrange(len(doc.line(line)) + 1)
        t0 = time.perf_counter()
        doc.apply_change("x", ((line, column), (line, column)))
        version += 1
        doc.version = version
        t1 = time.perf_counter()
        index.update(doc)
        t2 = time.perf_counter()
        edit_times.append(t2 - t0)
        update_times.append(t2 - t1)
    print(f"keystroke (1-character insert into a {args.lines}-line document, then re-index it; {args.keystrokes} times)")
    print(f"  edit + re-index  {ms(statistics.median(edit_times)):8.2f} ms median, {ms(percentile(edit_times, 99)):.2f} ms p99")
    print(f"  re-index alone   {ms(statistics.median(update_times)):8.2f} ms median, {ms(percentile(update_times, 99)):.2f} ms p99")


if __name__ == "__main__":
    main()
