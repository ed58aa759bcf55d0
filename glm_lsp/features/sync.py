"""didOpen / didChange / didClose: keep our LSP-correct copy of each open document."""

from __future__ import annotations

from lsprotocol import types

from glm_lsp.context.documents import lines_replaced
from glm_lsp.features.completion import warm_up_soon


def register(server) -> None:
    state = server.state

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(params: types.DidOpenTextDocumentParams) -> None:
        doc = params.text_document
        state.documents.open(doc.uri, doc.text, doc.version, doc.language_id)
        state.context.views.changed(doc.uri, lambda uri: _redaction_source(state, uri))
        warm_up_soon(state)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(params: types.DidChangeTextDocumentParams) -> None:
        changes = []
        for change in params.content_changes:
            rng = getattr(change, "range", None)
            if rng is None:
                changes.append((change.text, None))
            else:
                changes.append((change.text, ((rng.start.line, rng.start.character), (rng.end.line, rng.end.character))))
        uri = params.text_document.uri
        if uri not in state.documents:
            return
        followers = _followers(state, uri)
        doc = state.documents.get(uri)
        old_lines = None
        if followers and any(rng is None for _, rng in changes):  # a whole-document change: compare lines to place it
            old_lines = [doc.line_with_ending(n) for n in range(doc.line_count)]
        old_version, old_count, edited = doc.version, doc.line_count, lines_replaced(doc, changes)
        state.documents.change(uri, params.text_document.version, changes, state.encoding)
        if edited is not None:  # the redacted copy follows the edit (and is made again when idle)
            first, replaced = edited
            new_count = len(replaced) + doc.line_count - old_count
            state.context.views.edited(doc, old_version, first, replaced, new_count)
        state.context.views.changed(uri, lambda uri: _redaction_source(state, uri))
        for follower in followers:
            follower.on_change(changes, old_lines)
        if uri not in state.edit_sessions:  # the user's own typing (not our streamed edits)
            if state.completion is not None:
                state.completion.keystroke(uri)  # the typing rhythm sets the completion debounce
            for text, rng in changes:
                state.context.edited(uri, rng[0][0] if rng else 0, text)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(params: types.DidCloseTextDocumentParams) -> None:
        uri = params.text_document.uri
        state.documents.close(uri)
        state.ai_edits.pop(uri, None)
        state.explanations.pop(uri, None)
        state.last_prompts.pop(uri, None)  # glm.showPrompt answers for open documents
        state.last_contexts.pop(uri, None)
        if state.completion is not None:
            state.completion.forget(uri)
        if state._context is not None:
            state.context.forget(uri)
        session = state.edit_sessions.get(uri)
        if session is not None:
            session.conflict = True  # the buffer is gone: stop writing into it


async def _redaction_source(state, uri: str):
    """What the background redaction of a document needs, read when it runs (settings may change)."""
    settings = await state.settings()
    privacy = state.context.privacy(state.root, settings)
    return state.documents, privacy, bool(state.context.excluded(uri, state.root, settings))


def _followers(state, uri: str) -> list:
    """Edit sessions and revert records that must follow this document's changes."""
    found = [state.edit_sessions[uri]] if uri in state.edit_sessions else []
    if uri in state.ai_edits:
        found.append(state.ai_edits[uri].tracker)
    return found
