"""editors/vscode in real VS Code (code-server 4.100.3 in headless chromium) against the fake provider.

One code-server serves the whole module (conftest.py); the tests run in file order and
each leaves the editor usable for the next. Assertions are on what VS Code shows
(editor lines, menus, notifications, the output channel), on the files on disk and on
what the fake provider received.
"""

from __future__ import annotations

import json
import sys
import time

import pytest

from tests.editors.vscode.codeserver import EXTENSION_ID, SCREENSHOTS
from tests.editors.vscode.conftest import SERVER, TEST_KEY
from tests.fake_glm import Done, Finish, Reply, Text, reply_text

pytestmark = pytest.mark.usefixtures("timed")

AREA_TS = "export function area(r: number): string {\n  return Math.PI * r ** 2;\n}\n"
FIXED_TS = "export function area(r: number): number {\n  return Math.PI * r ** 2;\n}\n"
TS_ERROR = "Type 'number' is not assignable to type 'string'."
STATUS_BAR = ".statusbar-item[id='glm-lsp.glm-lsp.glm.status']"
NEW_KEY = "sk-from-secret-storage-0123456789"


def fenced(code: str, language: str, delay: float = 0.3) -> Reply:
    """The model's answer: a sentence, then the code fence, one line per delayed chunk."""
    steps = [Text(f"Here is the fixed code:\n\n```{language}\n", delay=delay)]
    steps += [Text(line + "\n", delay=delay) for line in code.splitlines()]
    return Reply(steps=[*steps, Text("```\n", delay=delay), Finish(), Done()])


def lines(text: str) -> list[str]:
    return text.split("\n")


def wait(what: str, predicate, timeout: float = 20, explain=None):
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}\n{explain() if explain else ''}")
        time.sleep(0.1)
    return value


def status_text(vscode) -> str:
    return " ".join(vscode.call("texts", selector=STATUS_BAR))


def test_vsix_installs_and_the_server_starts(vscode):
    installed = [p.name for p in vscode.server.extensions.iterdir() if p.name.startswith(EXTENSION_ID)]
    assert installed == [f"{EXTENSION_ID}-0.1.0"]
    (vscode.project / "hello.py").write_text("print('hi')\n")
    vscode.open("hello.py")
    log = vscode.wait_log("is running", timeout=60)
    assert f"Starting glm-lsp (glm.server.command): {' '.join(SERVER)}" in log
    assert "glm-lsp 0.1.0 is running (provider zai)." in log
    assert "ignoring unknown setting" not in log  # glm.server.* stays in the extension
    assert "GLM" in status_text(vscode)

    vscode.call("palette", title="GLM: Show log")
    vscode.call("waitFor", selector=".part.panel .monaco-editor .view-line", hasText="is running")
    shown = vscode.call("lines", selector=".part.panel .monaco-editor")
    assert any("glm-lsp 0.1.0 is running" in line for line in shown), shown
    vscode.call("palette", title="View: Hide Panel")
    assert vscode.fake.requests == []  # starting costs no model call


def test_quick_fix_offers_glm_fix_and_streams_it(vscode):
    (vscode.project / "area.ts").write_text(AREA_TS)
    vscode.fake.push(fenced(FIXED_TS, "ts"))
    vscode.open("area.ts")
    vscode.call("waitFor", selector=".squiggly-error", timeout=60)  # TypeScript's own diagnostic
    vscode.call("press", keys=["Control+Home", "ArrowDown", "End", "Control+."])
    rows = vscode.call("actionRows")
    labels = [row["label"] for row in rows]
    assert labels[:2] == ["Quick Fix", "GLM: Fix"], labels
    assert {"GLM: Rewrite…", "GLM: Add docstring", "GLM: Explain"} <= set(labels), labels
    vscode.call("pickAction", label="GLM: Fix")

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    result = vscode.call("waitLines", lines=lines(FIXED_TS), initial=lines(AREA_TS),
                         screenshot=str(SCREENSHOTS / "vscode-streamed-fix.png"), timeout=30)
    partial = [s for s in result["seen"] if s not in (lines(AREA_TS), lines(FIXED_TS))]
    assert partial, f"the fix did not stream: {result['seen']}"
    assert result["shot"] is not None

    sent = json.dumps(vscode.fake.requests[0].body["messages"])
    assert TS_ERROR in sent, "the TypeScript diagnostic must reach the prompt"
    assert "return Math.PI * r ** 2;" in sent
    assert vscode.fake.requests[0].headers["authorization"] == f"Bearer {TEST_KEY}"
    assert vscode.fake.requests[0].body["thinking"] == {"type": "disabled"}, "GLM_LSP_THINKING was overridden"

    vscode.call("press", keys=["Control+S"])
    wait("area.ts saved", lambda: (vscode.project / "area.ts").read_text() == FIXED_TS, explain=vscode.explain)

    vscode.call("palette", title="GLM: Show prompt")
    vscode.call("waitFor", selector=".tab.active", hasText="glm-prompt.md")
    prompt = "\n".join(vscode.call("lines"))
    assert "# Prompt last sent for file://" in prompt and "area.ts" in prompt, prompt
    assert "## system" in prompt and "## user" in prompt, prompt
    vscode.call("palette", title="View: Close Editor")

    vscode.open("area.ts")
    vscode.call("palette", title="GLM: Revert the last GLM edit")
    vscode.call("waitLines", lines=lines(AREA_TS), timeout=15)


def test_rewrite_asks_for_the_instruction(vscode):
    code = "def total(xs):\n    out = 0\n    for x in xs:\n        out += x\n    return out\n"
    rewritten = "def total(xs):\n    return sum(xs)\n"
    (vscode.project / "total.py").write_text(code)
    vscode.fake.push(fenced(rewritten, "python", delay=0.05))
    vscode.open("total.py")
    vscode.call("press", keys=["Control+A"])
    vscode.call("palette", title="GLM: Rewrite…")
    vscode.call("input", text="use sum()")
    vscode.call("waitLines", lines=lines(rewritten), timeout=30)
    assert "use sum()" in json.dumps(vscode.fake.requests[0].body["messages"])

    vscode.call("palette", title="GLM: Show usage")
    vscode.call("waitFor", selector=".notifications-toasts .notification-list-item",
                hasText="GLM usage. This session: ", timeout=10)
    vscode.call("palette", title="Notifications: Clear All Notifications")


def test_ghost_text_appears_and_tab_accepts_it(vscode):
    vscode.fake.default = reply_text("+ b")  # every completion request gets it
    vscode.ready()
    (vscode.project / "add.py").write_text("def add(a, b):\n    return a\n")
    vscode.open("add.py")
    vscode.call("press", keys=["Control+Home", "ArrowDown", "End"])
    vscode.type_for_ghost_text(" ")
    vscode.wait_ghost_text("+ b")
    vscode.screenshot("vscode-ghost-text.png")
    assert vscode.call("lines")[:2] == ["def add(a, b):", "    return a + b"]  # drawn, not yet in the text
    assert (vscode.project / "add.py").read_text() == "def add(a, b):\n    return a\n"
    vscode.call("press", keys=["Tab"])
    vscode.wait_ghost_text("")
    vscode.call("press", keys=["Control+S"])
    wait("add.py saved", lambda: (vscode.project / "add.py").read_text() == "def add(a, b):\n    return a + b\n",
         explain=vscode.explain)
    assert vscode.call("lines")[1] == "    return a + b"
    completion = vscode.fake.requests[-1]
    assert completion.headers["authorization"] == f"Bearer {TEST_KEY}"


def test_status_bar_click_cancels_a_streaming_fix(vscode):
    (vscode.project / "slow.ts").write_text(AREA_TS)
    vscode.fake.push(fenced(FIXED_TS, "ts", delay=1.0))
    vscode.open("slow.ts")
    vscode.call("press", keys=["Control+Home", "ArrowDown", "End"])
    vscode.call("palette", title="GLM: Fix")
    vscode.call("waitFor", selector=f"{STATUS_BAR} .codicon-loading", timeout=15)
    partial = wait("the first streamed line", lambda: (now := vscode.call("lines")) != lines(AREA_TS) and now,
                   timeout=15, explain=vscode.explain)
    assert partial[0] == "export function area(r: number): number {", partial
    vscode.call("click", selector=STATUS_BAR)
    assert vscode.fake.wait_disconnect(0, timeout=10), "cancel must close the upstream stream"
    vscode.call("waitLines", lines=lines(AREA_TS), timeout=15)
    vscode.call("waitFor", selector=f"{STATUS_BAR} .codicon-sparkle", timeout=10)
    assert (vscode.project / "slow.ts").read_text() == AREA_TS


def test_set_api_key_keeps_it_in_secret_storage(vscode):
    before = vscode.server.glm_log().count("is running")
    vscode.call("palette", title="GLM: Set API Key")
    vscode.call("input", text=NEW_KEY)
    vscode.call("waitFor", selector=".notifications-toasts", hasText="saved in secret storage")
    wait("the server restarted", lambda: vscode.server.glm_log().count("is running") > before, timeout=30,
         explain=vscode.explain)

    settings_text = vscode.server.settings_path.read_text()
    assert NEW_KEY not in settings_text
    assert "apiKey" not in settings_text
    for path in (vscode.project / ".vscode").glob("*.json"):
        assert NEW_KEY not in path.read_text()

    # The restarted server has the key in its environment: the next request carries it.
    vscode.fake.default = reply_text("+ b")
    (vscode.project / "key.py").write_text("def add(a, b):\n    return a\n")
    vscode.open("key.py")
    vscode.call("press", keys=["Control+Home", "ArrowDown", "End"])
    vscode.type_for_ghost_text(" ")
    vscode.wait_ghost_text("+ b")
    assert vscode.fake.requests[-1].headers["authorization"] == f"Bearer {NEW_KEY}"
    assert NEW_KEY not in vscode.server.glm_log()
    vscode.call("press", keys=["Escape"])

    # "GLM: Clear API Key" forgets it: the server is back on the environment's key.
    before = vscode.server.glm_log().count("is running")
    vscode.call("palette", title="GLM: Clear API Key")
    wait("the server restarted", lambda: vscode.server.glm_log().count("is running") > before, timeout=30,
         explain=vscode.explain)
    vscode.call("press", keys=["Backspace"])
    vscode.type_for_ghost_text(" ")  # a restarted client, like a new one, needs a moment
    vscode.wait_ghost_text("+ b")
    assert vscode.fake.requests[-1].headers["authorization"] == f"Bearer {TEST_KEY}"
    vscode.call("press", keys=["Escape"])


def test_missing_server_binary_shows_a_clear_error(vscode):
    # Workspace settings: code-server does not reload user settings changed on disk.
    workspace_settings = vscode.project / ".vscode" / "settings.json"
    workspace_settings.parent.mkdir(exist_ok=True)
    missing = "/nonexistent/bin/glm-lsp"
    workspace_settings.write_text(json.dumps({"glm.server.command": [missing]}))
    message = f'GLM: glm.server.command starts "{missing}", which does not exist or is not executable.'
    vscode.call("waitFor", selector=".notifications-toasts .notification-list-item", hasText=message, timeout=30)
    vscode.screenshot("vscode-missing-server.png")
    buttons = vscode.call("texts", selector=".notifications-toasts .notification-list-item .monaco-button")
    assert buttons == ["Open Settings", "Show Log", "Restart"], buttons
    vscode.call("waitFor", selector=f"{STATUS_BAR} .codicon-error", timeout=10)
    assert "does not exist" in vscode.server.glm_log()
    vscode.call("palette", title="Notifications: Clear All Notifications")

    # A server that exits at once (here: a Python without glm_lsp): its last words are shown.
    workspace_settings.write_text(json.dumps({"glm.server.command": [sys.executable, "-m", "no_such_glm_lsp"]}))
    vscode.call("waitFor", selector=".notifications-toasts .notification-list-item",
                       hasText="GLM: glm-lsp did not start", timeout=30)
    notes = vscode.call("notifications")
    assert len(notes) == 1 and "No module named no_such_glm_lsp" in notes[0], notes
    vscode.call("palette", title="Notifications: Clear All Notifications")

    # Nothing set and nothing on PATH: the notification offers to install glm-lsp.
    workspace_settings.write_text(json.dumps({"glm.server.command": []}))
    vscode.call("waitFor", selector=".notifications-toasts .notification-list-item",
                hasText="GLM: The glm-lsp server is not installed", timeout=30)
    buttons = vscode.call("texts", selector=".notifications-toasts .notification-list-item .monaco-button")
    assert buttons == ["Install glm-lsp", "Open Settings", "Show Log"], buttons
    vscode.call("palette", title="Notifications: Clear All Notifications")
    vscode.call("palette", title="GLM: Fix")  # a command says why nothing happens, again
    vscode.call("waitFor", selector=".notifications-toasts .notification-list-item",
                hasText="GLM: The glm-lsp server is not installed", timeout=10)
    vscode.call("palette", title="Notifications: Clear All Notifications")

    before = vscode.server.glm_log().count("is running")
    workspace_settings.unlink()
    wait("the server back", lambda: vscode.server.glm_log().count("is running") > before, timeout=30,
         explain=vscode.explain)
    vscode.call("waitFor", selector=f"{STATUS_BAR} .codicon-sparkle", timeout=10)


def test_install_action_runs_pip_in_the_extension_storage(vscode):
    if not vscode.netns.isolated:
        pytest.skip("it would install glm-lsp from PyPI for real: needs the private network namespace")
    workspace_settings = vscode.project / ".vscode" / "settings.json"
    workspace_settings.parent.mkdir(exist_ok=True)
    workspace_settings.write_text(json.dumps({"glm.server.command": []}))
    toast = ".notifications-toasts .notification-list-item"
    vscode.call("waitFor", selector=toast, hasText="GLM: The glm-lsp server is not installed", timeout=30)
    vscode.call("click", selector=f"{toast} .monaco-button", hasText="Install glm-lsp")
    # A Python 3.11+ from PATH makes the venv; pip cannot reach PyPI from the private network.
    vscode.call("waitFor", selector=toast, hasText="GLM: installing glm-lsp failed: pip install glm-lsp failed",
                timeout=120)
    log = vscode.server.glm_log()
    assert " -m venv --clear " in log and "/venv/bin/python -m pip install --upgrade glm-lsp" in log, log[-3000:]
    venvs = list(vscode.server.user_data.glob("**/globalStorage/glm-lsp.glm-lsp/venv/bin/python"))
    assert venvs, "the venv belongs in the extension's global storage"
    vscode.call("palette", title="Notifications: Clear All Notifications")

    before = vscode.server.glm_log().count("is running")
    workspace_settings.unlink()
    wait("the server back", lambda: vscode.server.glm_log().count("is running") > before, timeout=30,
         explain=vscode.explain)
