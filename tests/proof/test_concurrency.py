"""Proof: streamed edits never lose, move or duplicate what the user types, and ten documents stream at once.

Real parts only: the glm-lsp process over stdio (pytest-lsp), the fake GLM provider
on 127.0.0.1, and the simulated editor of ``tests/lsp/editor.py`` answering
``workspace/applyEdit`` the way VS Code or Neovim does.

**100 fixes while the user types.** One server, three documents of small functions.
Each fix targets one function; the fake streams a fenced answer in small delayed
chunks. Meanwhile a simulated user types at random — above, inside and below the
target and in the other documents — from the editor's ``before_apply`` hook (the
keystroke crosses the edit: VS Code then refuses it, Neovim skips it silently),
from ``on_apply`` (right after an edit) and between requests. Every keystroke
inserts a unique token ``⟦uN⟧`` (inline, or as a ``# ⟦uN⟧`` comment line), so what
the user typed can be followed exactly:

* after every applied server edit, the tokens of the document — their order and
  which of them share a line — must be what they were before it (an edit may add
  or remove the model's lines, never the user's characters);
* at the end every token is in its document exactly once, and every order and
  same-line/other-line relation it had with its neighbours when it was typed still
  holds (user keystrokes only insert, so those relations never legitimately change).

The counts (characters lost or moved, sessions stopped by typing inside, sessions
completed over typing outside) are printed; the goal for lost/moved is 0.

**Ten documents at once.** Ten fixes started together (``asyncio.gather``) with
``maxConcurrentRequests: 10``: each ends with its expected text, every upstream
stream ran to its end (none cut), all ten were in flight together, and no edit of
one document carries another document's lines.

No timing thresholds: delays only pace the fake; every wait is bounded and
event-driven. The typing is random; the seed is printed, and ``PROOF_SEED=<n>``
replays it.
"""

from __future__ import annotations

import asyncio
import collections
import json
import os
import random
import re
import time
from dataclasses import dataclass

import pytest

from tests.fake_glm import Done, Finish, Reply, Stall, Text, reply_text
from tests.lsp.conftest import execute, rng
from tests.lsp.editor import Applied, Editor, unit_width

TOKEN = re.compile(r"⟦u\d+⟧")
EMPTY_COMMENT = re.compile(r"[ \t]*#[ \t]*")  # a "# ⟦uN⟧" line once its tokens are taken out
FIXES = 100
DOCS = 3
FUNCTIONS = 4
P_BEFORE_APPLY = 0.12  # a keystroke crossing the edit that just arrived
P_ON_APPLY = 0.35  # a keystroke right after an edit was applied
WHERE = (("above", 0.3), ("inside", 0.2), ("below", 0.3), ("other", 0.2))


def seed_from_env() -> int:
    value = os.environ.get("PROOF_SEED")
    return int(value) if value else random.SystemRandom().randrange(1 << 30)


# --------------------------------------------------------------------------- documents


def plain(line: str) -> str:
    return TOKEN.sub("", line)


def module_text(d: int) -> str:
    parts = [f'"""Module m{d}."""\n', "import math\n", "\n"]
    for k in range(FUNCTIONS):
        parts += [f"def f{d}_{k}(x):\n", f"    total = x + {k}\n", "    return total  # r0\n", "\n"]
    parts.append(f"# end of m{d}\n")
    return "".join(parts)


@dataclass
class Block:
    first: int  # the def line
    ret: int  # the first return line after it, else the line after the def: inside the server's region
    end: int  # the first blank line after it (exclusive end of the block)


def find_block(text: str, name: str) -> Block:
    lines = text.split("\n")
    first = next(i for i, line in enumerate(lines) if plain(line).startswith(f"def {name}("))
    end = next(i for i in range(first + 1, len(lines)) if not lines[i].strip())
    # While the model streams, the region may hold no return line for a moment (the old one
    # passed, the new one not yet written); the line after the def is in the region anyway.
    ret = next((i for i in range(first + 1, end) if plain(lines[i]).strip().startswith("return")), first + 1)
    assert first < ret < end, (name, first, ret, end)
    return Block(first, ret, end)


def fixed_function(block_lines: list[str], n: int, rand: random.Random) -> str:
    """The model's "fix": new step lines, old token-free step/return lines dropped, a new return.

    Lines holding user tokens (typed before the request) are kept verbatim, as a model
    asked to keep everything else does.
    """
    out = [block_lines[0]]
    out += [f"    step_{n}_{j} = {j}" for j in range(rand.randint(1, 3))]
    for line in block_lines[1:]:
        bare = plain(line).strip()
        if not TOKEN.search(line) and (bare.startswith("step_") or bare.startswith("return")):
            continue
        out.append(line)
    out.append(f"    return total  # r{n}")
    return "".join(line + "\n" for line in out)


def without_tokens(lines: list[str]) -> list[str]:
    return [plain(line) for line in lines if not (TOKEN.search(line) and EMPTY_COMMENT.fullmatch(plain(line)))]


def answer(code: str, rand: random.Random) -> str:
    fenced = f"```python\n{code}```"
    if rand.random() < 0.5:
        return f"Here is the fix:\n\n{fenced}\n\nThe return value is now tagged."
    return fenced


# --------------------------------------------------------------------------- the user's tokens


def signature(text: str) -> tuple[tuple[str, ...], ...]:
    """The user's tokens line by line (lines without tokens left out): order and line grouping."""
    return tuple(tuple(found) for line in text.split("\n") if (found := TOKEN.findall(line)))


@dataclass
class Relation:
    """What a token's neighbours were when it was typed (never changed by later keystrokes)."""

    token: str
    prev: str | None
    prev_same_line: bool
    next: str | None
    next_same_line: bool


@dataclass
class SessionLog:
    uri: str
    name: str
    inside: int = 0
    outside: int = 0
    other: int = 0
    crossing: int = 0
    result: object = None
    inside_at: int | None = None  # index in editor.applied of the first edit after the first inside keystroke
    applied_end: int = 0  # len(editor.applied) when the command returned


@dataclass
class Violation:
    """A server edit that changed the user's tokens (lost, duplicated or moved)."""

    uri: str
    lost: list[str]
    duplicated: list[str]
    moved: list[str]
    before: tuple
    after: tuple


class Typist:
    """A user typing unique tokens into the simulated editor, and the books on them."""

    def __init__(self, editor: Editor, uris: list[str], rand: random.Random) -> None:
        self.editor, self.uris, self.rand = editor, uris, rand
        self.count = 0
        self.typed: dict[str, str] = {}  # token -> uri
        self.relations: dict[str, list[Relation]] = collections.defaultdict(list)
        self.violations: list[Violation] = []
        self.session: SessionLog | None = None
        self.edits_checked = 0

    # -- typing ------------------------------------------------------------------------
    def _token(self) -> str:
        self.count += 1
        return f"⟦u{self.count}⟧"

    def _units(self, line: str, index: int) -> int:
        return sum(unit_width(ch, self.editor.encoding) for ch in line[:index])

    def type_in(self, uri: str, lines_allowed: list[int], inline_lines: list[int]) -> str:
        """One keystroke: an inline token on one of ``inline_lines`` or a comment line at column 0 of
        one of ``lines_allowed``; returns the token."""
        text = self.editor.text(uri)
        lines = text.split("\n")
        token = self._token()
        inline_ok = [n for n in inline_lines if n < len(lines) and lines[n].strip()]
        if inline_ok and (not lines_allowed or self.rand.random() < 0.6):
            n = self.rand.choice(inline_ok)
            line = lines[n]
            indent = len(line) - len(line.lstrip(" \t"))
            inside_tokens = {i for m in TOKEN.finditer(line) for i in range(m.start() + 1, m.end())}
            index = self.rand.choice([i for i in range(indent, len(line) + 1) if i not in inside_tokens])
            self.editor.type(uri, (n, self._units(line, index)), token)
        else:
            n = self.rand.choice(lines_allowed)
            line = lines[n] if n < len(lines) else ""
            indent = line[: len(line) - len(line.lstrip(" \t"))] if line.strip() else ""
            self.editor.type(uri, (n, 0), f"{indent}# {token}\n")
        self.typed[token] = uri
        self._relate(uri, token)
        return token

    def _relate(self, uri: str, token: str) -> None:
        order: list[tuple[str, int]] = []
        for number, line in enumerate(self.editor.text(uri).split("\n")):
            order += [(t, number) for t in TOKEN.findall(line)]
        position = next(i for i, (t, _) in enumerate(order) if t == token)
        line_of = order[position][1]
        prev = order[position - 1] if position > 0 else None
        nxt = order[position + 1] if position + 1 < len(order) else None
        self.relations[uri].append(Relation(
            token,
            prev[0] if prev else None, bool(prev and prev[1] == line_of),
            nxt[0] if nxt else None, bool(nxt and nxt[1] == line_of),
        ))

    def type_somewhere(self, target_uri: str | None, name: str | None) -> str:
        """A keystroke above, inside or below the running session's target, or in another document."""
        where = self.rand.choices([w for w, _ in WHERE], [p for _, p in WHERE])[0]
        if target_uri is None or name is None:
            where = "other"
        if where == "other":
            uri = self.rand.choice([u for u in self.uris if u != target_uri] or self.uris)
            count = len(self.editor.text(uri).split("\n"))
            self.type_in(uri, list(range(count - 1)), list(range(count)))
            if self.session is not None:
                self.session.other += 1
            return where
        block = find_block(self.editor.text(target_uri), name)
        count = len(self.editor.text(target_uri).split("\n"))
        if where == "above":
            self.type_in(target_uri, list(range(0, block.first + 1)), list(range(0, block.first)))
        elif where == "inside":
            self.type_in(target_uri, list(range(block.first + 1, block.ret + 1)), list(range(block.first, block.ret + 1)))
        else:
            self.type_in(target_uri, list(range(block.end, count - 1)), list(range(block.end, count)))
        if self.session is not None:
            if where == "inside":
                self.session.inside += 1
                if self.session.inside_at is None:
                    self.session.inside_at = len(self.editor.applied)
            else:
                self.session.outside += 1
        return where

    # -- editor hooks ----------------------------------------------------------------------
    def before_apply(self, params) -> None:
        session = self.session
        if session is not None and self.rand.random() < P_BEFORE_APPLY:
            session.crossing += 1
            self.type_somewhere(session.uri, session.name)

    def on_apply(self, applied: Applied) -> None:
        if applied.outcome is not None:
            for result in applied.outcome.results:
                self._check(result.uri, result.before, result.after)
        session = self.session
        if session is not None and self.rand.random() < P_ON_APPLY:
            self.type_somewhere(session.uri, session.name)

    def _check(self, uri: str, before: str, after: str) -> None:
        self.edits_checked += 1
        old, new = signature(before), signature(after)
        if old == new:
            return
        old_tokens = [t for line in old for t in line]
        new_count = collections.Counter(t for line in new for t in line)
        lost = [t for t in old_tokens if new_count[t] == 0]
        duplicated = [t for t, c in new_count.items() if c > 1 or t not in old_tokens]
        kept = {t for t in old_tokens if new_count[t] == 1}
        def mates(sig):
            return {t: frozenset(x for x in line if x in kept) for line in sig for t in line if t in kept}
        old_mates, new_mates = mates(old), mates(new)
        moved = [t for t in old_tokens if t in kept and old_mates[t] != new_mates[t]]
        old_order = [t for t in old_tokens if t in kept]
        new_order = [t for line in new for t in line if t in kept]
        moved += [a for a, b in zip(old_order, new_order) if a != b and a not in moved]
        self.violations.append(Violation(uri, lost, duplicated, moved, old, new))

    # -- the final books -----------------------------------------------------------------
    def audit(self) -> dict:
        """Tokens lost, duplicated, moved (relations broken) in the editor's final text."""
        lost, duplicated, moved = [], [], set()
        for uri in self.uris:
            text = self.editor.text(uri)
            found = collections.Counter(TOKEN.findall(text))
            mine = [t for t, u in self.typed.items() if u == uri]
            lost += [t for t in mine if found[t] == 0]
            duplicated += [t for t in mine if found[t] > 1]
            strangers = [t for t in found if self.typed.get(t) != uri]
            assert not strangers, f"tokens typed elsewhere (or never) turned up in {uri}: {strangers}"
            place: dict[str, tuple[int, int]] = {}
            for number, line in enumerate(text.split("\n")):
                for column, t in enumerate(TOKEN.findall(line)):
                    place.setdefault(t, (number, column))
            rank = {t: i for i, t in enumerate(sorted(place, key=place.get))}
            for rel in self.relations[uri]:
                if rel.token not in place:
                    continue
                for other, same in ((rel.prev, rel.prev_same_line), (rel.next, rel.next_same_line)):
                    if other is None or other not in place:
                        continue
                    before = other == rel.prev
                    order_ok = (rank[other] < rank[rel.token]) if before else (rank[other] > rank[rel.token])
                    line_ok = (place[other][0] == place[rel.token][0]) == same
                    if not (order_ok and line_ok):
                        moved.add(rel.token)
        chars = lambda tokens: sum(len(t) for t in tokens)  # noqa: E731
        return {
            "typed": len(self.typed),
            "lost": lost,
            "duplicated": duplicated,
            "moved": sorted(moved),
            "chars_typed": chars(self.typed),
            "chars_lost": chars(lost),
            "chars_moved": chars(moved),
        }


# --------------------------------------------------------------------------- 100 fixes while typing


@pytest.mark.parametrize("behaviour,echo,sync", [
    ("vscode", "before", "incremental"),
    ("neovim", "after", "full"),
    ("vscode", "after", "full"),
    ("neovim", "before", "incremental"),
])
async def test_100_streamed_fixes_while_the_user_types(lsp, fake, workspace, capsys, behaviour, echo, sync):
    seed = seed_from_env()
    rand = random.Random(seed)
    started = time.monotonic()
    sessions: list[SessionLog] = []
    async with lsp(behaviour) as client:
        editor = Editor(client, encoding="utf-16" if behaviour == "vscode" else "utf-8",
                        behaviour=behaviour, echo=echo, sync=sync)
        uris = [(workspace / f"m{d}.py").as_uri() for d in range(DOCS)]
        for d, uri in enumerate(uris):
            editor.open(uri, module_text(d))
        typist = Typist(editor, uris, rand)
        editor.before_apply = typist.before_apply
        editor.on_apply = typist.on_apply

        for n in range(1, FIXES + 1):
            for _ in range(rand.randint(0, 2)):  # between requests
                typist.type_somewhere(None, None)
            await editor.wait_idle(quiet=0.0)  # every held echo and keystroke sent before the request
            d, k = rand.randrange(DOCS), rand.randrange(FUNCTIONS)
            uri, name = uris[d], f"f{d}_{k}"
            text = editor.text(uri)
            block = find_block(text, name)
            block_lines = text.split("\n")[block.first:block.end]
            code = fixed_function(block_lines, n, rand)
            fake.push(reply_text(answer(code, rand), chunk_size=rand.randint(6, 18), delay=0.004,
                                 reasoning="checking the return value" if rand.random() < 0.3 else None))
            session = SessionLog(uri, name)
            sessions.append(session)
            typist.session = session
            try:
                session.result = await execute(client, "glm.fix", {"uri": uri, "range": rng(f"{block.first}:0-{block.end}:0")},
                                               timeout=30)
            finally:
                typist.session = None
                session.applied_end = len(editor.applied)
            await editor.wait_idle(quiet=0.05)
            if session.result is not None:  # completed: the function is the model's answer (user tokens aside)
                now = editor.text(uri)
                after = find_block(now, name)
                got = without_tokens(now.split("\n")[after.first:after.end])
                assert got == without_tokens(code.split("\n")[:-1]), (n, name, got, code)
            else:
                assert session.inside > 0, f"fix #{n} returned nothing though the user never typed inside"

        await editor.wait_idle()
        messages = [m.message for m in client.messages]
    elapsed = time.monotonic() - started

    books = typist.audit()
    # "Typing inside stops the stream": no server edit lands in that document afterwards.
    written_after_inside = [
        (i, a.params.edit.document_changes[0].edits)
        for s in sessions if s.inside_at is not None
        for i, a in enumerate(editor.applied[s.inside_at:s.applied_end], s.inside_at)
        if a.outcome is not None and any(r.uri == s.uri and r.splices for r in a.outcome.results)
    ]
    stopped = [s for s in sessions if s.result is None]
    completed = [s for s in sessions if s.result is not None]
    rebased = [s for s in completed if s.outside or s.crossing]
    stop_messages = [m for m in messages if "stopped because you edited inside" in m]
    failures = [m for m in messages if "failed" in m]
    refused = sum(1 for a in editor.applied if not a.result.applied)
    skipped = sum(1 for a in editor.applied if a.skipped)
    lost_in_edits = sum(len(v.lost) for v in typist.violations)
    moved_in_edits = sum(len(v.moved) + len(v.duplicated) for v in typist.violations)
    with capsys.disabled():
        print(
            f"\n[proof/concurrency {behaviour} echo={echo} sync={sync} seed={seed}] "
            f"{FIXES} fixes in {elapsed:.1f} s; {len(editor.applied)} applyEdits "
            f"({refused} refused as stale, {skipped} skipped silently), {typist.edits_checked} checked\n"
            f"  user keystrokes: {books['typed']} tokens, {books['chars_typed']} characters\n"
            f"  characters lost: {books['chars_lost']} ({len(books['lost'])} tokens)   "
            f"moved: {books['chars_moved']} ({len(books['moved'])} tokens)   "
            f"duplicated tokens: {len(books['duplicated'])}   (goal 0)\n"
            f"  server edits that changed the user's tokens: {len(typist.violations)} "
            f"(tokens lost {lost_in_edits}, moved/duplicated {moved_in_edits})\n"
            f"  sessions: {len(stopped)} stopped by typing inside, {len(rebased)} completed over typing "
            f"outside (rebased), {len(completed) - len(rebased)} completed untouched; "
            f"{sum(s.crossing for s in sessions)} keystrokes crossed an edit; "
            f"{sum(1 for s in completed if s.inside)} completed with a keystroke inside typed after the last edit; "
            f"server edits applied after a keystroke inside: {len(written_after_inside)} (goal 0)"
        )
    assert not editor.errors
    assert typist.violations == [], typist.violations[:3]
    assert books["lost"] == [] and books["moved"] == [] and books["duplicated"] == [], books
    assert failures == [], failures
    assert written_after_inside == [], written_after_inside[:3]
    assert len(stop_messages) == len(stopped)
    assert stopped and rebased, "the random typing should both stop and rebase some sessions"
    assert len(fake.requests) == FIXES


# --------------------------------------------------------------------------- ten documents at once


class Gate(Stall):
    """A step that holds a stream until ``n`` requests reached the fake (polled, bounded by the caller)."""

    def __init__(self, fake, n: int) -> None:  # not the dataclass __init__
        self.fake, self.n, self.delay = fake, n, 0.0

    @property
    def seconds(self) -> float:
        return 0.0 if len(self.fake.requests) >= self.n else 0.01


class RoutedReplies:
    """Stands in for the fake's reply queue: the reply is chosen by a marker in the request body.

    The fake records a request and takes its reply under one lock, so ``requests[-1]``
    is the request being answered. Concurrent requests arrive in any order; this
    gives each the reply written for its document.
    """

    def __init__(self, fake, routes: dict[str, Reply]) -> None:
        self.fake, self.routes = fake, dict(routes)
        self.unrouted: list[str] = []

    def extend(self, replies) -> None:
        raise AssertionError("RoutedReplies takes its replies at construction")

    def clear(self) -> None:
        self.routes.clear()

    def __len__(self) -> int:
        return len(self.routes)

    def __bool__(self) -> bool:
        return True  # always answer: an unknown request gets a visible error

    def popleft(self) -> Reply:
        body = self.fake.requests[-1].body
        try:
            prompt = body["messages"][-1]["content"]
        except (TypeError, KeyError, IndexError):
            prompt = json.dumps(body)
        for marker in list(self.routes):
            if marker in prompt:
                return self.routes.pop(marker)
        self.unrouted.append(prompt[-300:])
        return Reply(status=500, body={"error": {"code": "500", "message": "no route"}})


def doc_source(i: int) -> str:
    tag = f"doc{i:02d}"
    return (
        f"# {tag} header\n"
        "\n"
        f"def area_{tag}(r):\n"
        f"    k_{tag} = {i}\n"
        f"    return r * k_{tag}  # {tag} old\n"
        "\n"
        f"print(area_{tag}({i}))  # {tag}\n"
    )


def doc_fixed_target(i: int) -> str:
    tag = f"doc{i:02d}"
    return (
        f"def area_{tag}(r):\n"
        f"    k_{tag} = {i} * 2\n"
        f"    extra_{tag} = r + {i}\n"
        f"    return r * k_{tag} + extra_{tag}  # {tag} new\n"
    )


@pytest.mark.parametrize("behaviour,echo,sync", [("vscode", "before", "incremental"), ("neovim", "after", "full")])
async def test_ten_documents_stream_at_once(lsp, fake, workspace, monkeypatch, capsys, behaviour, echo, sync):
    n_docs = 10
    routes = {}
    for i in range(n_docs):
        text = f"Fixed:\n\n```python\n{doc_fixed_target(i)}```\n"
        pieces = [text[j:j + 9] for j in range(0, len(text), 9)]
        steps = [Gate(fake, n_docs) for _ in range(1000)]  # at most 10 s; then the order check below fails
        steps += [Text(p, delay=0.01) for p in pieces] + [Finish(), Done()]
        # The target, not a context snippet from another open document, picks the reply.
        routes[f"Target, lines 3-5:\n```python\ndef area_doc{i:02d}(r):"] = Reply(steps=steps)
    routed = RoutedReplies(fake, routes)
    monkeypatch.setattr(fake, "_queue", routed)

    async with lsp(behaviour, init_options={"maxConcurrentRequests": n_docs}) as client:
        editor = Editor(client, encoding="utf-16" if behaviour == "vscode" else "utf-8",
                        behaviour=behaviour, echo=echo, sync=sync)
        uris = [(workspace / f"doc{i:02d}.py").as_uri() for i in range(n_docs)]
        for i, uri in enumerate(uris):
            editor.open(uri, doc_source(i))
        results = await asyncio.gather(*(
            execute(client, "glm.fix", {"uri": uri, "range": rng("2:0-5:0")}, timeout=60) for uri in uris
        ))
        await editor.wait_idle()
        texts = [editor.text(uri) for uri in uris]
        messages = [m.message for m in client.messages]

    with capsys.disabled():
        together = bool(fake.requests) and max(r.arrived for r in fake.requests) < min(
            (r.finished or float("inf")) for r in fake.requests)
        print(f"\n[proof/10 documents {behaviour}] {len(fake.requests)} upstream requests, "
              f"{len(editor.applied)} applyEdits, all ten in flight together: {together}")
    assert routed.unrouted == []
    assert messages == []
    for i, (result, text) in enumerate(zip(results, texts)):
        assert result is not None and result["uri"] == uris[i]
        tag = f"doc{i:02d}"
        expected = f"# {tag} header\n\n" + doc_fixed_target(i) + f"\nprint(area_{tag}({i}))  # {tag}\n"
        assert text == expected, (i, text)
    assert len(fake.requests) == n_docs
    for rec in fake.requests:
        assert rec.finished is not None and not rec.disconnected, "an upstream stream did not run to its end"
    # All ten in flight together: the last request arrived before the first stream ended (each
    # stream holds its text until ten requests have arrived, so this is an order, not a timing).
    assert max(r.arrived for r in fake.requests) < min(r.finished for r in fake.requests), \
        "the ten streams were never in flight together (maxConcurrentRequests not honoured?)"
    # No cross-document edits: every edit names one document and carries only that document's lines.
    for applied in editor.applied:
        (change,) = applied.params.edit.document_changes
        i = uris.index(change.text_document.uri)
        for edit in change.edits:
            for line in edit.new_text.split("\n"):
                tags = set(re.findall(r"doc\d\d", line))
                assert tags <= {f"doc{i:02d}"}, (i, line)
