"""textDocument/inlineCompletion (LSP 3.18) and textDocument/completion: GLM-5.1 suggestions.

Inline completion answers one ``InlineCompletionItem`` at the cursor (or extending the
item selected in an open suggest widget). Clients without inline completion (Helix)
get, per ``completion.items``, one completion item: labelled with the suggestion's
first line, the whole suggestion as its text edit and as markdown documentation,
``isIncomplete`` so the client asks again as typing goes on. Both share one engine
(debounce, supersede, reuse, cache): Helix sends its automatic popups as Invoked, so
completion items are always treated as automatic.
"""

from __future__ import annotations

import asyncio
import gc
import importlib
import logging
import re
import time

from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams

from glm_lsp.context.documents import index_to_units, units_to_index
from glm_lsp.state import Place

log = logging.getLogger(__name__)

PREFIX_LINES = 120  # lines of the current file before the cursor sent with a completion
COMPLETION_CONTEXT_TOKENS = 1024  # snippets from other buffers: small, completions must be cheap
CONTEXT_QUERY_CHARS = 1500  # the code before the cursor that snippets are ranked against
SUFFIX_LINES = 40
DEFAULT_TEMPERATURE = 0.2
_WORD = re.compile(r"[A-Za-z0-9_$]+$")


def register(server) -> None:
    from glm_lsp.completion.engine import CompletionEngine

    state = server.state
    state.completion = CompletionEngine(
        lambda query, on_text: run_upstream(server, query, on_text),
        version_of=lambda uri: state.documents.get(uri).version if uri in state.documents else None,
    )

    @server.feature(types.TEXT_DOCUMENT_INLINE_COMPLETION, types.InlineCompletionOptions())
    async def inline_completion(params: types.InlineCompletionParams) -> types.InlineCompletionList | None:
        automatic = params.context.trigger_kind == types.InlineCompletionTriggerKind.Automatic
        log.debug("inlineCompletion %s %d:%d (%s)", params.text_document.uri, params.position.line,
                  params.position.character, "automatic" if automatic else "invoked")
        selected = params.context.selected_completion_info
        found = await _suggest(server, params.text_document.uri, params.position, automatic, selected)
        if found is None:
            return types.InlineCompletionList(items=[])
        suggestion, _word = found
        if selected is not None:
            return types.InlineCompletionList(items=[
                types.InlineCompletionItem(insert_text=selected.text + suggestion, range=selected.range)
            ])
        here = types.Range(start=params.position, end=params.position)
        return types.InlineCompletionList(items=[types.InlineCompletionItem(insert_text=suggestion, range=here)])

    @server.feature(
        types.TEXT_DOCUMENT_COMPLETION,
        types.CompletionOptions(trigger_characters=[".", "("], resolve_provider=False),
    )
    async def completion(params: types.CompletionParams) -> types.CompletionList | None:
        settings = await state.settings()
        mode = settings.completion.items
        if mode == "never" or (mode == "auto" and _has_inline_completion(server)):
            return None
        found = await _suggest(server, params.text_document.uri, params.position, True, None)
        if found is None:
            return types.CompletionList(is_incomplete=True, items=[])
        suggestion, word = found
        doc = state.documents.get(params.text_document.uri)
        line_no = min(params.position.line, doc.line_count - 1)  # a position past the end: the last line
        line = doc.line(line_no)
        cursor = units_to_index(line, params.position.character, state.encoding)
        start = types.Position(line=line_no,
                               character=index_to_units(line, cursor - len(word), state.encoding))
        first_line = (word + suggestion).split("\n", 1)[0].rstrip("\r")
        item = types.CompletionItem(
            label=first_line.strip() or (word + suggestion).strip()[:60],
            filter_text=word + suggestion.split("\n", 1)[0],
            detail="GLM-5.1",
            kind=types.CompletionItemKind.Text,
            documentation=_documentation(server, doc.language_id, word + suggestion),
            text_edit=types.TextEdit(range=types.Range(start=start, end=types.Position(
            line=line_no, character=index_to_units(line, cursor, state.encoding))), new_text=word + suggestion),
            insert_text_format=types.InsertTextFormat.PlainText,
            sort_text="~glm",  # after the language server's own items
        )
        return types.CompletionList(is_incomplete=True, items=[item])


def _documentation(server, language: str, text: str) -> types.MarkupContent | str:
    """The whole suggestion: markdown where the client renders it, else a plain string."""
    text_document = server.client_capabilities.text_document
    completion = text_document.completion if text_document else None
    item = completion.completion_item if completion else None
    formats = (item.documentation_format if item else None) or []
    if types.MarkupKind.Markdown in formats:
        return types.MarkupContent(kind=types.MarkupKind.Markdown, value=f"```{language}\n{text}\n```")
    return text


# After the first document opens the user reads before typing: time to load what the first
# completion would otherwise wait for (~150 ms of imports: httpx, TLS, post-processing).
WARM_UP_DELAY = 0.5
_FIRST_COMPLETION_MODULES = ("glm_lsp.providers.client", "glm_lsp.completion.postprocess",
                             "glm_lsp.prompts.completion", "glm_lsp.context.scope")  # (the engine loads at start)


def warm_up_soon(state) -> None:
    """Once per session, when the first document opens: start warm_up in the background."""
    if state.warm_up is None:
        state.warm_up = asyncio.get_running_loop().create_task(warm_up(state))


async def warm_up(state) -> None:
    """Import the first completion's modules in a worker thread (the loop keeps serving), then
    make the provider's pooled HTTP client (its TLS context) on the loop."""
    await asyncio.sleep(WARM_UP_DELAY)
    started = time.monotonic()
    try:
        await asyncio.get_running_loop().run_in_executor(None, _import_first_completion_modules)
        state.provider(await state.settings())
    except Exception as exc:  # broken settings, say: the first request reports them
        log.debug("warm-up stopped: %s", type(exc).__name__)
        return
    # What is loaded now (modules, classes, settings: ~70,000 objects) lives as long as the server.
    # Frozen, no full garbage collection looks at it again: each took ~35 ms, and a request that
    # met one waited that long.
    gc.collect()
    gc.freeze()
    log.info("ready for the first completion (loaded in %.0f ms; %d objects frozen for the garbage collector)",
             (time.monotonic() - started) * 1000, gc.get_freeze_count())


def _import_first_completion_modules() -> None:
    for name in _FIRST_COMPLETION_MODULES:
        importlib.import_module(name)


def _has_inline_completion(server) -> bool:
    text_document = server.client_capabilities.text_document
    return bool(text_document and text_document.inline_completion is not None)


async def _suggest(server, uri: str, position: types.Position, automatic: bool, selected) -> tuple[str, str] | None:
    """(suggestion, word before the cursor) or None."""
    from glm_lsp.completion.engine import Query
    from glm_lsp.completion.postprocess import CompletionContext
    from glm_lsp.context import scope
    from glm_lsp.context.builder import relative
    from glm_lsp.prompts import completion as prompt

    state = server.state
    if uri not in state.documents:
        raise JsonRpcInvalidParams(f"{uri} is not open in the editor; glm-lsp completes only open documents.")
    state.last_place = Place(uri, ((position.line, position.character), (position.line, position.character)))
    settings = await state.settings()
    if not settings.completion.enabled:
        return None
    if automatic and _over_daily_limit(server, settings):
        return None
    doc = state.documents.get(uri)
    line_no = min(position.line, doc.line_count - 1)
    offset = doc.offset_at(line_no, position.character, state.encoding)
    # The text around the cursor, not the whole document: after a keystroke a big file's text
    # would be joined again for every request. Offsets stay the document's (`base` + index).
    first = _window_first_line(doc, line_no if selected is None else min(line_no, selected.range.start.line))
    end = _window_end_line(doc, line_no)
    base = doc.line_start(first)
    text = doc.lines_text(first, end)  # (cut by index below, never in two)
    if selected is not None:  # the text as it would be with the suggest widget's item accepted
        start = doc.offset_at(selected.range.start.line, selected.range.start.character, state.encoding)
        text = text[:start - base] + selected.text + text[offset - base:]
        offset = start + len(selected.text)
    at = offset - base  # the cursor's index in `text`
    line_text = doc.line(line_no)
    word_match = _WORD.search(line_text[: units_to_index(line_text, position.character, state.encoding)])
    word = word_match.group(0) if word_match else ""
    window_prefix = _at_paragraph_start(text[_start_of_last_lines(text, at, PREFIX_LINES):at], whole=offset)
    window_suffix = _at_paragraph_end(text[at:_end_of_first_lines(text, at, SUFFIX_LINES)],
                                      whole=len(text) - at if end == doc.line_count else -1)
    context = CompletionContext(
        prefix=window_prefix, suffix=window_suffix, language=doc.language_id,
        newline=scope.newline_of(doc, line_no), indent_unit=state.context.indent_unit(doc),
    )
    if state.context.excluded(uri, state.root, settings):
        return None  # an excluded file is never sent, not even for completions
    # Snippets are ranked against the code before the cursor, less the word being typed: a
    # partial word matches nothing, and without it the question stays the same (and its
    # answer is remembered) until the user finishes a word.
    ranking_query = window_prefix[-CONTEXT_QUERY_CHARS:]
    if word and ranking_query.endswith(word):
        ranking_query = ranking_query[: -len(word)]

    cut_version = doc.version

    def prepare() -> tuple[list[dict[str, str]], list[str]]:
        """The prompt and stop sequences, built only when a stream starts: cache hits, reuse
        and debounce cost nothing. Both come from the redacted text (a stop sequence is sent too)."""
        # (the document's copy speaks for these texts only if they were cut from its current version)
        same_text = selected is None and doc.version == cut_version
        safe_prefix, safe_suffix = _redact_around_cursor(state, settings, window_prefix, window_suffix,
                                                         doc if same_text else None, line_no)
        snippets = state.build_context(doc, ranking_query, COMPLETION_CONTEXT_TOKENS, settings, with_recent=True)
        messages = prompt.messages(relative(uri, state.root), doc.language_id, safe_prefix, safe_suffix,
                                   snippets.render())
        state.remember_prompt(uri, messages, snippets)
        next_line = next((line.strip() for line in safe_suffix.splitlines()[1:] if line.strip()), "")
        return messages, ["\n\n", next_line] if next_line else ["\n\n"]

    query = Query(uri, text, offset, automatic, doc.version, prepare, context, start=base)
    debounce = state.completion.debounce_for(uri, settings.completion.debounce_ms) if automatic else 0.0
    with state.context.views.paused():
        suggestion = await state.completion.suggest(query, debounce)
    if not suggestion:
        return None
    return suggestion, word


def _window_first_line(doc, line: int) -> int:
    """The first line of the text a completion holds: PREFIX_LINES before ``line``, and enough
    lines for the engine to recognise spots (engine.TAIL + engine.TYPED_MAX characters)."""
    from glm_lsp.completion.engine import TAIL, TYPED_MAX

    first = max(0, line - PREFIX_LINES)
    chars = sum(len(doc.line_with_ending(n)) for n in range(first, line))
    while first > 0 and chars < TAIL + TYPED_MAX:
        first -= 1
        chars += len(doc.line_with_ending(first))
    return first


def _window_end_line(doc, line: int) -> int:
    """The end (exclusive) of the text a completion holds: SUFFIX_LINES after ``line``, and at
    least engine.SUFFIX_HEAD characters after the cursor's line."""
    from glm_lsp.completion.engine import SUFFIX_HEAD

    end = min(doc.line_count, line + 1 + SUFFIX_LINES)
    chars = sum(len(doc.line_with_ending(n)) for n in range(line + 1, end))
    while end < doc.line_count and chars < SUFFIX_HEAD:
        chars += len(doc.line_with_ending(end))
        end += 1
    return end


def _redact_around_cursor(state, settings, prefix: str, suffix: str, doc=None, line: int = 0) -> tuple[str, str]:
    """Redact the text around the cursor as one text, so a secret the cursor splits is still found.

    ``doc`` and ``line``: the document and cursor line the two texts were cut from; when
    its redacted copy (context/redacted.py) is ready and redaction changed none of their
    lines, only the two halves of the cursor's line need a look."""
    from glm_lsp.context.redacted import line_breaks
    from glm_lsp.prompts.completion import HOLE

    redact = lambda text: state.context.redact(text, state.root, settings)  # noqa: E731
    line_before = prefix[prefix.rfind("\n") + 1:]
    line_after = suffix.split("\n", 1)[0]
    if doc is not None:
        privacy = state.context.privacy(state.root, settings)
        first, end = line - line_breaks(prefix), line + line_breaks(suffix) + 1
        # The whole line is clean (in the copy), so a half that redaction leaves alone holds no
        # piece of a secret either: the cursor splits none.
        if (state.context.views.unchanged(doc, privacy, first, end)
                and redact(line_before) == line_before and redact(line_after) == line_after):
            return prefix, suffix
    redacted = state.context.redact(prefix + HOLE + suffix, state.root, settings, once=HOLE)
    split_secret = redact(line_before + line_after) != redact(line_before) + redact(line_after)
    if redacted.count(HOLE) == 1 and not split_secret:
        before, after = redacted.split(HOLE)
        return before, after
    # the cursor sits inside a secret: leave the cursor's line out on both sides
    before, after = redact(prefix), redact(suffix)
    line_start, line_end = before.rfind("\n") + 1, after.find("\n")
    return before[:line_start], after[line_end:] if line_end >= 0 else ""


def _over_daily_limit(server, settings) -> bool:
    limit = settings.usage.daily_token_limit
    if not limit:
        return False
    state = server.state
    if state.usage.today().tokens < limit:
        return False
    if not state.limit_notified:
        state.limit_notified = True
        server.window_show_message(types.ShowMessageParams(
            type=types.MessageType.Warning,
            message=f"glm-lsp: today's {limit} tokens (usage.dailyTokenLimit) are used up; automatic "
                    "completions are paused until tomorrow. Commands still run.",
        ))
    return True


# Windows are cut at blank lines when one is near their edge: the redaction memo holds the
# file's paragraphs (context/redacted.py), so a window of whole paragraphs is redacted from
# the memo and only the paragraph holding the cursor is redacted anew.
EDGE_LINES = 20  # at most this many lines dropped to cut a window at a blank line


def _at_paragraph_start(window: str, whole: int) -> str:
    from glm_lsp.context.privacy import PARAGRAPH_BREAK

    if len(window) == whole:
        return window  # the start of the file
    edge = _first_lines(window, EDGE_LINES)
    blank = PARAGRAPH_BREAK.search(edge)
    return window[blank.end():] if blank and blank.end() < len(edge) else window


def _at_paragraph_end(window: str, whole: int) -> str:
    from glm_lsp.context.privacy import PARAGRAPH_BREAK

    if len(window) == whole:
        return window  # the end of the file
    start = len(window) - len(_last_lines(window, EDGE_LINES))
    blanks = list(PARAGRAPH_BREAK.finditer(window, max(0, start - 1)))
    return window[: blanks[-1].end()] if blanks and blanks[-1].start() > 0 else window


def _last_lines(text: str, count: int) -> str:
    return text[_start_of_last_lines(text, len(text), count):]


def _first_lines(text: str, count: int) -> str:
    return text[:_end_of_first_lines(text, 0, count)]


def _start_of_last_lines(text: str, end: int, count: int) -> int:
    """Where the last ``count`` lines of ``text[:end]`` start."""
    cut = end
    for _ in range(count):
        cut = text.rfind("\n", 0, cut)
        if cut < 0:
            return 0
    return cut + 1


def _end_of_first_lines(text: str, start: int, count: int) -> int:
    """Where the first ``count`` lines of ``text[start:]`` end (their last line break included)."""
    cut = start - 1
    for _ in range(count):
        cut = text.find("\n", cut + 1)
        if cut < 0:
            return len(text)
    return cut + 1


async def run_upstream(server, query, on_text) -> str | None:
    """One completion request upstream: stream, post-process, stop as soon as complete."""
    from glm_lsp.completion.postprocess import Progressive
    from glm_lsp.errors import GlmError
    from glm_lsp.providers.events import ChatRequest, Finish, TextDelta, Usage

    state = server.state
    settings = await state.settings()
    messages, stop = query.prepare()
    request = ChatRequest(
        messages=messages,
        thinking=settings.thinking == "enabled",
        max_tokens=settings.completion.max_tokens,
        temperature=settings.temperature if settings.temperature is not None else DEFAULT_TEMPERATURE,
        top_p=settings.top_p,
        stop=stop,
        priority="completion",
    )
    progressive = Progressive(query.context)
    usage, cut = None, False
    try:
        async with state.provider(settings).stream(request) as events:
            async for event in events:
                if isinstance(event, TextDelta):
                    shown = progressive.feed(event.text)
                    on_text(shown.text)
                    if shown.complete:
                        break  # leaving the block closes the stream: stop paying for it
                elif isinstance(event, Usage):
                    usage = event
                elif isinstance(event, Finish) and event.reason == "length":
                    cut = True
    except GlmError as exc:
        state.report_completion_failure(server, exc)
        raise
    final = progressive.finish()
    if cut:  # cut at completion.maxTokens: keep only the lines that were complete
        final = final.rsplit("\n", 1)[0] if "\n" in final else ""
    if usage is not None:
        state.context.tokens.observe("".join(m["content"] for m in messages), usage.prompt_tokens)
    state.usage.record(usage or state.estimate_usage(messages, final), "completion")
    log.info("completion %s: %d chars", query.uri, len(final))  # never the text itself
    return final
