"""Inline completion and completion items end to end: real server, fake provider, real positions."""

from __future__ import annotations

import asyncio
import re

import pytest
from lsprotocol import types

from tests.clients import PRESETS
from tests.fake_glm import Reply, Text, Usage, reply_text
from tests.lsp.conftest import execute, until
from tests.lsp.editor import Editor

BODY = "def total(items):\n    \n"
# Lines before the code, so that a completion holds only the text around the cursor (far
# more than the 120 lines and ~5,000 characters it keeps before it).
FILLER = "".join(f"value_{n} = {n}  # a line of filler that makes the file long\n" for n in range(600))
LEADS = pytest.mark.parametrize("lead", ["", FILLER], ids=["short file", "long file"])


def editor_for(client, preset: str) -> Editor:
    behaviour = "neovim" if preset.startswith("neovim") else preset
    return Editor(client, encoding=PRESETS[preset].expected_encoding, behaviour=behaviour)


async def inline(client, uri: str, line: int, character: int, automatic: bool = False, timeout: float = 10):
    kind = types.InlineCompletionTriggerKind.Automatic if automatic else types.InlineCompletionTriggerKind.Invoked
    params = types.InlineCompletionParams(
        text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(line, character),
        context=types.InlineCompletionContext(trigger_kind=kind),
    )
    return await asyncio.wait_for(client.text_document_inline_completion_async(params), timeout)


async def prompt_sent(lsp, fake, workspace, code: str, at: tuple[int, int], idle: float = 0.0) -> str:
    """Open ``code`` as shop.py, wait ``idle`` seconds, ask for one completion at ``at``: the
    prompt the fake provider received."""
    async with lsp("vscode", init_options={"completion": {"debounceMs": 0}}) as client:
        uri = (workspace / "shop.py").as_uri()
        Editor(client).open(uri, code)
        await asyncio.sleep(idle)
        await inline(client, uri, *at)
    [request] = fake.requests
    return request.body["messages"][-1]["content"]


def accept(editor: Editor, uri: str, item: types.InlineCompletionItem) -> None:
    editor.type(uri, (item.range.start.line, item.range.start.character), item.insert_text,
                (item.range.end.line, item.range.end.character))


def cursor_at(text: str, marker: str = "|") -> tuple[str, int, int]:
    """Text with a | marker → (text, line, python index in that line)."""
    before, after = text.split(marker)
    line = before.count("\n")
    return before + after, line, len(before.rsplit("\n", 1)[-1])


def units(line_text: str, index: int, encoding: str) -> int:
    if encoding == "utf-16":
        return sum(2 if ord(c) > 0xFFFF else 1 for c in line_text[:index])
    if encoding == "utf-8":
        return len(line_text[:index].encode("utf-8"))
    return index


@pytest.mark.parametrize("preset", ["neovim-0.12", "vscode"])
@pytest.mark.parametrize("case,answer,expected_line", [
    ("def total(items):\n    |\n", "return sum(items)", "    return sum(items)"),
    ("x = compute(|)\n", "a, b", "x = compute(a, b)"),
    ("x = compute(|)\n", "a, b )", "x = compute(a, b)"),  # the repeated ")" cut, with the space before it
    ("import os\nprint(os.|", "getcwd())", "print(os.getcwd())"),
    ("名前 = '😀'; result = na|\n", "me_of(名前)", "名前 = '😀'; result = name_of(名前)"),
])
async def test_inline_completion_lands_in_the_right_place(lsp, fake, workspace, preset, case, answer, expected_line):
    text, line, index = cursor_at(case)
    fake.push(reply_text(answer, chunk_size=3))
    async with lsp(preset) as client:
        editor = editor_for(client, preset)
        uri = (workspace / "c.py").as_uri()
        editor.open(uri, text)
        encoding = PRESETS[preset].expected_encoding
        result = await inline(client, uri, line, units(text.split("\n")[line], index, encoding))
        (item,) = result.items
        accept(editor, uri, item)
        assert editor.text(uri).split("\n")[line] == expected_line
    body = fake.requests[0].body
    assert body["thinking"] == {"type": "disabled"}
    assert "<|CURSOR|>" in body["messages"][-1]["content"]
    assert body["max_tokens"] == 128 and body["temperature"] <= 0.3


async def test_messy_answer_is_cleaned(lsp, fake, workspace):
    fake.push(reply_text("<think>hmm</think>Here you go:\n```python\nreturn sum(items)\n```\nDone."))
    async with lsp("vscode") as client:
        editor = editor_for(client, "vscode")
        uri = (workspace / "c.py").as_uri()
        editor.open(uri, BODY)
        (item,) = (await inline(client, uri, 1, 4)).items
        assert item.insert_text == "return sum(items)"


async def test_a_burst_of_automatic_requests_runs_one_stream_to_its_end(lsp, fake, workspace):
    fake.default = Reply(steps=[Text("return", delay=0.3), Text(" sum(items)", delay=0.3), *reply_text("").steps[-2:]])
    async with lsp("vscode", init_options={"completion": {"debounceMs": 0}}) as client:
        editor = editor_for(client, "vscode")
        uri = (workspace / "c.py").as_uri()
        editor.open(uri, "def total(items):\n    \n")
        # One completion first: the first one loads modules and connects, and a burst meeting
        # that would be answered (superseded) before any of its streams started.
        fake.push(reply_text("pass"))
        await inline(client, uri, 0, 0)
        fake.reset_requests()
        pending = []
        for i in range(20):
            editor.type(uri, (1, 4 + i), "x")
            pending.append(asyncio.create_task(inline(client, uri, 1, 5 + i, automatic=True)))
            await asyncio.sleep(0.02)
        results = await asyncio.gather(*pending)
    assert len(results) == 20  # every request answered
    assert all(not r.items for r in results[:-1]), [(i, r.items) for i, r in enumerate(results) if r.items]
    finished = [r for r in fake.requests if not r.disconnected]
    assert len(finished) <= 1
    for index, recorded in enumerate(fake.requests):
        if recorded.disconnected:
            assert fake.wait_disconnect(index, 5)
    assert len(fake.requests) >= 2  # several started (no debounce) and the superseded ones were closed


async def test_adaptive_debounce_keeps_a_typing_burst_to_one_request(lsp, fake, workspace):
    fake.default = reply_text("pass")
    async with lsp("vscode") as client:
        editor = editor_for(client, "vscode")
        uri = (workspace / "c.py").as_uri()
        editor.open(uri, "def total(items):\n    \n")
        pending = []
        for i in range(30):
            editor.type(uri, (1, 4 + i), "y")
            pending.append(asyncio.create_task(inline(client, uri, 1, 5 + i, automatic=True)))
            await asyncio.sleep(0.03)
        await asyncio.gather(*pending)
    assert len(fake.requests) == 1


@LEADS
async def test_typing_into_a_streaming_suggestion_reuses_the_stream(lsp, fake, workspace, lead):
    fake.push(Reply(steps=[Text("return"), Text(" sum(items)", delay=0.5), *reply_text("").steps[-2:]]))
    line = lead.count("\n") + 1
    async with lsp("vscode") as client:
        editor = editor_for(client, "vscode")
        uri = (workspace / "c.py").as_uri()
        editor.open(uri, lead + "def total(items):\n    \n")
        first = asyncio.create_task(inline(client, uri, line, 4))
        await until(lambda: fake.requests)
        await asyncio.sleep(0.2)  # "return" has streamed
        editor.type(uri, (line, 4), "ret")
        second = await inline(client, uri, line, 7)
        (item,) = second.items
        assert item.insert_text == "urn sum(items)"
        assert not (await first).items  # superseded, answered at once
    assert len(fake.requests) == 1


@LEADS
async def test_returning_to_a_cached_spot_or_typing_forward_costs_nothing(lsp, fake, workspace, lead):
    fake.push(reply_text("return sum(items)"))
    line = lead.count("\n") + 1
    async with lsp("vscode") as client:
        editor = editor_for(client, "vscode")
        uri = (workspace / "c.py").as_uri()
        editor.open(uri, lead + "def total(items):\n    \n")
        (item,) = (await inline(client, uri, line, 4)).items
        editor.type(uri, (line, 4), "return s")
        (forward,) = (await inline(client, uri, line, 12)).items
        assert forward.insert_text == "um(items)"
        editor.type(uri, (line, 4), "", (line, 12))  # back to the same spot
        (again,) = (await inline(client, uri, line, 4)).items
        assert again.insert_text == item.insert_text
    assert len(fake.requests) == 1


async def test_a_spot_far_from_the_cached_one_asks_and_the_cached_one_still_answers(lsp, fake, workspace):
    fake.push(reply_text("return sum(items)"), reply_text(" + 1"))
    code = "def total(items):\n    \n" + FILLER
    far = code.count("\n") - 1  # the last filler line, 600 lines below
    async with lsp("vscode") as client:
        editor = editor_for(client, "vscode")
        uri = (workspace / "c.py").as_uri()
        editor.open(uri, code)
        (first,) = (await inline(client, uri, 1, 4)).items
        end_of_far = len(editor.text(uri).split("\n")[far])
        (other,) = (await inline(client, uri, far, end_of_far)).items
        (again,) = (await inline(client, uri, 1, 4)).items
    assert (first.insert_text, other.insert_text, again.insert_text) == ("return sum(items)", " + 1",
                                                                         "return sum(items)")
    assert len(fake.requests) == 2


@LEADS
async def test_selected_completion_item_is_extended(lsp, fake, workspace, lead):
    fake.push(reply_text("(items)"))
    line = lead.count("\n") + 1
    async with lsp("vscode") as client:
        editor = editor_for(client, "vscode")
        uri = (workspace / "c.py").as_uri()
        editor.open(uri, lead + "def total(items):\n    return su\n")
        params = types.InlineCompletionParams(
            text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(line, 13),
            context=types.InlineCompletionContext(
                trigger_kind=types.InlineCompletionTriggerKind.Automatic,
                selected_completion_info=types.SelectedCompletionInfo(
                    range=types.Range(types.Position(line, 11), types.Position(line, 13)), text="sum")),
        )
        (item,) = (await client.text_document_inline_completion_async(params)).items
        accept(editor, uri, item)
        assert editor.text(uri).split("\n")[line] == "    return sum(items)"
    assert "return sum<|CURSOR|>" in fake.requests[0].body["messages"][-1]["content"]


async def test_helix_gets_a_completion_item(lsp, fake, workspace):
    fake.push(reply_text("int(total)"))
    async with lsp("helix") as client:
        editor = editor_for(client, "helix")
        uri = (workspace / "c.py").as_uri()
        editor.open(uri, "total = 3\npr\n")
        result = await client.text_document_completion_async(types.CompletionParams(
            text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(1, 2),
            context=types.CompletionContext(trigger_kind=types.CompletionTriggerKind.Invoked)))
        assert result.is_incomplete is True
        (item,) = result.items
        assert item.label == "print(total)" and item.detail == "GLM-5.1"
        assert "print(total)" in getattr(item.documentation, "value", item.documentation)
        edit = item.text_edit
        editor.type(uri, (edit.range.start.line, edit.range.start.character), edit.new_text,
                    (edit.range.end.line, edit.range.end.character))
        assert editor.text(uri) == "total = 3\nprint(total)\n"


@pytest.mark.parametrize("mode,preset,expect_item", [
    ("always", "vscode", True), ("never", "helix", False), ("auto", "vscode", False)])
async def test_completion_items_setting(lsp, fake, workspace, mode, preset, expect_item):
    fake.default = reply_text("int(1)")
    async with lsp(preset, init_options={"completion": {"items": mode}}) as client:
        editor = editor_for(client, preset)
        uri = (workspace / "c.py").as_uri()
        editor.open(uri, "pr\n")
        result = await client.text_document_completion_async(types.CompletionParams(
            text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(0, 2)))
        assert bool(result and result.items) is expect_item


async def test_daily_limit_stops_automatic_completions_with_one_message(lsp, fake, workspace):
    fake.default = reply_text("pass", usage=Usage(900, 200))
    async with lsp("vscode", init_options={"usage": {"dailyTokenLimit": 1000}}) as client:
        editor = editor_for(client, "vscode")
        uri = (workspace / "c.py").as_uri()
        editor.open(uri, "def f():\n    \n")
        assert (await inline(client, uri, 1, 4, automatic=True)).items  # 1,100 tokens used
        editor.type(uri, (1, 4), "p")
        assert (await inline(client, uri, 1, 5, automatic=True)).items == ()
        editor.type(uri, (1, 5), "a")
        assert (await inline(client, uri, 1, 6, automatic=True)).items == ()
        await until(lambda: client.messages)
        assert len([m for m in client.messages if "dailyTokenLimit" in m.message]) == 1
        usage = await execute(client, "glm.usage")
        assert usage["today"]["tokens"] == 1100
    assert len(fake.requests) == 1


async def test_the_days_usage_survives_a_restart_of_the_server(lsp, fake, workspace):
    fake.default = reply_text("pass", usage=Usage(300, 20))
    uri = (workspace / "c.py").as_uri()
    async with lsp("vscode") as client:
        editor_for(client, "vscode").open(uri, "def f():\n    \n")
        assert (await inline(client, uri, 1, 4)).items
        assert (await execute(client, "glm.usage"))["today"]["tokens"] == 320
    # shut down within the second the write is batched for: nothing may be lost
    async with lsp("vscode") as client:
        usage = await execute(client, "glm.usage")
    assert usage["today"]["tokens"] == 320
    assert usage["session"]["tokens"] == 0


async def test_a_401_is_shown_once(lsp, fake, workspace):
    from tests.fake_glm import reply_error

    fake.default = reply_error(401)
    async with lsp("vscode") as client:
        editor = editor_for(client, "vscode")
        uri = (workspace / "c.py").as_uri()
        editor.open(uri, "x = 1\n")
        for column in (0, 1):
            assert (await inline(client, uri, 0, column)).items == ()
        await until(lambda: client.messages)
        await asyncio.sleep(0.2)
        assert len(client.messages) == 1 and "ZAI_API_KEY" in client.messages[0].message


async def test_definitions_follow_the_file_while_the_user_types(lsp, fake, workspace):
    """Every keystroke is a new version: the definition snippet stays, and follows its lines when they move."""
    code = ("def checkout(cart):\n    total = shipping_quote(cart.lines)\n\n\n"
            "def shipping_quote(order_lines):\n    return sum(line.weight for line in order_lines)\n")
    async with lsp("vscode", init_options={"completion": {"debounceMs": 0}}) as client:
        editor = Editor(client)
        uri = (workspace / "shop.py").as_uri()
        editor.open(uri, code)
        end = len("    total = shipping_quote(cart.lines)")
        await inline(client, uri, 1, end)
        editor.type(uri, (1, end), " + 1")  # typing: a new version, no line moved
        await inline(client, uri, 1, end + 4)
        editor.type(uri, (0, 0), "import math\n\n")  # two lines above everything
        await inline(client, uri, 3, end + 4)
    prompts = [r.body["messages"][-1]["content"] for r in fake.requests]
    assert len(prompts) == 3
    assert "--- shop.py, line 5 (definition)" in prompts[0]
    assert "--- shop.py, line 5 (definition)" in prompts[1] and "shipping_quote(cart.lines) + 1" in prompts[1]
    assert "--- shop.py, line 7 (definition)" in prompts[2] and "line 5 (definition)" not in prompts[2]
    assert "def shipping_quote(order_lines):" in prompts[2].split("line 7 (definition)")[1]


@pytest.mark.parametrize("password,line,character,gone", [
    ("'Tr0ub4dor-and-3-horses'", 9, len("    total = connect(cart.url)"), "Tr0ub4dor"),  # a few lines above
    ("'Tr0ub4dor-and-3-horses'", 4, len("    password = 'Tr0u"), "Tr0u"),  # the cursor inside it
    # no secret but one the cursor makes: a line clean as a whole whose left half looks like one
    ("os.environ['DB_PASSWORD']", 10, len("    db_password = Zx81Qp"), "Zx81Qp"),
])
async def test_the_redacted_copy_never_lets_a_secret_near_the_cursor_out(lsp, fake, workspace, password, line,
                                                                        character, gone):
    """Once the editor is idle the buffer's redacted copy is ready, and the text around the cursor is
    taken as it is when redaction changed none of its lines; a secret in them, or one the cursor
    splits, still goes through the redaction."""
    code = (f"import os\n\n\ndef connect(url):\n    password = {password}\n"
            "    return open_db(url, password)\n\n\ndef checkout(cart):\n    total = connect(cart.url)\n"
            "    db_password = Zx81QpLm77Rt.upper()\n    return total\n")
    # (idle first: the copy is made 0.5 s after the last change)
    prompt = await prompt_sent(lsp, fake, workspace, code, (line, character), idle=1.5)
    assert gone not in prompt and "def checkout(cart):" in prompt
    assert "password = os.environ['DB_PASSWORD']" in prompt or "Tr0ub4dor" in code  # (sent as it is)


async def test_the_first_document_opened_loads_what_the_first_completion_needs(lsp, fake, workspace, tmp_path):
    """Once the first file is open and the editor idle, the HTTP client and post-processing are
    loaded in the background (once per session), and the first completion uses them."""
    log = tmp_path / "server.log"
    fake.push(reply_text("return sum(items)"))
    async with lsp("vscode", init_options={"completion": {"debounceMs": 0}}, args=("--log-file", str(log), "-v")) as client:
        editor = editor_for(client, "vscode")
        uri = (workspace / "c.py").as_uri()
        editor.open(uri, BODY)
        editor.open((workspace / "d.py").as_uri(), BODY)
        await until(lambda: "ready for the first completion" in log.read_text(), timeout=20)
        (item,) = (await inline(client, uri, 1, 4)).items
        assert item.insert_text == "return sum(items)"
    assert log.read_text().count("ready for the first completion") == 1
    assert len(fake.requests) == 1
    frozen = int(re.search(r"(\d+) objects frozen for the garbage collector", log.read_text()).group(1))
    assert frozen > 10_000  # the modules loaded by then: no full collection looks at them again


async def test_a_method_definition_snippet_stops_where_the_next_method_starts(lsp, fake, workspace):
    filler = "".join(f"\n\ndef helper_{i}(x):\n    return x + {i}\n" for i in range(30))
    code = ("def checkout(cart):\n    return cart.subtotal()\n" + filler +
            "\n\nclass Cart:\n    def subtotal(self):\n        return sum(self.lines)\n\n"
            "    def shipping_rate(self):\n        return 4.5\n")
    prompt = await prompt_sent(lsp, fake, workspace, code, (1, len("    return cart.subtotal()")))
    snippet = prompt.split("(definition)\n", 1)[1].split("\n---", 1)[0]
    assert snippet.startswith("    def subtotal(self):\n        return sum(self.lines)")
    assert "shipping_rate" not in prompt  # neither in the snippet nor anywhere else


@pytest.mark.parametrize("code,line", [
    ("import os\n\n\ndef connect(url):\n    password = 'Tr0ub4dor-and-3-horses'\n    return open_db(url, \n", 5),
    ("import os\n\n\ndefine(\n    'DB_PASSWORD', 'Tr0ub4dor-and-3-horses'\n);\nx = compute(\n", 6),
    # typing on the line after "(": from the second keystroke the "(" line comes from the memo
    ("import os\n\n\ndefine(\n    'DB_PASSWORD', 'Tr0ub4dor-and-3-horses'\n", 4),
])
async def test_keystroke_after_keystroke_beside_a_secret_it_never_leaves(lsp, fake, workspace, code, line):
    """While typing, the cursor's paragraph is redacted line by line from a memo: the secret's
    line comes from the memo from the second keystroke on, and is still redacted."""
    fake.default = reply_text("url")
    head = "".join(f"value_{i} = compute({i})\n" for i in range(30)) + "\n\n"  # long enough for the memo
    code, line = head + code, line + 32
    async with lsp("vscode", init_options={"completion": {"debounceMs": 0}}) as client:
        editor = Editor(client)
        uri = (workspace / "db.py").as_uri()
        editor.open(uri, code)
        column = len(code.split("\n")[line])
        for n, key in enumerate(", )" if line == 4 else "pas"):
            editor.type(uri, (line, column + n), key)
            await inline(client, uri, line, column + n + 1)
    prompts = [r.body["messages"][-1]["content"] for r in fake.requests]
    assert len(prompts) == 3 and all("Tr0ub4dor" not in p for p in prompts)
    assert all("[REDACTED]" in p for p in prompts)


async def test_secrets_typed_after_the_copy_was_made_never_leave(lsp, fake, workspace):
    """Once the buffer's redacted copy is ready, it follows the typing (context/redacted.py): the
    lines typed are redacted on their own, the rest is taken from the copy. A secret typed on a new
    line below the cursor's, and then one on the cursor's line, never go out once they are whole."""
    fake.default = reply_text("()")  # (never typed here: no keystroke is served from the cache)
    code = ("import os\n\n\ndef connect(url):\n    return open_db(url)\n\n\n"
            "def checkout(cart):\n    total = connect(cart.url)\n    return total\n")
    below, typing = "    api_key = 'sk-proj-Qw7Zx81PmL0vRt55'", "    password = 'Tr0ub4dor-and-3-horses'"
    async with lsp("vscode", init_options={"completion": {"debounceMs": 0}}) as client:
        editor = Editor(client)
        uri = (workspace / "shop.py").as_uri()
        editor.open(uri, code)
        await asyncio.sleep(1.5)  # idle: the copy is made
        editor.type(uri, (4, 23), "\n" + below)  # pasted below the line the cursor will be on
        for n, key in enumerate(typing):
            editor.type(uri, (4, n), key)  # typed on line 4 (the old line moves right)
            await inline(client, uri, 4, n + 1)
    prompts = [r.body["messages"][-1]["content"] for r in fake.requests]
    assert len(prompts) == len(typing)
    assert all("sk-proj-Qw7Zx81PmL0vRt55" not in p for p in prompts)
    assert "Tr0ub4dor" not in prompts[-1]  # (the password is whole, closing quote typed, at the last request)
