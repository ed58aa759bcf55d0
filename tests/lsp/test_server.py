"""The server end to end: capabilities, settings from the editor, documents, commands, glm.explain."""

from __future__ import annotations

import asyncio
import random

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcException

from tests.clients import PRESETS, preset_names
from tests.fake_glm import Reply, Stall, Text, reply_error, reply_text
from tests.faults.conftest import reconfigure
from tests.lsp.conftest import (
    TEST_KEY,
    count_configuration_pulls,
    execute,
    open_doc,
    rng,
    until,
)
from tests.unit.test_documents import ref_apply, ref_lines

COMMANDS = {"glm.fix", "glm.rewrite", "glm.docstring", "glm.tests", "glm.explain", "glm.usage",
            "glm.revert", "glm.cancel", "glm.showPrompt"}
CODE = "def add(a, b):\n    # 中文 😀\n    return a + b\n\nprint(add(1, 2))\n"


def last_user_message(fake, index=-1) -> str:
    return fake.requests[index].body["messages"][-1]["content"]


@pytest.mark.parametrize("preset", preset_names())
async def test_initialize_advertises_the_contract(lsp, preset):
    async with lsp(preset) as client:
        caps = client.init_result.capabilities
        assert set(caps.execute_command_provider.commands) == COMMANDS
        assert caps.code_action_provider.resolve_provider is True
        sync = caps.text_document_sync
        assert sync.change == types.TextDocumentSyncKind.Incremental and sync.open_close
        assert caps.position_encoding == PRESETS[preset].expected_encoding
        assert client.init_result.server_info.name == "glm-lsp"


async def test_settings_from_initialization_options(lsp, fake, workspace):
    async with lsp(init_options={"model": "glm-from-init", "thinking": "disabled"}) as client:
        uri = open_doc(client, workspace, "a.py", CODE)
        await execute(client, "glm.explain", {"uri": uri, "range": rng("0:0-2:16")})
    body = fake.requests[0].body
    assert body["model"] == "glm-from-init" and body["thinking"] == {"type": "disabled"}
    assert fake.requests[0].headers["authorization"] == f"Bearer {TEST_KEY}"


async def test_workspace_configuration_wins_and_changes_apply_without_restart(lsp, fake, workspace):
    async with lsp(init_options={"model": "from-init"}, configuration={"model": "from-config"}) as client:
        uri = open_doc(client, workspace, "a.py", CODE)
        await execute(client, "glm.explain", {"uri": uri})
        count_configuration_pulls(client)
        await reconfigure(client, {"model": "changed"})
        await execute(client, "glm.explain", {"uri": uri})
    assert [r.body["model"] for r in fake.requests] == ["from-config", "changed"]


async def test_invalid_settings_show_one_message_and_keep_the_last_good(lsp, fake, workspace):
    async with lsp(init_options={"provider": "nope"}, configuration={"model": "good-model"}) as client:
        await until(lambda: client.messages)
        message = client.messages[0].message
        assert "provider" in message and "'nope'" in message and "zai, bigmodel, oxen, runware, openai" in message
        uri = open_doc(client, workspace, "a.py", CODE)
        await execute(client, "glm.explain", {"uri": uri})
        client.set_configuration({"model": "good-model", "completion": {"debounceMs": -5}}, section="glm")
        client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings=None))
        await until(lambda: len(client.messages) >= 2)
        assert "completion.debounceMs" in client.messages[1].message and ">= 0" in client.messages[1].message
        await execute(client, "glm.explain", {"uri": uri})
    assert [r.body["model"] for r in fake.requests] == ["good-model", "good-model"]
    assert fake.requests[0].path == "/api/paas/v4/chat/completions"


@pytest.mark.parametrize("preset", preset_names())
async def test_document_store_follows_random_incremental_edits(lsp, fake, workspace, preset):
    alphabet = ["a", "b", " ", "é", "中", "😀", "\n", "\r\n", "\r", "\x0c", "\u2028", "\t"]
    encoding = PRESETS[preset].expected_encoding
    rand = random.Random(preset)
    text = "".join(rand.choice(alphabet) for _ in range(60))
    async with lsp(preset) as client:
        uri = open_doc(client, workspace, "doc.txt", text, language="plaintext")
        for version in range(2, 60):
            lines = ref_lines(text)
            points = []
            for _ in range(2):
                line = rand.randrange(len(lines) + 1)
                points.append((line, rand.randrange(12)))
            points.sort()
            new = "".join(rand.choice(alphabet) for _ in range(rand.randrange(4)))
            (sl, sc), (el, ec) = points
            text = ref_apply(text, new, ((sl, sc), (el, ec)), encoding)
            client.text_document_did_change(types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
                content_changes=[types.TextDocumentContentChangePartial(
                    range=types.Range(types.Position(sl, sc), types.Position(el, ec)), text=new)],
            ))
        end = len(ref_lines(text))
        await execute(client, "glm.explain", {"uri": uri, "range": rng(f"0:0-{end}:0")})
    if text.strip():
        assert text.rstrip() in last_user_message(fake)


@pytest.mark.parametrize("preset", preset_names())
async def test_explain_streams_under_progress_and_returns_the_text(lsp, fake, workspace, preset):
    explanation = "`add` returns the sum of its two arguments: 中文 😀 fine."
    fake.push(reply_text(explanation, reasoning="SECRET-REASONING", chunk_size=3, delay=0.01))
    async with lsp(preset) as client:
        uri = open_doc(client, workspace, "a.py", CODE)
        result = await execute(client, "glm.explain", {"uri": uri, "range": rng("0:0-2:16")})
        assert result == explanation
        (token,) = client.progress_reports
        reports = client.progress_reports[token]
        assert isinstance(reports[0], types.WorkDoneProgressBegin) and reports[0].cancellable
        assert isinstance(reports[-1], types.WorkDoneProgressEnd)
        texts = [r.message for r in reports[1:-1] if r.message != "GLM-5.1 is thinking…"]
        assert "".join(texts) == explanation
        assert len(texts) < len(explanation) / 3  # coalesced: fewer reports than chunks
        assert all("SECRET-REASONING" not in (r.message or "") for r in reports)
    sent = last_user_message(fake)
    assert "def add(a, b):" in sent and "return a + b" in sent and "print(" not in sent
    assert "a.py" in sent and "python" in sent
    assert fake.requests[0].body["thinking"] == {"type": "enabled"}


async def test_explain_with_an_empty_range_takes_the_enclosing_block(lsp, fake, workspace):
    async with lsp() as client:
        uri = open_doc(client, workspace, "a.py", CODE)
        await execute(client, "glm.explain", {"uri": uri, "range": rng("2:4-2:4")})
    sent = last_user_message(fake)
    assert "def add(a, b):" in sent and "return a + b" in sent and "print(" not in sent


async def test_explain_cancelled_from_the_progress_button(lsp, fake, workspace):
    fake.push(Reply(steps=[Text("first words"), Stall(60)]))
    async with lsp() as client:
        uri = open_doc(client, workspace, "a.py", CODE)
        pending = asyncio.create_task(execute(client, "glm.explain", {"uri": uri}))
        await until(lambda: any(len(r) >= 2 for r in client.progress_reports.values()))
        (token,) = client.progress_reports
        client.window_work_done_progress_cancel(types.WorkDoneProgressCancelParams(token=token))
        assert await pending is None
        assert await fake.await_disconnect(0, 5)
        assert isinstance(client.progress_reports[token][-1], types.WorkDoneProgressEnd)
        fake.push(reply_text("served again"))
        assert await execute(client, "glm.explain", {"uri": uri}) == "served again"


async def test_explain_cancelled_with_glm_cancel(lsp, fake, workspace):
    fake.push(Reply(steps=[Text("first"), Stall(60)]))
    async with lsp("helix") as client:
        uri = open_doc(client, workspace, "a.py", CODE)
        pending = asyncio.create_task(execute(client, "glm.explain", {"uri": uri}))
        await until(lambda: fake.requests)
        await asyncio.sleep(0.1)
        assert await execute(client, "glm.cancel") is True
        assert await pending is None
        assert await fake.await_disconnect(0, 5)


async def test_explain_cancelled_with_cancel_request(lsp, fake, workspace):
    fake.push(Reply(steps=[Text("first"), Stall(60)]))
    async with lsp("neovim") as client:
        uri = open_doc(client, workspace, "a.py", CODE)
        future = client.protocol.send_request(
            types.WORKSPACE_EXECUTE_COMMAND,
            types.ExecuteCommandParams(command="glm.explain", arguments=[{"uri": uri}]),
            msg_id="explain-1",
        )
        await until(lambda: fake.requests)
        await asyncio.sleep(0.1)
        client.cancel_request(types.CancelParams(id="explain-1"))
        with pytest.raises(JsonRpcException) as caught:
            await asyncio.wait_for(asyncio.wrap_future(future) if not asyncio.isfuture(future) else future, 5)
        assert caught.value.code == -32800
        assert await fake.await_disconnect(0, 5)


@pytest.mark.parametrize("status,words", [(401, "ZAI_API_KEY"), (500, "server error")])
async def test_upstream_errors_are_shown_and_the_next_request_is_served(lsp, fake, workspace, status, words):
    fake.push(reply_error(status))
    async with lsp() as client:
        uri = open_doc(client, workspace, "a.py", CODE)
        assert await execute(client, "glm.explain", {"uri": uri}) is None
        await until(lambda: client.messages)
        (shown,) = client.messages
        assert shown.type == types.MessageType.Error and words in shown.message
        assert TEST_KEY not in shown.message
        fake.push(reply_text("works again"))
        assert await execute(client, "glm.explain", {"uri": uri}) == "works again"


async def test_command_without_arguments_acts_on_the_last_code_action_place(lsp, fake, workspace):
    async with lsp("helix") as client:
        uri = open_doc(client, workspace, "a.py", CODE)
        with pytest.raises(JsonRpcException) as caught:
            await execute(client, "glm.explain")
        assert "no place to act on" in caught.value.message
        actions = await client.text_document_code_action_async(types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=types.Range(types.Position(4, 0), types.Position(4, 16)),
            context=types.CodeActionContext(diagnostics=[]),
        ))
        assert [a.title for a in actions][-2:] == ["GLM: Generate tests", "GLM: Explain"]
        await execute(client, "glm.explain")
    sent = last_user_message(fake)
    assert "Lines 5-5:" in sent and "print(add(1, 2))" in sent


async def test_unknown_uri_unknown_command_and_bad_arguments(lsp, fake, workspace):
    async with lsp() as client:
        missing = (workspace / "never-opened.py")
        missing.write_text("SECRET_ON_DISK = 1\n")
        with pytest.raises(JsonRpcException) as caught:
            await execute(client, "glm.explain", {"uri": missing.as_uri()})
        assert "not open in the editor" in caught.value.message
        with pytest.raises(JsonRpcException) as caught:
            await execute(client, "glm.nope", {"uri": missing.as_uri()})
        assert "glm.nope" in caught.value.message
        with pytest.raises(JsonRpcException) as caught:
            await execute(client, "glm.explain", {"uri": missing.as_uri(), "range": {"start": 3}})
        assert "range must be" in caught.value.message
        usage = await execute(client, "glm.usage")
        assert usage["session"]["tokens"] == 0
        uri = open_doc(client, workspace, "a.py", CODE)
        client.text_document_did_close(types.DidCloseTextDocumentParams(types.TextDocumentIdentifier(uri=uri)))
        with pytest.raises(JsonRpcException) as caught:
            await execute(client, "glm.explain", {"uri": uri})
        assert "not open" in caught.value.message
    assert fake.requests == []


async def test_show_prompt_returns_what_was_sent(lsp, fake, workspace):
    async with lsp() as client:
        uri = open_doc(client, workspace, "a.py", CODE)
        await execute(client, "glm.explain", {"uri": uri})
        shown = await execute(client, "glm.showPrompt", {"uri": uri})
    assert shown["messages"] == fake.requests[0].body["messages"]
    assert TEST_KEY not in str(shown)
