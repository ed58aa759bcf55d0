"""glm.fix, glm.rewrite, glm.docstring: the model's code streamed over the target lines.

target → prompt → provider stream → extraction (only code inside the fence, whole
lines) → `Region` → `EditSession` (versioned applyEdits) under a cancellable
progress. Cancel or any upstream failure restores the original in one edit; the
user typing inside the target stops the stream and keeps their text. One session
per document: a new request on a document cancels (and restores) the running one.
"""

from __future__ import annotations

import asyncio
import logging

from lsprotocol import types

from glm_lsp.context import scope
from glm_lsp.edits.region import Region, as_lines
from glm_lsp.features.progress import StreamProgress
from glm_lsp.features.streaming import EditRefused, EditSession, UserEditedInside
from glm_lsp.state import Session

log = logging.getLogger(__name__)

CONTEXT_LINES = 40  # lines of the file above and below the target sent as context
DEFAULT_MAX_TOKENS = 16384  # reasoning included
DEFAULT_TEMPERATURE = 0.6
TITLES = {"fix": "GLM: Fix", "rewrite": "GLM: Rewrite", "docstring": "GLM: Add docstring"}


async def run(server, kind: str, target, *, instruction: str | None = None, diagnostics=None) -> dict | None:
    from glm_lsp.errors import ContextTooLongError, GlmError

    state = server.state
    settings = await state.settings()
    uri = target.uri
    doc = state.documents.get(uri)
    state.check_allowed(uri, settings)
    first, last = scope.target_lines(doc, target.range, state.encoding)
    original = [doc.line_with_ending(n) for n in range(first, last + 1)]
    if kind == "rewrite" and not instruction:
        instruction = await _ask_instruction(server)
        if instruction is None:
            return None

    await _supersede(server, uri)
    region = Region(original, first)
    edits = EditSession(server, uri, region)
    session = Session(kind, uri, task=asyncio.current_task())
    state.start_session(session)
    state.edit_sessions[uri] = edits
    progress = StreamProgress(server, TITLES[kind], session.cancel)
    await progress.begin(f"Asking GLM-5.1 about lines {first + 1}-{last + 1}…")
    budget = settings.context.max_tokens
    try:
        for attempt in range(2):
            messages, unredact = _prepare(server, kind, doc, first, last, instruction, diagnostics, settings, budget)
            try:
                await _stream(server, kind, messages, unredact, doc, first, last, original, edits, progress, settings)
                break
            except ContextTooLongError:
                await _restore(edits)  # discard partial output before the feature-level retry
                if attempt == 1:
                    raise
                budget //= 2
                progress.status("The prompt was too long; trying again with less context…")
            except UserEditedInside:
                await edits.settle()
                progress.end("Stopped: you edited the code")
                _show(server, types.MessageType.Warning,
                      f"{TITLES[kind]} stopped because you edited inside the code being rewritten; your text was kept.")
                return None
            except BaseException as exc:
                await _restore(edits)
                progress.end("Cancelled" if isinstance(exc, asyncio.CancelledError) else "Failed, original restored")
                raise
    except asyncio.CancelledError:
        if session.cancelled_by_user:
            asyncio.current_task().uncancel()
            return None
        raise
    except (GlmError, EditRefused) as exc:
        progress.end("Failed, original restored")
        _show(server, types.MessageType.Error, f"{TITLES[kind]} failed: {exc} The original code was restored.")
        return None
    finally:
        if state.edit_sessions.get(uri) is edits:
            del state.edit_sessions[uri]
    if edits.moved_by_user:
        _show(server, types.MessageType.Info, f"{TITLES[kind]}: you edited outside the code being rewritten; "
              "your edits were kept and the stream went on.")
    new_text = "".join(region.wanted())
    state.record_ai_edit(server, uri, region, original)
    progress.end("Done")
    if kind == "fix":
        _verify(server, uri, doc.language_id, "".join(original), new_text)
        state.remember_fix(uri, diagnostics, state.context.redact(new_text, state.root, settings))
    log.info("%s %s: lines %d-%d replaced by %d lines", kind, uri, first + 1, last + 1, region.length)
    return {"uri": uri, "firstLine": region.start, "lineCount": region.length}


def _prepare(server, kind, doc, first, last, instruction, diagnostics, settings, budget):
    """The messages for one attempt (context within ``budget``), and how to undo the redaction."""
    from glm_lsp.context.builder import Unredactor
    from glm_lsp.context.privacy import REDACTED

    state = server.state
    task = _code_task(server, doc, first, last, diagnostics)
    snippets = state.build_context(doc, task.before[-2000:] + task.target + task.after[:1000], budget, settings)
    redact = lambda text: state.context.redact(text, state.root, settings)  # noqa: E731
    original_target = task.target
    task.target, task.before, task.after = redact(task.target), redact(task.before), redact(task.after)
    task.diagnostics = [redact(d) for d in task.diagnostics]  # linters quote literals
    task.context = snippets.render()
    messages = _messages(server, kind, task, instruction, doc.uri, diagnostics)
    state.remember_prompt(doc.uri, messages, snippets)
    return messages, Unredactor(original_target, task.target, REDACTED)


async def _stream(server, kind, messages, unredact, doc, first, last, original, edits, progress, settings) -> None:
    """One request: the model's lines streamed into the region, then the exact final text."""
    from glm_lsp.edits.extract import StreamExtractor
    from glm_lsp.errors import GlmError
    from glm_lsp.providers.events import ChatRequest, Finish, ReasoningDelta, TextDelta, Usage

    state = server.state
    region = edits.region
    extractor = StreamExtractor(_extract_context(doc, first, last, original))
    request = ChatRequest(
        messages=messages,
        thinking=settings.thinking != "disabled",
        max_tokens=settings.max_tokens or DEFAULT_MAX_TOKENS,
        temperature=settings.temperature if settings.temperature is not None else DEFAULT_TEMPERATURE,
        top_p=settings.top_p,
        priority="action",
    )
    written = 0
    async with state.provider(settings).stream(request) as events:
        async for event in events:
            if edits.error is not None:
                raise edits.error
            if edits.conflict:
                raise UserEditedInside()
            if isinstance(event, TextDelta):
                lines = [unredact.apply(line) for line in extractor.feed(event.text)]
                if lines:
                    written += len(lines)
                    progress.status(f"Writing line {written}…")
                    if settings.edits.stream:
                        region.add(lines)
                        edits.kick()
            elif isinstance(event, ReasoningDelta) and written == 0:
                progress.status("GLM-5.1 is thinking…")
            elif isinstance(event, Usage):
                state.record_usage(event, kind, messages)
            elif isinstance(event, Finish) and event.reason == "length":
                raise GlmError("the answer was cut at maxTokens before the code was complete; "
                               "raise maxTokens or select less code.")
    final = extractor.finish()
    if not final.strip():
        raise GlmError("GLM-5.1 answered without any code; nothing was changed. Try again or rephrase.")
    await edits.settle()
    if edits.error is not None:
        raise edits.error
    unredact.reset()
    region.finish(as_lines(unredact.apply(final)))
    await edits.flush()


async def _restore(edits: EditSession) -> None:
    """Put the original back in one edit; never over the user's own typing; never raise."""
    try:
        await asyncio.shield(edits.settle())
        if edits.conflict:
            return  # the user typed inside: their text wins, even over the original
        edits.region.restore()
        await asyncio.shield(edits.flush())
    except Exception as exc:  # the editor may be gone; nothing more we can do
        log.warning("could not restore the original text: %s", exc)


async def _supersede(server, uri: str) -> None:
    """At most one session per document: a new request cancels (and restores) the running one."""
    running = server.state.latest_session(uri)
    if running is not None and running.task is not None and not running.task.done() and running.kind != "explain":
        running.cancel()
        try:
            await asyncio.wait_for(asyncio.shield(running.task), 10)
        except (asyncio.CancelledError, Exception):
            pass


async def _ask_instruction(server) -> str | None:
    """glm.rewrite without an instruction: offer the set rewrites where the client can pick."""
    from glm_lsp.errors import GlmError
    from glm_lsp.prompts.rewrite import PRESETS

    window = server.client_capabilities.window
    if not (window and window.show_message):
        raise GlmError("glm.rewrite needs an instruction: pass {uri, range, instruction}, or pick a set "
                       "rewrite from the code actions menu.")
    choice = await server.window_show_message_request_async(
        types.ShowMessageRequestParams(
            type=types.MessageType.Info,
            message="GLM: how should the code be rewritten?",
            actions=[types.MessageActionItem(title=title) for title in PRESETS],
        )
    )
    return PRESETS.get(choice.title) if choice else None


def _code_task(server, doc, first: int, last: int, diagnostics):
    from glm_lsp.context.builder import relative
    from glm_lsp.prompts.code import CodeTask

    lo, hi = max(0, first - CONTEXT_LINES), min(doc.line_count, last + 1 + CONTEXT_LINES)
    return CodeTask(
        path=relative(doc.uri, server.state.root),
        language=doc.language_id,
        target="".join(doc.line_with_ending(n) for n in range(first, last + 1)),
        first_line=first,
        before="".join(doc.line_with_ending(n) for n in range(lo, first)),
        after="".join(doc.line_with_ending(n) for n in range(last + 1, hi)),
        diagnostics=[_describe(d) for d in diagnostics or []],
    )


def _describe(diagnostic: dict) -> str:
    rng = diagnostic.get("range")
    start = rng.get("start") if isinstance(rng, dict) else None
    line = start.get("line") if isinstance(start, dict) else None
    where = f"line {line + 1}: " if isinstance(line, int) else ""
    source = f" [{diagnostic['source']}]" if diagnostic.get("source") else ""
    return f"{where}{diagnostic.get('message', '')}{source}"


def _messages(server, kind: str, task, instruction: str | None, uri: str, diagnostics):
    from glm_lsp.prompts import docstring, fix, rewrite

    if kind == "fix":
        previous = server.state.previous_fix(uri, diagnostics)
        return fix.messages(task, previous)
    if kind == "rewrite":
        return rewrite.messages(task, instruction or "")
    return docstring.messages(task)


def _extract_context(doc, first: int, last: int, original: list[str]):
    from glm_lsp.edits.extract import ExtractContext

    def bare(n: int) -> str:
        return doc.line(n)

    return ExtractContext(
        original="".join(original),
        before=[bare(n) for n in range(max(0, first - 3), first)],
        after=[bare(n) for n in range(last + 1, min(doc.line_count, last + 4))],
        newline=scope.newline_of(doc, first),
        indent_unit=scope.indent_unit(doc),
    )


def _verify(server, uri: str, language: str, old: str, new: str) -> None:
    """A fix that introduced a syntax error where there was none: say so and offer the revert."""
    from glm_lsp.context.syntax import has_syntax_errors

    doc = server.state.documents.get(uri)
    after = has_syntax_errors(doc.text, language, uri)
    if not after:
        return
    before_text = doc.text.replace(new, old, 1) if new in doc.text else None
    if before_text is not None and has_syntax_errors(before_text, language, uri):
        return  # it did not parse before either
    message = "GLM: Fix left a syntax error in the file where there was none."
    window = server.client_capabilities.window
    if not (window and window.show_message):
        _show(server, types.MessageType.Warning, message + " Run glm.revert to undo it.")
        return
    asyncio.create_task(_offer_revert(server, uri, message))


async def _offer_revert(server, uri: str, message: str) -> None:
    choice = await server.window_show_message_request_async(
        types.ShowMessageRequestParams(
            type=types.MessageType.Warning, message=message, actions=[types.MessageActionItem(title="Revert")]
        )
    )
    if choice is not None and choice.title == "Revert":
        from glm_lsp.features import revert

        await revert.run(server, uri)


def _show(server, kind: types.MessageType, message: str) -> None:
    server.state.tell(server, kind, f"glm-lsp: {message}")
