"""textDocument/codeAction: remember the place asked about (commands without arguments act there).

Listing actions costs no model call. The GLM actions themselves arrive with the
"Edits" feature; until then the list is empty.
"""

from __future__ import annotations

from lsprotocol import types

from glm_lsp.state import Place

KINDS = [types.CodeActionKind.QuickFix, types.CodeActionKind.RefactorRewrite, types.CodeActionKind.Source]


def register(server) -> None:
    state = server.state

    @server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(code_action_kinds=KINDS, resolve_provider=True),
    )
    def code_action(params: types.CodeActionParams) -> list[types.CodeAction]:
        rng = params.range
        state.last_place = Place(
            params.text_document.uri,
            ((rng.start.line, rng.start.character), (rng.end.line, rng.end.character)),
        )
        return []

    @server.feature(types.CODE_ACTION_RESOLVE)
    def resolve(action: types.CodeAction) -> types.CodeAction:
        return action
