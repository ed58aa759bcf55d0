"""Every provider fault × every feature, end to end: the real server (or CLI) against the fake provider.

For each fault the user must get one clear message (none for transient completion
failures), the buffer must be unchanged or restored exactly, no upstream request may
stay open, and the very next request must be served normally.

Features: ``explain``, ``fix``, ``rewrite`` (with an instruction) and ``inline``
completion (Invoked) through a simulated VS Code; completion ``items`` through a
simulated Helix; ``ask`` through the CLI in a subprocess.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import pytest
from lsprotocol import types

from tests.clients import PRESETS
from tests.fake_glm import Cut, Done, Finish, Raw, Reply, Stall, Text, reply_error, reply_text
from tests.faults.conftest import CLI_KEY, barrier, reconfigure, run_ask, user_messages
from tests.lsp.conftest import TEST_KEY, execute, rng, until
from tests.lsp.editor import Editor

ZAI_PATH = "/api/paas/v4"

SOURCE = (
    "import math\n"
    "\n"
    "def area(r):\n"
    "    # 半径 😀\n"
    "    return math.pi * r *\n"
    "\n"
    "print(area(2))\n"
)
TARGET = rng("2:0-5:0")
FIXED_TARGET = "def area(r):\n    # 半径 😀\n    return math.pi * r * r\n"
FIXED = SOURCE.replace("    return math.pi * r *\n", "    return math.pi * r * r\n")
REWRITTEN_TARGET = "def area(radius):\n    # 半径 😀\n    return math.pi * radius ** 2\n"
REWRITTEN = SOURCE.replace("def area(r):\n    # 半径 😀\n    return math.pi * r *\n", REWRITTEN_TARGET)

COMPLETION_SOURCE = "def total(items):\n    \n"
COMPLETION_AT = (1, 4)
COMPLETION = "return sum(items)"

# What the model had written when the fault struck, per feature: code lines for the
# edit commands (so a restore really has something to undo), an unfinished line for
# completions (so it is not yet a complete suggestion), prose for explain and ask.
PARTIAL = {
    "explain": "The function computes the area",
    "fix": "```python\ndef area(r):\n    # partial 1\n    # partial 2\n",
    "rewrite": "```python\ndef area(r):\n    # partial 1\n    # partial 2\n",
    "inline": "return sum(",
    "items": "return sum(",
    "ask": "Partial answer",
}
EDIT_FEATURES = ("fix", "rewrite")
COMMAND_FEATURES = ("explain", "fix", "rewrite")
COMPLETION_FEATURES = ("inline", "items")
SERVER_FEATURES = (*COMMAND_FEATURES, *COMPLETION_FEATURES)

# Before the fault step of an edit command, give the partial lines time to reach the
# buffer, so the restore path (not just "nothing happened") is what gets checked.
EDIT_LEAD = 0.5


@dataclass(frozen=True)
class Fault:
    name: str
    #: words the one user message must contain
    words: tuple[str, ...]
    status: int | None = None  # an HTTP error reply …
    code: str | None = None
    retry_after: float | None = None
    after_text: tuple = ()  # … or a 200 stream: PARTIAL text, then these steps
    base_url: str | None = None  # "refused" / "dns": the provider is not reachable at all
    settings: dict = field(default_factory=dict)
    #: completions show persistent failures once; transient ones silently give nothing
    persistent: bool = False
    #: the stream was aborted by the fake itself (neither finished nor a client disconnect)
    cut_by_fake: bool = False

    def reply(self, feature: str) -> Reply:
        if not self.reachable:
            return reply_text("unreachable: never sent")
        if self.status is not None:
            return reply_error(self.status, code=self.code, retry_after=self.retry_after)
        lead = EDIT_LEAD if feature in EDIT_FEATURES else 0.0
        first, *rest = self.after_text
        first = type(first)(**{**first.__dict__, "delay": lead})
        return Reply(steps=[Text(PARTIAL[feature]), first, *rest])

    @property
    def reachable(self) -> bool:
        return self.base_url is None

    def expected_requests(self, feature: str) -> int:
        if not self.reachable:
            return 0
        if self.name.startswith("429"):
            return 2  # maxRetries 1: the same 429 twice
        if self.name == "context-window" and feature in EDIT_FEATURES:
            return 2  # fix/rewrite retry once with half the context (features/transform.py)
        return 1


RETRY_ONCE = {"maxRetries": 1}
FAULTS = {f.name: f for f in [
    Fault("401", ("rejected the API key", "ZAI_API_KEY"), status=401, persistent=True),
    Fault("403", ("refused access",), status=403, persistent=True),
    Fault("404-unknown-model", ("does not serve the model", "glm-5.1"), status=404, code="1211", persistent=True),
    Fault("429-retry-after", ("rate limiting",), status=429, retry_after=1, settings=RETRY_ONCE),
    Fault("429", ("rate limiting",), status=429, settings=RETRY_ONCE),
    Fault("500", ("server error",), status=500),
    Fault("503", ("server error",), status=503),
    Fault("refused", ("connection refused",), base_url="refused"),
    Fault("dns", ("DNS lookup failed", "glm-fault.invalid"), base_url="http://glm-fault.invalid/v1"),
    Fault("reset-mid-stream", ("cut off",), after_text=(Cut(),), cut_by_fake=True),
    Fault("malformed-sse", ("not JSON",), after_text=(Raw("data: {this is not json\n\n"),)),
    Fault("stall", ("silent",), after_text=(Stall(30),), settings={"timeoutSeconds": 1}),
    Fault("content-filter", ("content filter",), after_text=(Finish("sensitive"), Done())),
    Fault("length", ("maxTokens",), after_text=(Finish("length"), Done())),
    Fault("context-window", ("context window",), after_text=(Finish("model_context_window_exceeded"), Done())),
]}

# Known server bugs, each described in the report; strict: the mark must go when the bug is fixed.
_UNKNOWN_MODEL_SILENT = (
    "features/completion.py run_upstream -> ServerState.report_completion_failure (state.py) shows only "
    "AuthenticationError/MissingApiKeyError/QuotaExceededError/SettingsError; UnknownModelError (404, code 1211: "
    "the configured model does not exist, a persistent misconfiguration) is only logged, so completions fail "
    "silently forever"
)
_LENGTH_CUT_OFFERED = (
    "features/completion.py run_upstream ignores Finish(reason='length'): the stream 'return sum(' cut at "
    "completion.maxTokens is offered as a suggestion (unbalanced, cut mid-expression) instead of being "
    "dropped or trimmed to its complete lines"
)
BUGS: dict[tuple[str, str], str] = {
    ("404-unknown-model", "inline"): _UNKNOWN_MODEL_SILENT,
    ("404-unknown-model", "items"): _UNKNOWN_MODEL_SILENT,
    ("length", "inline"): _LENGTH_CUT_OFFERED,
    ("length", "items"): _LENGTH_CUT_OFFERED,
    ("length", "ask"): (
        "commands/ask.py _ask: Finish(reason='length') prints a notice but returns 0, so a script cannot tell "
        "a truncated answer from a complete one; expected a non-zero exit"
    ),
}


# Bugs this suite found and the server has since fixed: their cases must pass now.
FIXED_BUGS = set(BUGS)


def cases(features):
    for fault in FAULTS:
        for feature in features:
            marks = []
            if (fault, feature) in BUGS and (fault, feature) not in FIXED_BUGS:
                marks.append(pytest.mark.xfail(strict=True, reason=BUGS[(fault, feature)]))
            yield pytest.param(fault, feature, marks=marks, id=f"{fault}-{feature}")


def base_url_for(fault: Fault, fake, closed_port: int) -> str:
    if fault.base_url == "refused":
        return f"http://127.0.0.1:{closed_port}{ZAI_PATH}"
    return fault.base_url or fake.url + ZAI_PATH


def no_leaks(fake, fault: Fault) -> bool:
    return all(r.finished is not None or r.disconnected or fault.cut_by_fake for r in fake.requests)


# --------------------------------------------------------------------------- the server features


async def run_feature(client, editor: Editor, feature: str, uri: str):
    """Run one feature once; what it answered."""
    if feature == "explain":
        return await execute(client, "glm.explain", {"uri": uri, "range": TARGET}, timeout=30)
    if feature == "fix":
        return await execute(client, "glm.fix", {"uri": uri, "range": TARGET}, timeout=30)
    if feature == "rewrite":
        return await execute(client, "glm.rewrite", {"uri": uri, "range": TARGET, "instruction": "rename r"},
                             timeout=30)
    position = types.Position(*COMPLETION_AT)
    document = types.TextDocumentIdentifier(uri=uri)
    if feature == "inline":
        params = types.InlineCompletionParams(
            text_document=document, position=position,
            context=types.InlineCompletionContext(trigger_kind=types.InlineCompletionTriggerKind.Invoked))
        return await asyncio.wait_for(client.text_document_inline_completion_async(params), 30)
    params = types.CompletionParams(
        text_document=document, position=position,
        context=types.CompletionContext(trigger_kind=types.CompletionTriggerKind.Invoked))
    return await asyncio.wait_for(client.text_document_completion_async(params), 30)


def suggestions(result) -> list[str]:
    """The texts a completion answer offers (inline items or completion items)."""
    if result is None:
        return []
    items = result.items if hasattr(result, "items") else result
    return [getattr(i, "insert_text", None) or (i.text_edit.new_text if i.text_edit else i.label) for i in items]


@pytest.mark.parametrize("fault,feature", list(cases(SERVER_FEATURES)))
async def test_server_feature_survives(lsp, fake, workspace, closed_port, fault, feature):
    fault = FAULTS[fault]
    preset = "helix" if feature == "items" else "vscode"
    original = COMPLETION_SOURCE if feature in COMPLETION_FEATURES else SOURCE
    options = {"baseUrl": base_url_for(fault, fake, closed_port), "maxRetries": 0, **fault.settings}
    fake.default = fault.reply(feature)  # every request of the fault phase meets the fault
    async with lsp(preset, init_options=options) as client:
        editor = Editor(client, encoding=PRESETS[preset].expected_encoding,
                        behaviour="helix" if preset == "helix" else "vscode")
        uri = (workspace / ("c.py" if feature in COMPLETION_FEATURES else "geo.py")).as_uri()
        editor.open(uri, original)
        seen: list[str] = []
        editor.on_apply = lambda applied: seen.append(editor.text(uri))

        # ---- the fault
        result = await run_feature(client, editor, feature, uri)
        await editor.wait_idle()
        await barrier(client)
        messages = user_messages(client)

        # the buffer: unchanged, or restored exactly
        assert editor.text(uri) == original, f"buffer not restored: {editor.text(uri)!r}"
        if feature in EDIT_FEATURES and fault.after_text:
            assert any("# partial 1" in text for text in seen), "the partial lines never reached the buffer"
        if feature in COMPLETION_FEATURES:
            assert editor.applied == []

        # what the user was told
        if feature in COMPLETION_FEATURES:
            assert suggestions(result) == [], f"a failed completion offered {suggestions(result)!r}"
            if fault.persistent:
                assert len(messages) == 1, [m.message for m in messages]
                assert messages[0].type == types.MessageType.Error
            else:
                assert messages == [], [m.message for m in messages]
        else:
            assert len(messages) == 1, [m.message for m in messages]
            (shown,) = messages
            if feature == "explain" and fault.name == "length":
                assert shown.type == types.MessageType.Warning  # the explanation is kept, marked as cut
                assert result == PARTIAL["explain"]
            else:
                assert shown.type == types.MessageType.Error
                assert result is None
        for shown in messages:
            for word in fault.words:
                assert word in shown.message, f"{word!r} not in {shown.message!r}"
            assert TEST_KEY not in shown.message

        # upstream: exactly the requests the settings allow, none left open
        assert len(fake.requests) == fault.expected_requests(feature), [r.path for r in fake.requests]
        await until(lambda: no_leaks(fake, fault), timeout=10)
        if fault.retry_after is not None:
            # Retry-After is a lower bound on the wait, whatever the jitter.
            assert fake.requests[1].arrived - fake.requests[0].finished >= fault.retry_after

        # nothing left running: no session to cancel, every progress ended
        if feature in COMMAND_FEATURES:
            assert await execute(client, "glm.cancel") is False
            for token, reports in client.progress_reports.items():
                assert reports and isinstance(reports[-1], types.WorkDoneProgressEnd), (token, reports)
        assert editor.message_requests == []

        # ---- the next request is served normally
        fake.reset()
        if not fault.reachable:
            await reconfigure(client, {"baseUrl": fake.url + ZAI_PATH})
        errors_before = len([m for m in user_messages(client) if m.type == types.MessageType.Error])
        await recover(client, editor, feature, uri, fake)
        await barrier(client)
        errors_after = len([m for m in user_messages(client) if m.type == types.MessageType.Error])
        assert errors_after == errors_before, [m.message for m in client.messages]
        assert len(fake.requests) == 1


async def recover(client, editor: Editor, feature: str, uri: str, fake) -> None:
    if feature == "explain":
        fake.push(reply_text("works again"))
        assert await run_feature(client, editor, feature, uri) == "works again"
    elif feature == "fix":
        fake.push(reply_text(f"```python\n{FIXED_TARGET}```"))
        assert (await run_feature(client, editor, feature, uri))["uri"] == uri
        await editor.wait_idle()
        assert editor.text(uri) == FIXED
    elif feature == "rewrite":
        fake.push(reply_text(f"```python\n{REWRITTEN_TARGET}```"))
        assert (await run_feature(client, editor, feature, uri))["uri"] == uri
        await editor.wait_idle()
        assert editor.text(uri) == REWRITTEN
    else:
        fake.push(reply_text(COMPLETION))
        result = await run_feature(client, editor, feature, uri)
        assert suggestions(result) == [COMPLETION]
        if feature == "items":
            (item,) = result.items
            edit = item.text_edit
            editor.type(uri, (edit.range.start.line, edit.range.start.character), edit.new_text,
                        (edit.range.end.line, edit.range.end.character))
            assert editor.text(uri) == "def total(items):\n    return sum(items)\n"


# --------------------------------------------------------------------------- ask (the CLI)


@pytest.mark.parametrize("fault,feature", list(cases(["ask"])))
def test_ask_survives(fake, tmp_path, closed_port, fault, feature):
    fault = FAULTS[fault]
    env = {"ZAI_API_KEY": CLI_KEY, "GLM_LSP_MAX_RETRIES": "0"}
    env.update({f"GLM_LSP_{_snake(k).upper()}": str(v) for k, v in fault.settings.items()})
    fake.default = fault.reply(feature)
    done = run_ask(tmp_path, "what does area do?", "--base-url", base_url_for(fault, fake, closed_port), env=env)

    assert done.returncode != 0, (done.returncode, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    retries = [line for line in lines if "Retrying in" in line]
    # one line; retry notices are progress and "[tokens: …]" is the usage report every answer ends with
    told = [line for line in lines if line not in retries and not line.startswith("[tokens:")]
    assert len(told) == 1, done.stderr
    assert told[0].startswith("glm-lsp: ")
    for word in fault.words:
        assert word in told[0], f"{word!r} not in {told[0]!r}"
    assert CLI_KEY not in done.stdout + done.stderr
    assert done.stdout in ("", PARTIAL["ask"] + "\n"), repr(done.stdout)  # never more than was answered
    assert len(fake.requests) == fault.expected_requests(feature)
    assert len(retries) == len(fake.requests) - 1 if fault.reachable else retries == []
    assert wait_until(lambda: no_leaks(fake, fault), 10), [(r.finished, r.disconnected) for r in fake.requests]
    if fault.retry_after is not None:
        assert fake.requests[1].arrived - fake.requests[0].finished >= fault.retry_after

    # the next ask, against a healthy provider, works
    fake.reset()
    fake.push(reply_text("works again"))
    again = run_ask(tmp_path, "what does area do?", "--base-url", fake.url + ZAI_PATH,
                    env={"ZAI_API_KEY": CLI_KEY, "GLM_LSP_MAX_RETRIES": "0"})
    assert again.returncode == 0, again.stderr
    assert again.stdout == "works again"


def wait_until(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.01)
    return True


def _snake(name: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in name)
