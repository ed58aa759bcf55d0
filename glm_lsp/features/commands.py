"""workspace/executeCommand: every ``glm.*`` command, its argument, and where it acts.

One argument object ``{uri, range?, instruction?}``; only ``uri`` is required. With no
argument at all (Helix's ``:lsp-workspace-command``), a command acts on the place the
editor last asked about; revert/cancel/showPrompt act on the latest session.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from lsprotocol import types
from pygls.exceptions import JsonRpcException, JsonRpcInvalidParams

from glm_lsp.state import Range, is_helix

log = logging.getLogger(__name__)

COMMANDS = (
    "glm.fix",
    "glm.rewrite",
    "glm.docstring",
    "glm.tests",
    "glm.explain",
    "glm.usage",
    "glm.revert",
    "glm.cancel",
    "glm.showPrompt",
)
NOT_YET: set[str] = set()


class RequestFailed(JsonRpcException):
    """LSP's RequestFailed: the request was valid but cannot be served."""

    CODE = -32803


@dataclass
class Target:
    uri: str
    range: Range | None = None
    instruction: str | None = None
    diagnostics: list[dict] | None = None  # sent by the Fix code action: only those in the range


def register(server) -> None:
    for name in COMMANDS:
        server.command(name)(_handler(name))


def _handler(name: str):
    async def handler(ls, *args):
        tasks, msg_id = ls.protocol.command_tasks, ls.protocol.msg_id
        tasks[msg_id] = asyncio.current_task()  # so $/cancelRequest can reach it
        try:
            return await run(ls, name, list(args))
        finally:
            tasks.pop(msg_id, None)

    handler.__name__ = name.replace(".", "_")
    return handler


async def run(server, name: str, args: list):
    """Dispatch; a refusal with a reason (an excluded file, no instruction…) is shown, not thrown."""
    from glm_lsp.errors import GlmError

    try:
        return await _dispatch(server, name, args)
    except GlmError as exc:
        server.state.tell(server, types.MessageType.Error, f"glm-lsp: {exc}")
        return None


async def _dispatch(server, name: str, args: list):
    state = server.state
    if name in NOT_YET:
        raise RequestFailed(f"{name} is not available yet in glm-lsp {server.version}.")
    if name == "glm.usage":
        summary = server.state.usage.summary()
        if is_helix(server):  # Helix drops command results: show it
            today, session = summary["today"], summary["session"]
            server.window_show_message(types.ShowMessageParams(type=types.MessageType.Info, message=(
                f"glm-lsp usage: today {today['tokens']} tokens in {today['requests']} requests; "
                f"this session {session['tokens']} tokens.")))
        return summary
    if name == "glm.cancel":
        return cancel(server, _optional_uri(name, args))
    if name == "glm.showPrompt":
        return show_prompt(server, _optional_uri(name, args))
    if name == "glm.revert":
        from glm_lsp.features import revert

        return await revert.run(server, _optional_uri(name, args))
    target = parse_target(name, args, state)
    if target.uri not in state.documents:
        raise JsonRpcInvalidParams(
            f"{target.uri} is not open in the editor; glm-lsp only reads documents the editor "
            "has opened (open the file and try again)."
        )
    if name == "glm.explain":
        from glm_lsp.features import explain

        return await explain.run(server, target)
    if name == "glm.tests":
        from glm_lsp.features import tests_gen

        return await tests_gen.run(server, target)
    from glm_lsp.features import transform

    kind = name.removeprefix("glm.")
    return await transform.run(server, kind, target, instruction=target.instruction, diagnostics=target.diagnostics)


def parse_target(name: str, args: list, state) -> Target:
    if not args or args[0] is None:
        place = state.last_place
        if place is None:
            raise JsonRpcInvalidParams(
                f"{name} has no place to act on yet: select code and open the code actions menu "
                "first, or pass {uri, range} as the command's argument."
            )
        return Target(place.uri, place.range)
    arg = args[0]
    if not isinstance(arg, dict) or not isinstance(arg.get("uri"), str):
        raise JsonRpcInvalidParams(
            f"{name} takes one argument {{uri, range?, instruction?}} with uri a string; got {_short(arg)}."
        )
    instruction = arg.get("instruction")
    if instruction is not None and not isinstance(instruction, str):
        raise JsonRpcInvalidParams(f"{name}: instruction must be a string; got {_short(instruction)}.")
    diagnostics = arg.get("diagnostics")
    if diagnostics is not None and not (isinstance(diagnostics, list) and all(_is_diagnostic(d) for d in diagnostics)):
        raise JsonRpcInvalidParams(
            f"{name}: diagnostics must be a list of LSP diagnostics ({{range, message}}); got {_short(diagnostics)}."
        )
    return Target(arg["uri"], _parse_range(name, arg.get("range")), instruction, diagnostics)


def _parse_range(name: str, value) -> Range | None:
    if value is None:
        return None
    try:
        start, end = value["start"], value["end"]
        points = [(start["line"], start["character"]), (end["line"], end["character"])]
    except (TypeError, KeyError):
        points = None
    if points is None or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for p in points for n in p):
        raise JsonRpcInvalidParams(
            f"{name}: range must be {{start: {{line, character}}, end: {{line, character}}}} with "
            f"non-negative whole numbers; got {_short(value)}."
        )
    return (points[0], points[1])


def _is_diagnostic(value) -> bool:
    if not isinstance(value, dict) or not isinstance(value.get("message"), str):
        return False
    try:
        _parse_range("diagnostic", value.get("range"))
    except JsonRpcInvalidParams:
        return False
    return isinstance(value.get("range"), dict)


def _optional_uri(name: str, args: list) -> str | None:
    if not args or args[0] is None:
        return None
    if isinstance(args[0], dict) and isinstance(args[0].get("uri"), str):
        return args[0]["uri"]
    raise JsonRpcInvalidParams(f"{name} takes no argument or {{uri}}; got {_short(args[0])}.")


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def cancel(server, uri: str | None) -> bool:
    session = server.state.latest_session(uri)
    if session is None or not session.cancel():
        server.window_show_message(
            types.ShowMessageParams(type=types.MessageType.Info, message="glm-lsp: nothing to cancel, no GLM request is running.")
        )
        return False
    return True


def show_prompt(server, uri: str | None):
    prompts = server.state.last_prompts
    if uri is None:
        session = server.state.latest_session()
        uri = session.uri if session else None
    if uri is None or uri not in prompts:
        server.window_show_message(
            types.ShowMessageParams(
                type=types.MessageType.Info,
                message="glm-lsp: no prompt sent yet for this document; run a GLM command on it first.",
            )
        )
        return None
    context = server.state.last_contexts.get(uri)
    return {
        "uri": uri,
        "snippets": context.report() if context else [],
        "excluded": context.excluded if context else [],
        "messages": prompts[uri],
    }
