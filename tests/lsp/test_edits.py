"""Streamed edits end to end: the real server, the fake provider, a simulated editor applying the edits."""

from __future__ import annotations

import asyncio

import pytest
from lsprotocol import types

from tests.clients import PRESETS
from tests.fake_glm import Cut, Reply, Stall, Text, reply_error, reply_text
from tests.lsp.conftest import execute, rng, until
from tests.lsp.editor import Editor

SOURCE = (
    "import math\n"
    "\n"
    "def area(r):\n"
    "    # 半径 😀\n"
    "    return math.pi * r *\n"
    "\n"
    "print(area(2))\n"
)
FIXED_TARGET = "def area(r):\n    # 半径 😀\n    return math.pi * r * r\n"
FIXED = SOURCE.replace("    return math.pi * r *\n", "    return math.pi * r * r\n")


def answer(code: str, prose: bool = True) -> str:
    fenced = f"```python\n{code}```"
    return f"Here is the corrected code:\n\n{fenced}\n\nThe last line was missing an operand." if prose else fenced


def start_editor(client, preset: str, **kw) -> Editor:
    behaviour = {"vscode": "vscode", "neovim": "neovim", "neovim-0.12": "neovim", "helix": "helix"}[preset]
    return Editor(client, encoding=PRESETS[preset].expected_encoding, behaviour=behaviour, **kw)


def uri_of(workspace, name: str) -> str:
    path = workspace / name
    return path.as_uri()


@pytest.mark.parametrize("preset,echo,sync", [
    ("vscode", "before", "incremental"),
    ("neovim", "after", "incremental"),
    ("helix", "before", "full"),
    ("vscode", "after", "full"),
])
async def test_fix_streams_versioned_whole_line_edits(lsp, fake, workspace, preset, echo, sync):
    fake.push(reply_text(answer(FIXED_TARGET), chunk_size=5, delay=0.01, reasoning="thinking hard"))
    async with lsp(preset) as client:
        editor = start_editor(client, preset, echo=echo, sync=sync)
        uri = uri_of(workspace, "geo.py")
        editor.open(uri, SOURCE)
        result = await execute(client, "glm.fix", {"uri": uri, "range": rng("2:0-5:0")})
        await editor.wait_idle()
        assert editor.text(uri) == FIXED
        assert result["uri"] == uri
    assert editor.applied, "no applyEdit reached the editor"
    for applied in editor.applied:
        (change,) = applied.params.edit.document_changes
        assert change.text_document.version is not None
        for edit in change.edits:
            assert edit.range.start.character == 0
            assert edit.new_text == "" or edit.new_text.endswith("\n")
    assert "Here is the corrected code" not in editor.text(uri)
    sent = fake.requests[0].body["messages"][-1]["content"]
    assert "return math.pi * r *" in sent and "Fix the target code" in sent


async def test_a_long_rewrite_arrives_as_several_edits(lsp, fake, workspace):
    new = "def area(radius):\n    \"\"\"Area of a circle.\"\"\"\n    # 半径 😀\n    return math.pi * radius ** 2\n"
    fake.push(reply_text(answer(new), chunk_size=4, delay=0.03))
    async with lsp("vscode") as client:
        editor = start_editor(client, "vscode")
        uri = uri_of(workspace, "geo.py")
        editor.open(uri, SOURCE)
        await execute(client, "glm.rewrite", {"uri": uri, "range": rng("2:0-5:0"), "instruction": "rename r"})
        await editor.wait_idle()
        assert editor.text(uri) == SOURCE.replace(
            "def area(r):\n    # 半径 😀\n    return math.pi * r *\n", new)
    assert len(editor.applied) >= 3
    versions = [a.params.edit.document_changes[0].text_document.version for a in editor.applied]
    assert versions == sorted(versions) and len(set(versions)) == len(versions)
    assert "Instruction: rename r" in fake.requests[0].body["messages"][-1]["content"]


@pytest.mark.parametrize("encoding_preset", ["vscode", "neovim"])
async def test_lines_with_form_feed_and_line_separator(lsp, fake, workspace, encoding_preset):
    source = "a = 1\x0c # page\nb = '\u2028' + 'x'\nc = 3\n"
    target_new = "b = '\u2028' + 'y'\n"
    fake.push(reply_text(answer(target_new), chunk_size=3))
    async with lsp(encoding_preset) as client:
        editor = start_editor(client, encoding_preset)
        uri = uri_of(workspace, "ff.py")
        editor.open(uri, source)
        await execute(client, "glm.fix", {"uri": uri, "range": rng("1:0-1:3")})
        await editor.wait_idle()
        assert editor.text(uri) == "a = 1\x0c # page\n" + target_new + "c = 3\n"


async def test_empty_range_targets_the_enclosing_function(lsp, fake, workspace):
    fake.push(reply_text(answer('def area(r):\n    """Circle area."""\n    # 半径 😀\n    return math.pi * r *\n')))
    async with lsp("neovim") as client:
        editor = start_editor(client, "neovim")
        uri = uri_of(workspace, "geo.py")
        editor.open(uri, SOURCE)
        await execute(client, "glm.docstring", {"uri": uri, "range": rng("4:6-4:6")})
        await editor.wait_idle()
        assert '    """Circle area."""\n' in editor.text(uri)
        assert editor.text(uri).startswith("import math\n\ndef area(r):\n")
    target = fake.requests[0].body["messages"][-1]["content"]
    assert "Target, lines 3-5" in target


@pytest.mark.parametrize("how", ["glm.cancel", "progress", "500 mid-stream", "cut stream"])
async def test_cancel_or_failure_restores_the_original_and_closes_the_stream(lsp, fake, workspace, how):
    lines = "def area(r):\n    # rewritten 1\n    # rewritten 2\n"
    steps = [Text("```python\n" + lines)]
    if how == "500 mid-stream":
        steps += [Text("    x"), Cut()]
        fake.push(Reply(steps=steps))
    elif how == "cut stream":
        fake.push(Reply(steps=steps + [Text("    more\n")]))  # ends cleanly without finish: a cut stream
    else:
        fake.push(Reply(steps=steps + [Stall(60)]))
    async with lsp("vscode") as client:
        editor = start_editor(client, "vscode")
        uri = uri_of(workspace, "geo.py")
        editor.open(uri, SOURCE)
        pending = asyncio.create_task(execute(client, "glm.rewrite", {"uri": uri, "range": rng("2:0-5:0"), "instruction": "x"}))
        if how in ("glm.cancel", "progress"):
            await until(lambda: editor.text(uri) != SOURCE)  # something was streamed in
            if how == "glm.cancel":
                assert await execute(client, "glm.cancel") is True
            else:
                (token,) = client.progress_reports
                client.window_work_done_progress_cancel(types.WorkDoneProgressCancelParams(token=token))
        assert await pending is None
        await editor.wait_idle()
        assert editor.text(uri) == SOURCE
        if how in ("500 mid-stream", "cut stream"):
            await until(lambda: client.messages)
            assert "restored" in client.messages[-1].message
    if how in ("glm.cancel", "progress"):
        assert await fake.await_disconnect(0, 5)


async def test_upstream_error_before_any_edit_leaves_the_buffer_alone(lsp, fake, workspace):
    fake.push(reply_error(401))
    async with lsp("helix") as client:
        editor = start_editor(client, "helix")
        uri = uri_of(workspace, "geo.py")
        editor.open(uri, SOURCE)
        assert await execute(client, "glm.fix", {"uri": uri, "range": rng("2:0-5:0")}) is None
        await until(lambda: client.messages)
        assert "ZAI_API_KEY" in client.messages[-1].message
        assert editor.text(uri) == SOURCE


@pytest.mark.parametrize("where", ["above", "below"])
async def test_typing_outside_the_target_is_rebased_over(lsp, fake, workspace, where):
    fake.push(reply_text(answer(FIXED_TARGET), chunk_size=4, delay=0.03))
    async with lsp("vscode") as client:
        editor = start_editor(client, "vscode")
        uri = uri_of(workspace, "geo.py")
        editor.open(uri, SOURCE)
        typed = []

        def type_once(applied):
            if not typed:
                typed.append(True)
                if where == "above":
                    editor.type(uri, (0, 0), "# user was here\n")
                else:  # just above the last line, wherever it is now
                    line = editor.text(uri).split("\n").index("print(area(2))")
                    editor.type(uri, (line, 0), "# and here\n")

        editor.on_apply = type_once
        await execute(client, "glm.fix", {"uri": uri, "range": rng("2:0-5:0")})
        await editor.wait_idle()
        text = editor.text(uri)
    expected = ("# user was here\n" + FIXED) if where == "above" else FIXED.replace("print(area(2))\n", "# and here\nprint(area(2))\n")
    assert text == expected


async def test_typing_inside_the_target_stops_the_stream_and_keeps_the_users_text(lsp, fake, workspace):
    fake.push(Reply(steps=[Text("```python\ndef area(r):\n    # new 1\n"), Stall(0.5), Text("    # new 2\n```\n")]))
    async with lsp("vscode") as client:
        editor = start_editor(client, "vscode")
        uri = uri_of(workspace, "geo.py")
        editor.open(uri, SOURCE)
        await until(lambda: False if not editor.applied else True, timeout=0.01) if False else None
        pending = asyncio.create_task(execute(client, "glm.rewrite", {"uri": uri, "range": rng("2:0-5:0"), "instruction": "x"}))
        await until(lambda: editor.applied)
        await editor.wait_idle(quiet=0.1)
        editor.type(uri, (2, 4), "USER")
        assert await pending is None
        await editor.wait_idle()
        text = editor.text(uri)
        await until(lambda: client.messages)
        assert "your text was kept" in client.messages[-1].message
    assert "USER" in text
    assert "# new 2" not in text


async def test_keystroke_crossing_an_edit_vscode_refuses_then_server_rebases(lsp, fake, workspace):
    fake.push(reply_text(answer(FIXED_TARGET), chunk_size=4, delay=0.02))
    async with lsp("vscode") as client:
        editor = start_editor(client, "vscode")
        uri = uri_of(workspace, "geo.py")
        editor.open(uri, SOURCE)
        crossed = []

        def cross(params):
            if not crossed:
                crossed.append(True)
                editor.type(uri, (0, 0), "# typed\n")  # the keystroke lands before the edit is applied

        editor.before_apply = cross
        await execute(client, "glm.fix", {"uri": uri, "range": rng("2:0-5:0")})
        await editor.wait_idle()
        assert editor.text(uri) == "# typed\n" + FIXED
    assert any(not a.result.applied for a in editor.applied)


async def test_keystroke_crossing_an_edit_neovim_skips_silently_then_server_resends(lsp, fake, workspace):
    fake.push(reply_text(answer(FIXED_TARGET), chunk_size=4, delay=0.02))
    async with lsp("neovim") as client:
        editor = start_editor(client, "neovim")
        uri = uri_of(workspace, "geo.py")
        editor.open(uri, SOURCE)
        crossed = []

        def cross(params):
            if not crossed:
                crossed.append(True)
                editor.type(uri, (0, 0), "# typed\n")

        editor.before_apply = cross
        await execute(client, "glm.fix", {"uri": uri, "range": rng("2:0-5:0")})
        await editor.wait_idle()
        assert editor.text(uri) == "# typed\n" + FIXED
    assert any(a.skipped for a in editor.applied)


async def test_client_refusing_an_edit_stops_and_restores(lsp, fake, workspace):
    fake.push(reply_text(answer(FIXED_TARGET), chunk_size=4, delay=0.02))
    async with lsp("vscode") as client:
        editor = start_editor(client, "vscode")
        uri = uri_of(workspace, "geo.py")
        editor.open(uri, SOURCE)
        refused = []

        def refuse_second(applied):
            if len(editor.applied) == 1 and not refused:
                refused.append(True)
                editor.refuse_next = 1

        editor.on_apply = refuse_second
        assert await execute(client, "glm.fix", {"uri": uri, "range": rng("2:0-5:0")}) is None
        await editor.wait_idle()
        assert editor.text(uri) == SOURCE
        await until(lambda: client.messages)
        assert "refused" in client.messages[-1].message


async def test_revert_after_a_fix_and_refused_after_a_user_edit_inside(lsp, fake, workspace):
    fake.push(reply_text(answer(FIXED_TARGET)), reply_text(answer(FIXED_TARGET)))
    async with lsp("vscode") as client:
        editor = start_editor(client, "vscode")
        uri = uri_of(workspace, "geo.py")
        editor.open(uri, SOURCE)
        await execute(client, "glm.fix", {"uri": uri, "range": rng("2:0-5:0")})
        await editor.wait_idle()
        assert editor.text(uri) == FIXED
        editor.type(uri, (0, 0), "# above is fine\n")
        await asyncio.sleep(0.1)
        assert await execute(client, "glm.revert", {"uri": uri}) is True
        await editor.wait_idle()
        assert editor.text(uri) == "# above is fine\n" + SOURCE
        # a second fix, then the user edits inside it: revert must refuse
        await execute(client, "glm.fix", {"uri": uri, "range": rng("3:0-6:0")})
        await editor.wait_idle()
        editor.type(uri, (5, 0), "    # mine\n")
        await asyncio.sleep(0.1)
        before = editor.text(uri)
        assert await execute(client, "glm.revert") is False
        assert editor.text(uri) == before
        await until(lambda: any("not reverting" in m.message for m in client.messages))


async def test_edits_stream_false_applies_once(lsp, fake, workspace):
    fake.push(reply_text(answer(FIXED_TARGET), chunk_size=3, delay=0.01))
    async with lsp("vscode", init_options={"edits": {"stream": False}}) as client:
        editor = start_editor(client, "vscode")
        uri = uri_of(workspace, "geo.py")
        editor.open(uri, SOURCE)
        await execute(client, "glm.fix", {"uri": uri, "range": rng("2:0-5:0")})
        await editor.wait_idle()
        assert editor.text(uri) == FIXED
    assert len(editor.applied) == 1
    (edit,) = editor.applied[0].params.edit.document_changes[0].edits
    assert edit.new_text == "    return math.pi * r * r\n"  # minimal: only the changed line


async def test_a_second_request_on_the_same_document_supersedes_the_first(lsp, fake, workspace):
    fake.push(Reply(steps=[Text("```python\ndef area(r):\n    # first\n"), Stall(60)]), reply_text(answer(FIXED_TARGET)))
    async with lsp("vscode") as client:
        editor = start_editor(client, "vscode")
        uri = uri_of(workspace, "geo.py")
        editor.open(uri, SOURCE)
        first = asyncio.create_task(execute(client, "glm.rewrite", {"uri": uri, "range": rng("2:0-5:0"), "instruction": "x"}))
        await until(lambda: "# first" in editor.text(uri))
        await execute(client, "glm.fix", {"uri": uri, "range": rng("2:0-5:0")})
        assert await first is None
        await editor.wait_idle()
        assert editor.text(uri) == FIXED
    assert await fake.await_disconnect(0, 5)


async def test_rewrite_without_instruction_offers_set_rewrites(lsp, fake, workspace):
    fake.push(reply_text(answer(FIXED_TARGET)))
    async with lsp("vscode") as client:
        editor = start_editor(client, "vscode")
        editor.message_request_answer = "simplify"
        uri = uri_of(workspace, "geo.py")
        editor.open(uri, SOURCE)
        await execute(client, "glm.rewrite", {"uri": uri, "range": rng("2:0-5:0")})
        await editor.wait_idle()
        assert [a.title for a in editor.message_requests[0].actions] == [
            "simplify", "add type hints", "improve names", "make it faster"]
    assert "Simplify this code" in fake.requests[0].body["messages"][-1]["content"]


async def test_tests_go_into_a_new_file_next_to_the_source(lsp, fake, workspace):
    tests = "from geo import area\n\n\ndef test_area():\n    assert area(1) > 3\n"
    fake.push(reply_text(answer(tests)))
    async with lsp("vscode") as client:
        editor = start_editor(client, "vscode")
        uri = uri_of(workspace, "geo.py")
        editor.open(uri, SOURCE)
        result = await execute(client, "glm.tests", {"uri": uri, "range": rng("2:0-5:0")})
        await editor.wait_idle()
    test_uri = (workspace / "test_geo.py").as_uri()
    assert result == {"uri": test_uri}
    assert editor.files[test_uri] == tests
    assert test_uri in [d.uri for d in client.shown_documents]


async def test_tests_stream_onto_the_end_of_an_open_test_file(lsp, fake, workspace):
    (workspace / "tests").mkdir()
    existing = "import geo\n\ndef test_old():\n    assert True\n"
    new_tests = "def test_area():\n    assert geo.area(1) > 3\n"
    fake.push(reply_text(answer(new_tests), chunk_size=5, delay=0.01))
    async with lsp("neovim") as client:
        editor = start_editor(client, "neovim")
        uri = uri_of(workspace, "geo.py")
        test_uri = (workspace / "tests" / "test_geo.py").as_uri()
        editor.open(uri, SOURCE)
        editor.open(test_uri, existing)
        await execute(client, "glm.tests", {"uri": uri, "range": rng("2:0-5:0")})
        await editor.wait_idle()
        assert editor.text(test_uri) == existing + "\n" + new_tests
        assert editor.text(uri) == SOURCE


async def test_code_actions_are_listed_without_a_model_call_and_resolve_to_commands(lsp, fake, workspace):
    async with lsp("vscode") as client:
        editor = start_editor(client, "vscode")
        uri = uri_of(workspace, "geo.py")
        editor.open(uri, SOURCE)
        diagnostic = types.Diagnostic(range=types.Range(types.Position(4, 4), types.Position(4, 24)),
                                      message="invalid syntax", source="pyright")
        far = types.Diagnostic(range=types.Range(types.Position(0, 0), types.Position(0, 6)), message="unused import")
        actions = await client.text_document_code_action_async(types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=types.Range(types.Position(4, 0), types.Position(4, 10)),
            context=types.CodeActionContext(diagnostics=[diagnostic, far]),
        ))
        titles = [a.title for a in actions]
        assert titles == ["GLM: Fix", "GLM: Rewrite…", "GLM: Add docstring", "GLM: Generate tests", "GLM: Explain"]
        fix = actions[0]
        assert fix.kind == types.CodeActionKind.QuickFix
        assert [d.message for d in fix.diagnostics] == ["invalid syntax"]
        assert fix.command is None  # attached on resolve
        resolved = await client.code_action_resolve_async(fix)
        assert resolved.command.command == "glm.fix"
        only = await client.text_document_code_action_async(types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=types.Range(types.Position(4, 0), types.Position(4, 10)),
            context=types.CodeActionContext(diagnostics=[], only=[types.CodeActionKind.Source]),
        ))
        assert [a.title for a in only] == ["GLM: Generate tests"]
    assert fake.requests == []


async def test_fix_again_after_the_same_diagnostic_survives(lsp, fake, workspace):
    fake.push(reply_text(answer("def area(r):\n    # 半径 😀\n    return math.pi * r * 1\n")), reply_text(answer(FIXED_TARGET)))
    async with lsp("neovim") as client:
        editor = start_editor(client, "neovim")
        uri = uri_of(workspace, "geo.py")
        editor.open(uri, SOURCE)
        diagnostic = {"range": rng("4:4-4:24"), "message": "area is wrong", "source": "tests"}
        await execute(client, "glm.fix", {"uri": uri, "range": rng("2:0-5:0"), "diagnostics": [diagnostic]})
        await editor.wait_idle()
        actions = await client.text_document_code_action_async(types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=types.Range(types.Position(4, 0), types.Position(4, 10)),
            context=types.CodeActionContext(diagnostics=[types.Diagnostic(
                range=types.Range(types.Position(4, 4), types.Position(4, 24)), message="area is wrong", source="tests")]),
        ))
        assert actions[0].title == "GLM: Fix again"
        await execute(client, "glm.fix", {"uri": uri, "range": rng("2:0-5:0"), "diagnostics": [diagnostic]})
        await editor.wait_idle()
    second = fake.requests[1].body["messages"][-1]["content"]
    assert "previous attempt" in second and "math.pi * r * 1" in second


async def test_fix_that_breaks_the_syntax_says_so(lsp, fake, workspace):
    good = "def f(x):\n    return x\n"
    fake.push(reply_text(answer("def f(x:\n    return x\n")))
    async with lsp("helix") as client:
        editor = start_editor(client, "helix")
        uri = uri_of(workspace, "f.py")
        editor.open(uri, good)
        await execute(client, "glm.fix", {"uri": uri, "range": rng("0:0-2:0")})
        await editor.wait_idle()
        await until(lambda: any("syntax error" in m.message for m in client.messages))


async def test_explain_streams_into_a_markdown_document_and_hover_shows_it(lsp, fake, workspace):
    explanation = "Computes the **area** of a circle.\n\nIt is missing a factor.\n"
    fake.push(reply_text(explanation, chunk_size=6, delay=0.01))
    async with lsp("vscode") as client:
        editor = start_editor(client, "vscode")
        uri = uri_of(workspace, "geo.py")
        editor.open(uri, SOURCE)
        result = await execute(client, "glm.explain", {"uri": uri, "range": rng("2:0-5:0")})
        await editor.wait_idle()
        assert result == explanation
        (shown,) = client.shown_documents
        assert shown.uri.endswith("geo.py-L3-5.md") and shown.take_focus is False
        doc_text = editor.files[shown.uri]
        assert doc_text.endswith(explanation) and doc_text.startswith("# Explanation")
        versions = {a.params.edit.document_changes[0].text_document.version for a in editor.applied}
        assert versions == {None}
        hover = await client.text_document_hover_async(types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(3, 2)))
        assert hover.contents.value == explanation


async def test_explain_without_show_document_still_answers(lsp, fake, workspace):
    fake.push(reply_text("An explanation."))

    def no_show_document(caps):
        caps.window.show_document = None

    async with lsp("neovim", tweak=no_show_document) as client:
        editor = start_editor(client, "neovim")
        uri = uri_of(workspace, "geo.py")
        editor.open(uri, SOURCE)
        assert await execute(client, "glm.explain", {"uri": uri}) == "An explanation."
        assert client.shown_documents == []


async def test_show_prompt_returns_the_messages_the_provider_received(lsp, fake, workspace):
    fake.push(reply_text(answer(FIXED_TARGET)))
    async with lsp("vscode") as client:
        editor = start_editor(client, "vscode")
        uri = uri_of(workspace, "geo.py")
        editor.open(uri, SOURCE)
        await execute(client, "glm.fix", {"uri": uri, "range": rng("2:0-5:0")})
        await editor.wait_idle()
        shown = await execute(client, "glm.showPrompt")
    assert shown["messages"] == fake.requests[0].body["messages"]
