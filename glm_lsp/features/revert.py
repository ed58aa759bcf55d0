"""glm.revert: put back exactly the text the last AI edit in a document replaced, as one edit.

Refused, with a message, when the user has edited inside that region since (their
text would be lost); edits elsewhere in the document are fine (the region follows them).
"""

from __future__ import annotations

from lsprotocol import types

from glm_lsp.features.streaming import EditRefused, UserEditedInside


async def run(server, uri: str | None) -> bool:
    state = server.state
    if uri is None:
        session = state.latest_session()
        uri = session.uri if session else (next(reversed(state.ai_edits)) if state.ai_edits else None)
    record = state.ai_edits.get(uri) if uri else None
    if record is None:
        _show(server, types.MessageType.Info, "glm-lsp: no GLM edit to revert in this document.")
        return False
    tracker = record.tracker
    if tracker.conflict:
        _show(server, types.MessageType.Warning,
              "glm-lsp: not reverting: you edited inside the code GLM wrote, and reverting would lose that.")
        return False
    tracker.region.finish(record.replaced)
    try:
        await tracker.flush()
    except (EditRefused, UserEditedInside) as exc:
        _show(server, types.MessageType.Error, f"glm-lsp: revert failed: {exc or 'you edited the code meanwhile'}.")
        return False
    del state.ai_edits[uri]
    return True


def _show(server, kind: types.MessageType, message: str) -> None:
    server.window_show_message(types.ShowMessageParams(type=kind, message=message))
