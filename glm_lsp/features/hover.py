"""textDocument/hover: the explanation of the lines under the cursor, once glm.explain has run."""

from __future__ import annotations

from lsprotocol import types


def register(server) -> None:
    state = server.state

    @server.feature(types.TEXT_DOCUMENT_HOVER)
    def hover(params: types.HoverParams) -> types.Hover | None:
        line = params.position.line
        for explanation in reversed(state.explanations.get(params.text_document.uri, [])):
            if explanation.first <= line <= explanation.last:
                return types.Hover(
                    contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value=explanation.text)
                )
        return None
