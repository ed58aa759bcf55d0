"""Completion requests → at most one upstream stream per document, as few as possible.

Cost and latency controls, in the order a request meets them:

1. cache: a suggestion shown at this spot, or one the user is typing forward through
   (the text typed since is the start of the suggestion), is served again for free;
2. reuse: while a stream runs for this document and the user types the characters it
   is suggesting, the new request waits for that stream instead of starting another;
3. supersede: any older request of the document is answered at once (empty) and its
   stream, if no longer useful, is closed;
4. debounce: automatic requests wait a little (shorter when the user pauses, longer
   while they type fast; ``completion.debounceMs`` overrides, 0 disables);
5. the stream is read only until post-processing knows the suggestion is complete.

No LSP here: the handlers in features/completion.py turn positions into a `Query`
and the suggestion into items.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict, deque
from dataclasses import dataclass

log = logging.getLogger(__name__)

CACHE_SIZE = 64
TAIL = 1000  # prefix characters compared to recognise a spot
SUFFIX_HEAD = 200
TYPED_MAX = 4096  # typed characters a cached or streamed suggestion can still be followed through
FAST_TYPING = 0.15  # seconds between keystrokes below which the user is "typing fast"
PAUSE = 0.6  # a keystroke after this long a pause starts a new thought: answer quickly
DEBOUNCE_PAUSED, DEBOUNCE_STEADY, DEBOUNCE_TYPING = 0.075, 0.12, 0.2
RHYTHM_KEYSTROKES = 20  # keystroke times kept per document to know the user's pace


@dataclass
class Query:
    uri: str
    text: str  # the document's text around the cursor (with the selected completion item's text in place)
    offset: int  # the cursor's offset in the document (not in `text`: spots are compared across queries)
    automatic: bool
    version: int | None
    prepare: object  # () -> (messages, stop sequences); called only when a stream really starts
    context: object  # postprocess.CompletionContext
    start: int = 0  # the document offset where `text` starts (it holds TAIL + TYPED_MAX characters
    # before the cursor and SUFFIX_HEAD after, or up to the document's edges: a big file is not copied)

    def tail(self, end: int | None = None) -> str | None:
        """The TAIL characters before document offset ``end`` (default: the cursor), which
        recognise a spot; None if the text held does not reach that far back."""
        end = self.offset if end is None else end
        low = max(0, end - TAIL)
        if low < self.start:
            return None
        return self.text[low - self.start : end - self.start]

    def typed_since(self, offset: int) -> str | None:
        """The text between document offset ``offset`` and the cursor (None if not held)."""
        if offset < self.start:
            return None
        return self.text[offset - self.start : self.offset - self.start]

    def suffix_head(self) -> str:
        at = self.offset - self.start
        return self.text[at : at + SUFFIX_HEAD]


@dataclass
class _Stream:
    """One upstream request and the suggestion it is producing."""

    offset: int  # the cursor's index in its query's text
    tail: str  # the TAIL characters before it
    suffix_head: str
    task: asyncio.Task | None = None
    text: str = ""  # the suggestion so far
    done: asyncio.Future | None = None
    waiters: int = 0


@dataclass
class _Ticket:
    superseded: asyncio.Future


class CompletionEngine:
    def __init__(self, run_upstream, version_of=None, clock=time.monotonic) -> None:
        # run_upstream(query, on_text) -> final suggestion; streams and calls on_text(text_so_far)
        # version_of(uri) -> the document's version now: a request whose document moved on during
        # its debounce is dropped, since the request for the newer keystroke is on its way
        self._run_upstream = run_upstream
        self._version_of = version_of
        self._clock = clock  # when keystrokes happen (a test gives its own)
        self._cache: OrderedDict[tuple[str, int], tuple[str, str, str]] = OrderedDict()
        self._streams: dict[str, _Stream] = {}
        self._tickets: dict[str, _Ticket] = {}
        self._keystrokes: dict[str, deque[float]] = {}
        self.upstream_requests = 0  # for tests and benchmarks: streams actually started

    # -- typing rhythm (from didChange) --------------------------------------------------

    def keystroke(self, uri: str) -> None:
        self._keystrokes.setdefault(uri, deque(maxlen=RHYTHM_KEYSTROKES)).append(self._clock())

    def debounce_for(self, uri: str, setting_ms: int | None) -> float:
        if setting_ms is not None:
            return setting_ms / 1000
        times = list(self._keystrokes.get(uri, ()))
        gaps = [b - a for a, b in zip(times, times[1:])]
        typing = sorted(gap for gap in gaps if gap < PAUSE)  # the user's pace, pauses left out
        if not gaps or gaps[-1] >= PAUSE:
            # The first keystroke after a pause: answer quickly, but wait about two of the
            # user's usual gaps, so a fast typist's next keystroke comes before a request does.
            if not typing:
                return DEBOUNCE_PAUSED
            return min(max(DEBOUNCE_PAUSED, 2 * typing[len(typing) // 2]), DEBOUNCE_STEADY)
        recent = sorted(gaps[-5:])
        return DEBOUNCE_TYPING if recent[len(recent) // 2] < FAST_TYPING else DEBOUNCE_STEADY

    # -- the request path ------------------------------------------------------------------

    async def suggest(self, query: Query, debounce: float) -> str | None:
        """The suggestion for this spot, or None (nothing, or superseded by a newer request)."""
        cached = self._from_cache(query)
        if cached is not None:
            log.debug("completion at %d: from the cache", query.offset)
            self._supersede(query.uri, keep=None)
            return cached or None
        ticket = _Ticket(asyncio.get_running_loop().create_future())
        stream = self._reusable(query)
        self._supersede(query.uri, keep=stream)
        self._tickets[query.uri] = ticket
        try:
            if stream is None:
                if query.automatic and debounce > 0:
                    if await _first(ticket.superseded, asyncio.sleep(debounce)) is ticket.superseded:
                        log.debug("completion at %d: superseded during its debounce", query.offset)
                        return None
                    if self._version_of is not None and self._version_of(query.uri) != query.version:
                        log.debug("completion at %d: the document moved on during its debounce", query.offset)
                        return None
                stream = self._start(query)
            else:
                log.debug("completion at %d: reusing the running stream", query.offset)
            return await self._await(stream, query, ticket)
        finally:
            if self._tickets.get(query.uri) is ticket:
                del self._tickets[query.uri]

    def _supersede(self, uri: str, keep: _Stream | None) -> None:
        """Answer the document's older request now; close its stream unless it is being reused."""
        old = self._tickets.pop(uri, None)
        if old is not None and not old.superseded.done():
            old.superseded.set_result(True)
        stream = self._streams.get(uri)
        if stream is not None and stream is not keep and stream.task is not None and not stream.task.done():
            stream.task.cancel()

    def _start(self, query: Query) -> _Stream:
        loop = asyncio.get_running_loop()
        stream = _Stream(query.offset, query.tail(), query.suffix_head(), done=loop.create_future())
        self._streams[query.uri] = stream
        self.upstream_requests += 1
        log.debug("completion at %d: upstream request %d", query.offset, self.upstream_requests)

        def on_text(text: str) -> None:
            stream.text = text

        async def run() -> None:
            try:
                final = await self._run_upstream(query, on_text)
            except asyncio.CancelledError:
                stream.done.set_result(None) if not stream.done.done() else None
                raise
            except Exception as exc:  # reported by run_upstream; the request just gets nothing
                log.info("completion failed: %s", type(exc).__name__)  # messages may echo the request
                final = None
            stream.text = final or ""
            if not stream.done.done():
                stream.done.set_result(final)
            if final:
                self._remember(query.uri, stream.offset, stream.tail, stream.suffix_head, final)

        stream.task = asyncio.create_task(run())
        return stream

    async def _await(self, stream: _Stream, query: Query, ticket: _Ticket) -> str | None:
        stream.waiters += 1
        try:
            shielded = asyncio.shield(stream.done)  # a superseded waiter must not stop the stream
            winner = await _first(ticket.superseded, shielded)
            if winner is not ticket.superseded:
                winner = stream.done
        finally:
            stream.waiters -= 1
        if winner is ticket.superseded:
            log.debug("completion at %d: superseded while streaming", query.offset)
            return None
        final = stream.done.result()
        typed = query.typed_since(stream.offset)
        if not final or typed is None or not final.startswith(typed):
            return None
        return final[len(typed):] or None

    def _reusable(self, query: Query) -> _Stream | None:
        """The running stream of this document if the user typed what it is suggesting."""
        stream = self._streams.get(query.uri)
        if stream is None or stream.done is None or stream.done.done():
            return None  # a finished stream's answer is in the cache (or was nothing)
        if stream.task is None or (stream.task.done() and stream.task.cancelled()):
            return None
        if not _extends(query, stream.offset, stream.tail) or query.suffix_head() != stream.suffix_head:
            return None
        typed = query.typed_since(stream.offset)
        if typed is None:
            return None
        if stream.text.startswith(typed):
            return stream  # the user typed what the stream is suggesting (or nothing)
        if stream.text and not stream.done.done() and typed.startswith(stream.text):
            return stream  # typed past what has streamed so far, consistently
        return None

    # -- cache ------------------------------------------------------------------------------

    def _remember(self, uri: str, offset: int, tail: str, suffix_head: str, suggestion: str) -> None:
        key = (uri, offset)
        self._cache[key] = (tail, suffix_head, suggestion)
        self._cache.move_to_end(key)
        while len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)

    def _from_cache(self, query: Query) -> str | None:
        """A remembered suggestion for this spot or one typed forward into; "" if it is used up."""
        suffix_head = query.suffix_head()
        for (uri, length), (tail, head, suggestion) in reversed(self._cache.items()):
            if uri != query.uri or length > query.offset or head != suffix_head:
                continue
            if tail is None or query.tail(length) != tail:
                continue
            typed = query.typed_since(length)
            if typed is not None and suggestion.startswith(typed):
                return suggestion[len(typed):]
        return None

    def forget(self, uri: str) -> None:
        self._supersede(uri, keep=None)
        self._streams.pop(uri, None)
        self._keystrokes.pop(uri, None)
        for key in [k for k in self._cache if k[0] == uri]:
            del self._cache[key]


def _extends(query: Query, offset: int, tail: str) -> bool:
    """The text before the query's cursor is the text before ``offset`` (ending in ``tail``)
    plus typed text (compared on the tails, cheaply)."""
    return offset <= query.offset and tail is not None and query.tail(offset) == tail


async def _first(*aws):
    """Wait for the first of several awaitables, cancel the others, return the one that finished."""
    futures = [asyncio.ensure_future(a) for a in aws]
    try:
        done, _ = await asyncio.wait(futures, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for a, future in zip(aws, futures):
            if future is not a and not future.done():
                future.cancel()  # only what we wrapped here; the caller's futures stay theirs
    return next(a for a, future in zip(aws, futures) if future in done)
