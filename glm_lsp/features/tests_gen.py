"""glm.tests: unit tests for the target, written where the language expects them.

Python ``tests/test_<name>.py`` when the workspace has a ``tests/`` folder, else
``test_<name>.py`` beside the source; JavaScript/TypeScript ``<name>.test.<ext>``;
Go ``<name>_test.go``; Rust at the end of the same file (its unit-test convention);
Java ``<Name>Test.java``; others ``<name>_test.<ext>``. A test file open in the editor
gets the tests streamed onto its end; a closed one gets them appended in one edit, and
a missing one is created; either is then shown with ``window/showDocument``.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from urllib.parse import unquote, urlparse

from lsprotocol import types

from glm_lsp.context import scope
from glm_lsp.edits.region import Region, as_lines
from glm_lsp.features.progress import StreamProgress
from glm_lsp.features.streaming import EditRefused, EditSession, UserEditedInside
from glm_lsp.state import Session

log = logging.getLogger(__name__)


def test_path_for(source: Path, language: str, root: Path | None) -> Path:
    stem, suffix = source.stem, source.suffix
    if language == "python" or suffix == ".py":
        if root is not None and (root / "tests").is_dir():
            return root / "tests" / f"test_{stem}.py"
        return source.with_name(f"test_{stem}.py")
    if suffix in (".js", ".jsx", ".ts", ".tsx", ".mjs", ".cjs"):
        return source.with_name(f"{stem}.test{suffix}")
    if suffix == ".go":
        return source.with_name(f"{stem}_test.go")
    if suffix == ".rs":
        return source
    if suffix == ".java":
        return source.with_name(f"{stem}Test.java")
    return source.with_name(f"{stem}_test{suffix}")


async def run(server, target) -> dict | None:
    from glm_lsp.edits.extract import ExtractContext, StreamExtractor
    from glm_lsp.errors import GlmError
    from glm_lsp.features.transform import _code_task, _show
    from glm_lsp.prompts import tests as prompt
    from glm_lsp.providers.events import ChatRequest, Finish, TextDelta

    state = server.state
    settings = await state.settings()
    doc = state.documents.get(target.uri)
    state.check_allowed(target.uri, settings)
    parsed = urlparse(target.uri)
    if parsed.scheme != "file":
        raise GlmError("glm.tests needs a file on disk to put the tests beside.")
    test_path = test_path_for(Path(unquote(parsed.path)), doc.language_id, state.root)
    test_uri = test_path.as_uri()
    first, last = scope.target_lines(doc, target.range, state.encoding)
    task = _code_task(server, doc, first, last, None)
    redact = lambda text: state.context.redact(text, state.root, settings)  # noqa: E731
    task.target, task.before, task.after = redact(task.target), redact(task.before), redact(task.after)
    open_doc = state.documents.get(test_uri) if test_uri in state.documents else None
    existing = open_doc.text if open_doc else (test_path.read_text(encoding="utf-8") if test_path.is_file() else "")
    if test_uri != target.uri and state.context.excluded(test_uri, state.root, settings):
        existing = ""  # never send an excluded test file's content
    hint = f"Import the code under test from its module ({test_path.parent} is where the test file lives)."
    messages = prompt.messages(task, str(test_path.name), redact(existing), hint)
    state.last_prompts[target.uri] = messages

    newline = scope.newline_of(open_doc, 0) if open_doc else "\n"
    extractor = StreamExtractor(ExtractContext(original=newline, newline=newline, indent_unit="    "))
    session = Session("tests", test_uri if open_doc else target.uri, task=asyncio.current_task())
    state.start_session(session)
    edits = _open_session(server, open_doc) if open_doc else None
    if edits is not None:
        state.edit_sessions[test_uri] = edits
    progress = StreamProgress(server, "GLM: Generate tests", session.cancel)
    await progress.begin(f"Writing tests into {test_path.name}…")
    request = ChatRequest(messages=messages, thinking=settings.thinking != "disabled",
                          max_tokens=settings.max_tokens or 16384, temperature=settings.temperature or 0.6,
                          priority="action")
    try:
        async with state.provider(settings).stream(request) as events:
            async for event in events:
                if edits is not None and (edits.error or edits.conflict):
                    raise edits.error or UserEditedInside()
                if isinstance(event, TextDelta):
                    lines = extractor.feed(event.text)
                    if lines and edits is not None and settings.edits.stream:
                        edits.region.add(lines)
                        edits.kick()
                elif isinstance(event, Finish) and event.reason == "length":
                    raise GlmError("the answer was cut at maxTokens before the tests were complete.")
        tests = extractor.finish()
        if not tests.strip():
            raise GlmError("GLM-5.1 answered without any test code.")
        if edits is not None:
            await edits.settle()
            edits.region.finish(edits.region.written[: edits.prefix] + as_lines(tests))
            await edits.flush()
            state.record_ai_edit(server, test_uri, edits.region, edits.region.original)
        else:
            await _write_closed(server, test_path, existing, tests)
    except asyncio.CancelledError:
        await _undo(edits)
        progress.end("Cancelled")
        if session.cancelled_by_user:
            asyncio.current_task().uncancel()
            return None
        raise
    except (GlmError, EditRefused, UserEditedInside) as exc:
        if not isinstance(exc, UserEditedInside):
            await _undo(edits)
        progress.end("Failed")
        _show(server, types.MessageType.Error, f"GLM: Generate tests failed: {exc}")
        return None
    finally:
        if edits is not None and state.edit_sessions.get(test_uri) is edits:
            del state.edit_sessions[test_uri]
    progress.end("Done")
    await _show_document(server, test_uri)
    return {"uri": test_uri}


def _open_session(server, doc) -> EditSession:
    """A region at the end of the open test file; a blank line first separates the new tests."""
    last = doc.line_count - 1
    tail = doc.line_with_ending(last)
    newline = scope.newline_of(doc, last)
    region = Region([tail], last)
    prefix = [tail + newline] if tail else []  # finish the unterminated last line
    if doc.length and doc.text.strip():
        prefix.append(newline)
    region.written = list(prefix)
    region.consumed = 1
    session = EditSession(server, doc.uri, region)
    session.prefix = len(prefix)
    return session


async def _undo(edits: EditSession | None) -> None:
    if edits is None:
        return
    from glm_lsp.features.transform import _restore

    await _restore(edits)


async def _write_closed(server, path: Path, existing: str, tests: str) -> None:
    """One edit to a file the editor does not have open: append, or create it."""
    uri = path.as_uri()
    changes: list = []
    if path.is_file():
        lines = as_lines(existing) or [""]
        last = lines[-1]
        end = types.Position(line=len(lines) - 1 if not last.endswith(("\n", "\r")) else len(lines), character=0)
        if not last.endswith(("\n", "\r")):
            from glm_lsp.context.documents import index_to_units

            end = types.Position(line=len(lines) - 1, character=index_to_units(last, len(last), server.state.encoding))
        separator = ("\n" if existing and not existing.endswith(("\n", "\r")) else "") + ("\n" if existing.strip() else "")
        text = separator + tests
    else:
        changes.append(types.CreateFile(kind="create", uri=uri, options=types.CreateFileOptions(ignore_if_exists=True)))
        end = types.Position(line=0, character=0)
        text = tests
    changes.append(types.TextDocumentEdit(
        text_document=types.OptionalVersionedTextDocumentIdentifier(uri=uri, version=None),
        edits=[types.TextEdit(range=types.Range(start=end, end=end), new_text=text)],
    ))
    result = await server.workspace_apply_edit_async(
        types.ApplyWorkspaceEditParams(label="GLM: Generate tests", edit=types.WorkspaceEdit(document_changes=changes))
    )
    if not result.applied:
        path.parent.mkdir(parents=True, exist_ok=True)  # the editor would not: write the file ourselves
        path.write_text(existing + text if path.is_file() else text, encoding="utf-8")


async def _show_document(server, uri: str) -> None:
    window = server.client_capabilities.window
    if window and window.show_document and window.show_document.support:
        try:
            await asyncio.wait_for(
                server.window_show_document_async(types.ShowDocumentParams(uri=uri, take_focus=True)), 5
            )
        except Exception as exc:
            log.info("showDocument failed: %s", exc)
