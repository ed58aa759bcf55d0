"""glm.explain: the selection (or the block around the cursor) explained, streamed under progress.

The explanation streams as coalesced ``$/progress`` reports; reasoning never mixes
into it; the command's result is the whole explanation. Cancel (the progress button,
``glm.cancel`` or ``$/cancelRequest``) closes the upstream stream; upstream errors
reach the user as one ``window/showMessage``.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from lsprotocol import types

from glm_lsp.context.builder import relative
from glm_lsp.context.scope import selected_code
from glm_lsp.features.explain_document import ExplainDocument
from glm_lsp.features.progress import StreamProgress
from glm_lsp.state import Session

log = logging.getLogger(__name__)

DEFAULT_MAX_TOKENS = 8192  # reasoning included


@dataclass
class Explanation:
    """Shown on hover over the explained lines."""

    first: int
    last: int
    text: str
DEFAULT_TEMPERATURE = 0.7


async def run(server, target) -> str | None:
    from glm_lsp.errors import GlmError
    from glm_lsp.prompts import explain as prompt
    from glm_lsp.providers.events import ChatRequest, Finish, ReasoningDelta, TextDelta, Usage

    state = server.state
    settings = await state.settings()
    doc = state.documents.get(target.uri)
    state.check_allowed(target.uri, settings)
    code, first, last = selected_code(doc, target.range, state.encoding)
    snippets = state.build_context(doc, code, settings.context.max_tokens, settings)
    code = state.context.redact(code, state.root, settings)
    messages = prompt.messages(relative(target.uri, state.root), doc.language_id, code, first, last, snippets.render())
    state.remember_prompt(target.uri, messages, snippets)
    request = ChatRequest(
        messages=messages,
        thinking=settings.thinking != "disabled",
        max_tokens=settings.max_tokens or DEFAULT_MAX_TOKENS,
        temperature=settings.temperature if settings.temperature is not None else DEFAULT_TEMPERATURE,
        top_p=settings.top_p,
        priority="action",
    )
    session = Session("explain", target.uri, task=asyncio.current_task())
    state.start_session(session)
    progress = StreamProgress(server, "GLM: Explain", session.cancel)
    await progress.begin(f"Explaining lines {first + 1}-{last + 1}…")
    document = ExplainDocument(server, relative(target.uri, state.root), first, last)
    try:
        await document.open()
    except OSError as exc:  # no cache directory: progress and result still work
        log.warning("cannot write the explanation file: %s", exc)
        document = None
    log.info("explain %s lines %d-%d (%d chars)", target.uri, first + 1, last + 1, len(code))
    text, thinking_shown = "", False
    try:
        async with state.provider(settings).stream(request) as events:
            async for event in events:
                if isinstance(event, TextDelta):
                    text += event.text
                    progress.text(event.text)
                    if document is not None:
                        document.append(event.text)
                elif isinstance(event, ReasoningDelta) and not thinking_shown and not text:
                    thinking_shown = True
                    progress.status("GLM-5.1 is thinking…")
                elif isinstance(event, Usage):
                    state.record_usage(event, "explain", messages)
                elif isinstance(event, Finish) and event.reason == "length":
                    _show(server, types.MessageType.Warning,
                          "the explanation was cut at maxTokens; raise maxTokens for longer answers.")
    except asyncio.CancelledError:
        progress.end("Cancelled")
        if session.cancelled_by_user:  # progress button or glm.cancel: answer normally
            asyncio.current_task().uncancel()
            return None
        raise  # $/cancelRequest: pygls answers RequestCancelled
    except GlmError as exc:
        progress.end("Failed")
        _show(server, types.MessageType.Error, str(exc))
        return None
    if document is not None:
        await document.close()
    state.explanations.setdefault(target.uri, []).append(Explanation(first, last, text))
    progress.end("Done")
    return text


def _show(server, kind: types.MessageType, message: str) -> None:
    server.state.tell(server, kind, f"glm-lsp: {message}")
