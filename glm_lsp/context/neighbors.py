"""Related code from the other open buffers ("neighbouring tabs"), ranked for the completion prompt.

Copilot's approach: cut every other open buffer into overlapping windows of
lines, and give the model the windows whose identifiers best match the code
around the cursor. Similarity is the Jaccard index of the two sets of
identifier tokens, optionally multiplied by a per-file boost (the caller's
choice: files the current one imports, files edited recently, ...). It is
crude and cheap, and it finds the helper the user is calling, the type they
are filling in, the test next to the code.

It runs on the completion path, so :meth:`NeighborIndex.rank` must take a
couple of milliseconds for 50 buffers of 2,000 lines (``bench/context_build.py``).
Hence:

- Tokenising happens in :meth:`NeighborIndex.update`, once per document
  version; ``rank`` never re-reads a window.
- Each document keeps an inverted index, identifier -> windows holding it,
  and the size of each window's identifier set. A posting is an int with one
  byte per window, so adding up the postings of the query's identifiers
  counts the shared identifiers of every window at once (big-int additions in
  C, several times faster than ``collections.Counter``); Jaccard follows from
  the counts and sizes: ``|Q & W| / (|Q| + |W| - |Q & W|)``. Postings are kept
  per block of :data:`BLOCK_WINDOWS` windows, so an int stays short (a 2,000-line
  document is one block) and a huge file costs memory in proportion to its size.
- The index also keeps, per identifier, the blocks holding it with its posting in
  each, over all documents. A query adds up its ~50 identifiers' postings from there
  per block (~800 hits for 50 documents), instead of trying every identifier in every
  block: ~2,500 lookups in 50 dicts, mostly misses, which on the request path
  (caches cold after the HTTP and JSON work of the last request) cost as much as
  the rest of the ranking.
- Only windows that can make the cut are scored one by one in Python. The
  best ``limit * (1 + overlaps)`` windows are enough (a window overlaps at
  most ``overlaps`` others); a histogram of the counts (``bytes.count``) gives
  the shared count that many windows reach, those are scored first, and then
  only the windows whose count and size could still beat the worst score
  kept. The blocks' counts are joined end to end (one ``bytes`` for all
  documents, in a layout kept per index generation), and the windows to score
  are picked out of it with ``bytes.translate`` masks and ``re.finditer``, in C:
  about 120 of the 10,000 windows in the benchmark.
- Identifiers found in more than a quarter of all windows (and in more than
  :data:`MIN_COMMON_WINDOWS`) are treated as stop words, in the query and in
  the window sizes alike: they are the language's and the project's
  vocabulary (``self``, ``config``, ``logger``) and say nothing about
  relatedness. The set is kept up to date incrementally, without rescanning
  every identifier on each keystroke.

Tokens are ASCII identifiers (:data:`IDENT`) of two or more characters, minus
a stop-list of keywords common to most languages. CJK text is not tokenised:
it occurs in comments and strings, where a run of characters is a whole phrase
(no spaces), so as one token it would almost never match, and splitting it
into words needs a dictionary. Lines are cut to :data:`MAX_LINE_CHARS`
characters before tokenising, so a minified line cannot swamp a window.

Not thread-safe: the server calls it from its one event-loop thread.
"""

from __future__ import annotations

import heapq
import math
import re
from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache
from itertools import repeat
from operator import sub

__all__ = [
    "BLOCK_WINDOWS",
    "COMMON_FRACTION",
    "IDENT",
    "MAX_LINE_CHARS",
    "MIN_COMMON_WINDOWS",
    "NeighborIndex",
    "Scored",
    "Window",
    "identifiers",
]

IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

MAX_LINE_CHARS = 300  # per line, for tokenising only; windows keep the full text
COMMON_FRACTION = 0.25  # an identifier in more than this share of all windows is a stop word...
MIN_COMMON_WINDOWS = 8  # ...if it is also in more than this many (a few small buffers have no vocabulary yet)

# Keywords and near-keywords shared by most languages, and every one-character
# identifier (loop counters and the like carry no meaning). Subtracting this
# set is one C-level set difference.
_STOP = frozenset(
    """
    if else elif for while do return break continue def class function func fn let const var
    import from as in is not and or true false True False None null nil undefined self this
    new public private protected static void int str string bool boolean float double char long
    try catch except finally raise throw throws with yield async await pass lambda package use
    mod pub struct enum interface type impl extends implements super switch case default end then
    local export require include define typeof instanceof delete go defer chan map range select
    mut ref where match loop unsafe crate final abstract override virtual namespace using
    template typename auto unsigned signed short byte sizeof extern inline global nonlocal
    assert del elseif until goto
    """.split()
) | frozenset("_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")

_BREAK = re.compile(r"\r\n|\r|\n")  # LSP's line breaks, as in documents.split_lines

_HOT_DIVISOR = 2  # identifiers tracked as possibly common: df above half the common threshold


def _clip(lines: list[str]) -> list[str]:
    if lines and max(map(len, lines)) > MAX_LINE_CHARS:
        return [line[:MAX_LINE_CHARS] for line in lines]
    return lines


def _tokens(text: str) -> set[str]:
    return set(IDENT.findall(text)) - _STOP


def identifiers(text: str) -> set[str]:
    """The identifier tokens of ``text``: ASCII identifiers of 2+ characters, minus common keywords.

    Each line counts only up to :data:`MAX_LINE_CHARS` characters, as in the index.
    """
    if len(text) > MAX_LINE_CHARS:
        lines = _BREAK.split(text)
        clipped = _clip(lines)
        if clipped is not lines:
            text = "\n".join(clipped)
    return _tokens(text)


@dataclass(frozen=True)
class Window:
    """Lines ``first_line``..``last_line`` (0-based, inclusive) of ``uri``, joined with "\\n"."""

    uri: str
    first_line: int
    last_line: int
    text: str


@dataclass(frozen=True)
class Scored:
    """A ranked window: ``score`` is ``jaccard`` times the document's boost."""

    window: Window
    score: float
    jaccard: float
    reason: str


RANK_MEMO_SIZE = 32  # rank() answers kept while no document changes

BLOCK_WINDOWS = 256  # windows per posting block: a posting int is at most this many bytes


class _Block:
    """Up to BLOCK_WINDOWS consecutive windows of one document, with their postings."""

    __slots__ = ("base", "common_version", "lanes", "size_levels", "sizes", "uncommon_sizes")

    def __init__(self, base: int) -> None:
        self.base = base  # index of the block's first window in the document
        # identifier -> the windows holding it, as an int with one byte per window (byte w is 1
        # if window base + w holds it), so summing the ints of the query's identifiers counts,
        # per window, how many it shares: a few big-int additions instead of a Python loop.
        # Blocks keep these ints short however long the document.
        self.lanes: dict[str, int] = {}
        self.sizes: list[int] = []  # identifiers per window (stop-listed; common ones included)
        # Window sizes without the common identifiers, for the common set of `common_version`,
        # and the same as bytes (capped at 255) for bytes.translate.
        self.uncommon_sizes: list[int] = self.sizes
        self.size_levels = b""
        self.common_version = -1


class _Indexed:
    """What the index keeps for one document version."""

    __slots__ = ("blocks", "crlf", "key", "line_count", "offsets", "starts", "text")

    def __init__(self, key, text: str, crlf: bool, line_count: int, starts, offsets, blocks) -> None:
        self.key = key
        # The text as indexed (the Document changes in place; this string is the one its
        # `.text` returned, so it costs nothing extra until the document changes).
        self.text = text
        self.crlf = crlf
        self.line_count = line_count
        self.starts: list[int] = starts  # first line of each window
        self.offsets: dict[int, int] = offsets  # line -> its offset in text, for window boundaries
        self.blocks: list[_Block] = blocks


class _Layout:
    """Every block of every indexed document, end to end, for one generation of the index
    and one common set. Ranking joins the query's per-window counts in this order and
    picks the windows to score from the joined bytes in C, one pass for all documents."""

    __slots__ = ("blocks", "key", "offsets", "size_levels", "sizes", "starts", "uris", "zeros")

    def __init__(self, key, docs: dict[str, _Indexed]) -> None:
        self.key = key
        self.blocks: list[tuple[str, _Block]] = [(uri, b) for uri, entry in docs.items() for b in entry.blocks]
        self.zeros = [bytes(len(b.sizes)) for _, b in self.blocks]  # a block sharing nothing with the query
        self.offsets = [0] * len(self.blocks)  # position of each block's first window
        self.sizes: list[int] = []  # per position: window size without common identifiers
        self.starts: list[int] = []  # per position: the window's first line
        self.uris: list[str] = []  # per position: the window's document
        for i, (uri, b) in enumerate(self.blocks):
            self.offsets[i] = len(self.sizes)
            self.sizes += b.uncommon_sizes
            self.starts += docs[uri].starts[b.base : b.base + len(b.sizes)]
            self.uris += [uri] * len(b.sizes)
        self.size_levels = b"".join(b.size_levels for _, b in self.blocks)


class _Group:
    """The query's counts for all windows of documents with one boost (zero elsewhere)."""

    __slots__ = ("boost", "counts", "floor", "levels", "scored_from", "top")

    def __init__(self, boost: float, levels: bytes, counts, floor: int, nq: int) -> None:
        self.boost = boost
        self.levels = levels  # per position: query identifiers the window holds, capped at 255
        self.counts = counts  # the same, exact (levels itself unless a count passed 255)
        self.floor = floor  # fewer shared identifiers than this cannot reach min_score
        self.top = next((c for c in range(min(nq, 255), 0, -1) if c in levels), 0)  # (memchr per level)
        self.scored_from = 256  # windows with this many or more are scored


def _lane_counts(lanes: list[int], windows: int) -> tuple[bytes | list[int], bytes]:
    """Per window, how many of ``lanes`` hold it: (exact counts, counts capped at 255 as bytes)."""
    # (at most 255 per sum: no byte can overflow into the next window's)
    return _summed_counts([sum(lanes[i : i + 255]) for i in range(0, len(lanes), 255)] or [0], windows)


def _summed_counts(sums: list[int], windows: int) -> tuple[bytes | list[int], bytes]:
    """Per window, the total of ``sums`` (each a sum of at most 255 postings): (exact counts,
    counts capped at 255 as bytes)."""
    if len(sums) == 1:
        counts = sums[0].to_bytes(windows, "little")
        return counts, counts
    exact = list(map(sum, zip(*(total.to_bytes(windows, "little") for total in sums))))
    return exact, bytes(map(min, exact, repeat(255)))


def _items(mapping: dict | None) -> tuple | None:
    return None if mapping is None else tuple(sorted(mapping.items()))


_ONE = re.compile(b"\x01")


@lru_cache(maxsize=1024)
def _band(low: int, high: int) -> bytes:
    """A bytes.translate table: 1 for counts in [low, high), else 0."""
    return bytes(low <= v < high for v in range(256))


def _in_band(levels: bytes, low: int, high: int):
    """The positions of the bytes of ``levels`` in [low, high). (A mask made by translate and a
    search for its 1s: a regex character class would test every byte, ~4x slower.)"""
    return (m.start() for m in _ONE.finditer(levels.translate(_band(low, high))))


def _least_count(value: float) -> int:
    """The smallest count >= value (with a hair of slack for rounding), as a level 1..255."""
    return min(255, max(1, math.ceil(value - 1e-9)))


class NeighborIndex:
    """Windows of the open documents, indexed by identifier, ranked against the code at the cursor."""

    def __init__(self, window_lines: int = 20, step: int = 10) -> None:
        if window_lines < 1 or step < 1:
            raise ValueError(f"window_lines and step must be >= 1, got {window_lines} and {step}")
        self.window_lines = window_lines
        self.step = step
        self._docs: dict[str, _Indexed] = {}
        self._df: dict[str, int] = {}  # identifier -> windows holding it, over all documents
        # identifier -> [block, its posting there, block, posting, ...] for the blocks holding it
        # (one flat list: the garbage collector has half as many objects to look at as with two)
        self._postings: dict[str, list] = {}
        self._windows = 0  # windows over all documents
        # Common identifiers are a subset of the "hot" ones (df > hot limit), kept up to
        # date as documents change; the hot limit is reset when the window count halves or
        # doubles, so the common set is found by scanning a few dozen hot identifiers.
        self._hot: set[str] = set()
        self._hot_limit = MIN_COMMON_WINDOWS / _HOT_DIVISOR
        self._hot_windows = 0  # window count when the hot limit was set
        self._common: frozenset[str] = frozenset()
        self._common_version = 0
        self._common_dirty = False
        self._generation = 0  # counts changes to the indexed documents
        self._memo: OrderedDict[tuple, list[Scored]] = OrderedDict()  # rank() answers for this generation
        self._memo_generation = 0
        self._layout: _Layout | None = None
        # A window overlaps at most this many others, so the best limit * (1 + this)
        # windows always leave `limit` that don't overlap.
        self._max_overlaps = -(-(2 * window_lines - 1) // step)

    def __len__(self) -> int:
        return len(self._docs)

    def __contains__(self, uri: object) -> bool:
        return uri in self._docs

    # ------------------------------------------------------------------ indexing

    def update(self, doc) -> None:
        """(Re)index ``doc`` (a :class:`~glm_lsp.context.documents.Document`) if it changed since last time.

        Changed means a different ``version``; a document without a version is
        compared by a hash of its text.
        """
        key = doc.version
        if key is None:
            key = ("text", hash(doc.text))
        old = self._docs.get(doc.uri)
        if old is not None and old.key == key:
            return
        entry = self._build(key, doc.text)
        if old is not None:
            self._account(old, -1)
        self._docs[doc.uri] = entry
        self._account(entry, +1)

    def forget(self, uri: str) -> None:
        """Drop a document (closed in the editor). Unknown URIs are ignored."""
        old = self._docs.pop(uri, None)
        if old is not None:
            self._account(old, -1)

    def _window_starts(self, n: int) -> list[int]:
        size = self.window_lines
        if n <= size:
            return [0]
        starts = list(range(0, n - size + 1, self.step))
        if starts[-1] + size < n:  # the last window ends at the last line
            starts.append(n - size)
        return starts

    def _build(self, key, text: str) -> _Indexed:
        crlf = "\r" in text
        lines = _BREAK.split(text) if crlf else text.split("\n")
        n, size = len(lines), self.window_lines
        starts = self._window_starts(n)
        # Cut the text at every window boundary; each stretch between cuts is tokenised
        # once, and a window's identifiers are the union of its stretches' (two with 20/10).
        cuts = sorted({*starts, *(min(s + size, n) for s in starts)})
        if crlf:
            line_offsets = [0, *(m.end() for m in _BREAK.finditer(text)), len(text) + 1]
            offsets = {cut: line_offsets[cut] for cut in cuts}
        else:
            offsets, position, previous = {}, 0, 0
            for cut in cuts:
                position += sum(map(len, lines[previous:cut])) + cut - previous
                offsets[cut] = position
                previous = cut
        stretches = list(zip(cuts, cuts[1:]))
        if max(map(len, lines)) > MAX_LINE_CHARS:
            clipped = _clip(lines)
            pieces = [_tokens("\n".join(clipped[a:b])) for a, b in stretches]
        else:
            pieces = [_tokens(text[offsets[a] : offsets[b]]) for a, b in stretches]
        piece_at = {cut: i for i, cut in enumerate(cuts)}
        # For each stretch, {block: bits of the block's windows that contain it}.
        piece_lanes: list[dict[int, int]] = [{} for _ in pieces]
        blocks = [_Block(base) for base in range(0, len(starts), BLOCK_WINDOWS)]
        for w, start in enumerate(starts):
            a, b = piece_at[start], piece_at[min(start + size, n)]
            block, local = divmod(w, BLOCK_WINDOWS)
            blocks[block].sizes.append(len(set().union(*pieces[a:b])))
            bit = 1 << (8 * local)
            for i in range(a, b):
                piece_lanes[i][block] = piece_lanes[i].get(block, 0) + bit
        for piece, parts in zip(pieces, piece_lanes):
            # (a stretch between windows, when step > window_lines, is in none: parts is empty)
            for block, lane in parts.items():
                lanes = blocks[block].lanes
                get = lanes.get
                for token in piece:
                    lanes[token] = get(token, 0) | lane
        return _Indexed(key, text, crlf, n, starts, offsets, blocks)

    def _account(self, entry: _Indexed, sign: int) -> None:
        """Add (+1) or remove (-1) a document's windows from the global counts."""
        self._windows += sign * len(entry.starts)
        if not (self._hot_windows / 2 <= self._windows <= self._hot_windows * 2):
            self._rescan_hot()  # the thresholds moved a lot; rescan (rare: log2 times while loading)
        df, hot, limit, postings = self._df, self._hot, self._hot_limit, self._postings
        for block in entry.blocks:
            if sign > 0:
                for token, lane in block.lanes.items():
                    count = df.get(token, 0) + lane.bit_count()
                    df[token] = count
                    if count > limit:
                        hot.add(token)
                    if token in postings:
                        postings[token] += (block, lane)
                    else:
                        postings[token] = [block, lane]
            else:
                for token, lane in block.lanes.items():
                    count = df[token] - lane.bit_count()
                    if count:
                        df[token] = count
                        pairs = postings[token]
                        at = pairs.index(block)  # (a block is never == a posting int)
                        del pairs[at : at + 2]
                    else:
                        del df[token]
                        del postings[token]
                    if count <= limit:
                        hot.discard(token)
        self._common_dirty = True
        self._generation += 1  # every ranking may change
        self._layout = None  # (rebuilt by the next rank; not holding on to forgotten documents)

    def _rescan_hot(self) -> None:
        self._hot_windows = self._windows
        self._hot_limit = self._common_threshold(self._windows) / _HOT_DIVISOR
        limit = self._hot_limit
        self._hot = {token for token, count in self._df.items() if count > limit}

    @staticmethod
    def _common_threshold(windows: int) -> float:
        return max(COMMON_FRACTION * windows, MIN_COMMON_WINDOWS)

    def _refresh_common(self) -> frozenset[str]:
        if self._common_dirty:
            threshold, df = self._common_threshold(self._windows), self._df
            common = frozenset(token for token in self._hot if df[token] > threshold)
            if common != self._common:
                self._common = common
                self._common_version += 1
            self._common_dirty = False
        return self._common

    def common_identifiers(self) -> frozenset[str]:
        """The identifiers currently ignored as too common (for diagnostics and tests)."""
        return self._refresh_common()

    def _discount_common(self, block: _Block, common: frozenset[str]) -> None:
        """Recompute a block's window sizes without the (new) common identifiers."""
        lanes = block.lanes
        shared = lanes.keys() & common
        if shared:
            counts, _ = _lane_counts([lanes[t] for t in shared], len(block.sizes))
            block.uncommon_sizes = list(map(sub, block.sizes, counts))
        else:
            block.uncommon_sizes = block.sizes
        block.size_levels = bytes(map(min, block.uncommon_sizes, repeat(255)))
        block.common_version = self._common_version

    # ------------------------------------------------------------------ ranking

    def rank(
        self,
        query: str,
        *,
        exclude_uri: str,
        boosts: dict[str, float] | None = None,
        limit: int = 20,
        min_score: float = 0.05,
        boost_reasons: dict[str, str] | None = None,
    ) -> list[Scored]:
        """The windows most similar to ``query`` from every indexed document but ``exclude_uri``.

        Score = Jaccard(identifiers(query), identifiers(window)) * ``boosts.get(uri, 1.0)``;
        windows scoring below ``min_score`` are dropped, and a boost of 0 hides a
        document. Best first, ties by (uri, first_line); a window overlapping a
        better one of the same URI is skipped, so no line is returned twice.
        ``boost_reasons`` (uri -> text, e.g. "imported by the current file") is
        appended to the reason of that URI's results.
        """
        if limit <= 0:
            return []
        common = self._refresh_common()
        wanted = identifiers(query) - common
        if not wanted:
            return []
        # While the user types, the identifiers around the cursor stay the same for most
        # keystrokes (until a word is finished): the same question gets the same answer.
        key = (frozenset(wanted), exclude_uri, _items(boosts), limit, min_score, _items(boost_reasons))
        if self._memo_generation != self._generation:
            self._memo.clear()
            self._memo_generation = self._generation
        if key in self._memo:
            self._memo.move_to_end(key)
            return list(self._memo[key])
        results = self._rank(wanted, common, exclude_uri, boosts, limit, min_score, boost_reasons)
        self._memo[key] = results
        if len(self._memo) > RANK_MEMO_SIZE:
            self._memo.popitem(last=False)
        return list(results)

    def _layout_now(self, common: frozenset[str]) -> _Layout:
        key = (self._generation, self._common_version)
        if self._layout is None or self._layout.key != key:
            for entry in self._docs.values():
                for block in entry.blocks:
                    if block.common_version != self._common_version:
                        self._discount_common(block, common)
            self._layout = _Layout(key, self._docs)
        return self._layout

    def _rank(self, wanted, common, exclude_uri, boosts, limit, min_score, boost_reasons) -> list[Scored]:
        nq = len(wanted)
        layout = self._layout_now(common)

        # 1. Per block: how many query identifiers each window holds (big-int additions of the
        # postings, at most 255 per sum so no byte overflows into the next window's), joined in
        # layout order, one joined bytes per boost.
        shared: dict[_Block, list[int]] = {}  # block -> its sums of the query's postings
        postings = self._postings
        tokens = list(wanted)
        for first in range(0, nq, 255):  # (one round unless the query has more than 255 identifiers)
            sums: dict[_Block, int] = {}
            get = sums.get
            for token in tokens[first : first + 255]:
                pairs = postings.get(token)
                if pairs:
                    pairs = iter(pairs)
                    for block, lane in zip(pairs, pairs):
                        sums[block] = get(block, 0) + lane
            for block, total in sums.items():
                shared.setdefault(block, []).append(total)
        parts: dict[float, list[bytes]] = {}
        exact: dict[int, list[int]] = {}  # block -> exact counts, when some passed 255
        for i, (uri, block) in enumerate(layout.blocks):
            sums = shared.get(block)
            if sums is None or uri == exclude_uri:
                continue
            boost = 1.0 if boosts is None else boosts.get(uri, 1.0)
            if boost <= 0:
                continue
            counts, levels = _summed_counts(sums, len(block.sizes))
            joined = parts.get(boost)
            if joined is None:
                joined = parts[boost] = list(layout.zeros)
            joined[i] = levels
            if counts is not levels:
                exact[i] = counts
        groups = []
        for boost, joined in parts.items():
            levels = b"".join(joined)
            counts = levels
            if exact:  # (rare: a query of more than 255 identifiers)
                counts = list(levels)
                for i, block_counts in exact.items():
                    if joined[i] is not layout.zeros[i]:
                        counts[layout.offsets[i] : layout.offsets[i] + len(block_counts)] = block_counts
            # Jaccard <= shared / |query|: fewer shared identifiers than this cannot reach min_score.
            groups.append(_Group(boost, levels, counts, _least_count(min_score * nq / boost), nq))

        # 2. Only the best `enough` windows can be returned. Scoring every window that
        # shares an identifier would cost a Python loop over thousands of them, so score
        # those with the highest bound (shared / |query| * boost) first, then only the rest
        # that can beat the worst score kept (by their shared count and size).
        enough = limit * (1 + self._max_overlaps)
        bound = self._bound_for(groups, enough, nq)
        candidates: list[tuple[float, str, int, int, float]] = []
        for g in groups:
            g.scored_from = max(g.floor, _least_count(bound * nq / g.boost))
            if g.top >= g.scored_from:
                positions = _in_band(g.levels, g.scored_from, 256)
                self._score(layout, g, positions, nq, min_score, candidates)
        worst = -heapq.nsmallest(enough, candidates)[-1][0] if len(candidates) >= enough else min_score
        for g in groups:
            low = max(g.floor, _least_count(worst * nq / g.boost))
            if low < g.scored_from:
                self._score_beating(layout, g, low, worst, nq, min_score, candidates)
        ordered = heapq.nsmallest(enough, candidates) if len(candidates) > enough else sorted(candidates)

        # 3. Best first, skipping windows that overlap one already taken from the same document.
        results: list[Scored] = []
        taken: dict[str, list[tuple[int, int]]] = {}
        for neg_score, uri, first, shared_count, jaccard in ordered:
            entry = self._docs[uri]
            end = min(first + self.window_lines, entry.line_count)
            spans = taken.setdefault(uri, [])
            if any(first < b and a < end for a, b in spans):
                continue
            spans.append((first, end))
            reason = f"shares {shared_count} identifier{'' if shared_count == 1 else 's'}"
            extra = boost_reasons.get(uri) if boost_reasons else None
            if extra:
                reason += f"; {extra}"
            elif boosts is not None and boosts.get(uri, 1.0) != 1.0:
                reason += f"; boosted x{boosts[uri]:g}"
            window = Window(uri, first, end - 1, self._window_text(entry, first, end))
            results.append(Scored(window, -neg_score, jaccard, reason))
            if len(results) == limit:
                break
        return results

    @staticmethod
    def _bound_for(groups: list[_Group], enough: int, nq: int) -> float:
        """A score bound that at least ``enough`` windows reach (0.0 if fewer windows share anything).

        From a histogram of the shared counts per boost (``bytes.count``, highest
        count first), without looking at single windows.
        """
        levels: list[tuple[float, int]] = []
        for g in groups:
            got = 0
            for count in range(g.top, g.floor - 1, -1):
                windows = g.levels.count(count)
                if windows:
                    levels.append((count * g.boost / nq, windows))
                    got += windows
                    if got >= enough:
                        break
        levels.sort(reverse=True)
        total = 0
        for bound, windows in levels:
            total += windows
            if total >= enough:
                return bound
        return 0.0

    @staticmethod
    def _score(layout: _Layout, g: _Group, positions, nq: int, min_score: float, out: list) -> None:
        """Score the windows at ``positions``; keep those reaching min_score."""
        counts, sizes, uris, starts, boost = g.counts, layout.sizes, layout.uris, layout.starts, g.boost
        for w in positions:
            c = counts[w]
            jaccard = c / (nq + sizes[w] - c)
            score = jaccard * boost
            if score >= min_score:
                out.append((-score, uris[w], starts[w], c, jaccard))

    @classmethod
    def _score_beating(cls, layout: _Layout, g: _Group, low: int, worst: float, nq: int, min_score: float,
                       out) -> None:
        """Score the windows sharing ``low`` to ``g.scored_from - 1`` identifiers that are
        small enough to reach ``worst`` with their shared count.

        score = c / (nq + s - c) * boost >= worst  <=>  s <= c * (1 + t) / t - nq, with t = worst / boost.
        Per count level, that is a size limit, applied to all windows at once: the
        count and size masks (bytes.translate) are ANDed as ints.
        """
        t = worst / g.boost
        n = len(g.levels)
        for c in range(low, g.scored_from):
            most = math.floor(c * (1 + t) / t - nq + 1e-6)  # (slack: let rounding err on the side of scoring)
            if most < c or c not in g.levels:  # (a window holds at least the c identifiers it shares)
                continue
            if most < 255:
                mask = g.levels.translate(_band(c, c + 1))
                fits = layout.size_levels.translate(_band(0, most + 1))
                mask = (int.from_bytes(mask, "little") & int.from_bytes(fits, "little")).to_bytes(n, "little")
                positions = (m.start() for m in _ONE.finditer(mask))
            else:
                positions = _in_band(g.levels, c, c + 1)
            cls._score(layout, g, positions, nq, min_score, out)

    @staticmethod
    def _window_text(entry: _Indexed, first: int, end: int) -> str:
        offsets = entry.offsets
        chunk = entry.text[offsets[first] : offsets[end]]
        if entry.crlf:
            chunk = _BREAK.sub("\n", chunk)
        return chunk[:-1] if end < entry.line_count else chunk  # drop the last line's terminator
