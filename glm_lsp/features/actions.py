"""textDocument/codeAction and codeAction/resolve: the GLM actions, listed for free.

Listing costs no model call: each action carries its command's argument in ``data``
and ``codeAction/resolve`` attaches the ``glm.*`` command; the model runs inside the
command. Clients that cannot resolve a command (no resolveSupport for "command",
or Helix 25.01, which runs only the command of the action as first listed) get the
command at once. Fix is a ``quickfix`` carrying only the diagnostics that overlap
the range, and becomes "Fix again" when the same diagnostics survived a GLM fix.
The place asked about is remembered for commands sent without arguments.
"""

from __future__ import annotations

from lsprotocol import types

from glm_lsp.prompts.rewrite import PRESETS
from glm_lsp.state import Place, is_helix

KINDS = [types.CodeActionKind.QuickFix, types.CodeActionKind.RefactorRewrite, types.CodeActionKind.Source,
         types.CodeActionKind.Empty]


def register(server) -> None:
    state = server.state

    @server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(code_action_kinds=KINDS, resolve_provider=True),
    )
    def code_action(params: types.CodeActionParams) -> list[types.CodeAction] | None:
        uri, rng = params.text_document.uri, params.range
        if uri not in state.documents:
            return None
        state.last_place = Place(uri, ((rng.start.line, rng.start.character), (rng.end.line, rng.end.character)))
        argument = {"uri": uri, "range": _range_json(rng)}
        diagnostics = [d for d in params.context.diagnostics if _overlaps(d.range, rng)]
        actions = []
        if diagnostics:
            raw = [server.protocol._converter.unstructure(d) for d in diagnostics]
            again = state.previous_fix(uri, raw) is not None
            actions.append(_action(server, "GLM: Fix again" if again else "GLM: Fix", types.CodeActionKind.QuickFix,
                                   "glm.fix", {**argument, "diagnostics": raw}, diagnostics))
        else:
            actions.append(_action(server, "GLM: Fix", types.CodeActionKind.RefactorRewrite, "glm.fix", argument))
        if _is_helix(server):
            for name in PRESETS:
                actions.append(_action(server, f"GLM: Rewrite: {name}", types.CodeActionKind.RefactorRewrite,
                                       "glm.rewrite", {**argument, "instruction": PRESETS[name]}))
        else:
            actions.append(_action(server, "GLM: Rewrite…", types.CodeActionKind.RefactorRewrite, "glm.rewrite", argument))
        actions.append(_action(server, "GLM: Add docstring", types.CodeActionKind.RefactorRewrite, "glm.docstring", argument))
        actions.append(_action(server, "GLM: Generate tests", types.CodeActionKind.Source, "glm.tests", argument))
        actions.append(_action(server, "GLM: Explain", types.CodeActionKind.Empty, "glm.explain", argument))
        only = params.context.only
        if only:
            actions = [a for a in actions if any(_kind_matches(a.kind, k) for k in only)]
        return actions

    @server.feature(types.CODE_ACTION_RESOLVE)
    def resolve(action: types.CodeAction) -> types.CodeAction:
        data = action.data if isinstance(action.data, dict) else {}
        if action.command is None and isinstance(data.get("command"), str) and isinstance(data.get("argument"), dict):
            action.command = types.Command(title=action.title, command=data["command"], arguments=[data["argument"]])
        return action


def _action(server, title, kind, command, argument, diagnostics=None) -> types.CodeAction:
    action = types.CodeAction(title=title, kind=kind, diagnostics=diagnostics or None,
                              data={"command": command, "argument": argument})
    if not _resolves_commands(server):
        action.command = types.Command(title=title, command=command, arguments=[argument])
    return action


def _resolves_commands(server) -> bool:
    text_document = server.client_capabilities.text_document
    code_action = text_document.code_action if text_document else None
    support = code_action.resolve_support if code_action else None
    return bool(support and "command" in support.properties) and not _is_helix(server)


def _is_helix(server) -> bool:
    return is_helix(server)


def _kind_matches(kind: str, wanted: str) -> bool:
    return kind == wanted or kind.startswith(wanted + ".") or (wanted == "" and kind == "")


def _overlaps(a: types.Range, b: types.Range) -> bool:
    return (a.start.line, a.start.character) <= (b.end.line, b.end.character) and (
        b.start.line, b.start.character) <= (a.end.line, a.end.character)


def _range_json(rng: types.Range) -> dict:
    return {"start": {"line": rng.start.line, "character": rng.start.character},
            "end": {"line": rng.end.line, "character": rng.end.character}}
