"""didOpen / didChange / didClose: keep our LSP-correct copy of each open document."""

from __future__ import annotations

from lsprotocol import types


def register(server) -> None:
    state = server.state

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(params: types.DidOpenTextDocumentParams) -> None:
        doc = params.text_document
        state.documents.open(doc.uri, doc.text, doc.version, doc.language_id)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(params: types.DidChangeTextDocumentParams) -> None:
        changes = []
        for change in params.content_changes:
            rng = getattr(change, "range", None)
            if rng is None:
                changes.append((change.text, None))
            else:
                changes.append((change.text, ((rng.start.line, rng.start.character), (rng.end.line, rng.end.character))))
        if params.text_document.uri in state.documents:
            state.documents.change(params.text_document.uri, params.text_document.version, changes, state.encoding)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(params: types.DidCloseTextDocumentParams) -> None:
        state.documents.close(params.text_document.uri)
        state.last_prompts.pop(params.text_document.uri, None)
