"""glm-lsp in the real Helix 25.01, driven through tmux like a user at the keyboard.

Each test opens a Python file in ``hx`` with the repo's ``editors/helix/languages.toml``
(its server command pointed at this checkout, its ``config`` at the fake provider),
types keys, reads the screen, and checks the file on disk after ``:w``. Ruff,
Helix's first default Python server, runs beside glm-lsp when it could be installed.
"""

from __future__ import annotations

import subprocess

import pytest

from tests.editors.helix.conftest import NO_CODE_ACTION_SERVER, menu_rows
from tests.fake_glm import Done, Finish, Reply, Stall, Text, reply_text

GLM_ACTIONS = [
    "GLM: Fix",
    "GLM: Rewrite: simplify",
    "GLM: Rewrite: add type hints",
    "GLM: Rewrite: improve names",
    "GLM: Rewrite: make it faster",
    "GLM: Add docstring",
    "GLM: Generate tests",
    "GLM: Explain",
]

BUGGY = "def add(a, b):\n    return a - b\n\n\nprint(add(1, 2))\n"
FIXED = "def add(a, b):\n    return a + b\n\n\nprint(add(1, 2))\n"


def test_code_action_menu_lists_glm_actions_beside_the_default_server(helix, fake, helix_tools):
    """``space a`` merges glm-lsp's actions into the menu of Helix's own Python server."""
    source = "import os\n\n\ndef add(a, b):\n    return a - b\n"
    session = helix({"m.py": source}, open="m.py")
    session.term.keys("%")
    expect = ["GLM: Fix"] + (["Ruff"] if helix_tools.ruff_dir else [])
    screen = session.code_actions(expect)
    rows = menu_rows(screen, "GLM: Fix")
    if helix_tools.ruff_dir:
        # Ruff's quick fixes for its own diagnostics come first: glm-lsp took
        # nothing away from the default server (its diagnostics reach Helix and
        # GLM: Fix is a quickfix for the same diagnostics).
        assert any(row.startswith("Ruff") for row in rows), rows
        assert rows.index("GLM: Fix") > 0
    # The menu shows 10 rows at a time; Up from the first row wraps to the last.
    session.term.keys("Up")
    screen = session.wait("GLM: Explain", 5)
    seen = set(rows) | set(menu_rows(screen, "GLM: Explain"))
    assert set(GLM_ACTIONS) <= seen, sorted(seen)
    assert "error" not in screen.rstrip("\n").split("\n")[-1].lower()
    session.term.keys("Escape")
    assert fake.requests == [], "listing code actions must not call the model"


def test_glm_fix_streams_the_fixed_code_into_the_file_and_revert_undoes_it(helix, fake):
    """Pick ``GLM: Fix``: the answer's code streams over the selected lines; ``glm.revert`` restores them."""
    fake.push(Reply(steps=[
        Text("Here is the fix:\n\n```python\n"),
        Text("def add(a, b):\n", delay=0.15),
        Text("    return a ", delay=0.15),
        Text("+ b\n", delay=0.15),
        Text("```\n\nThe operator was wrong.", delay=0.1),
        Finish(),
        Done(),
    ]))  # fmt: skip
    session = helix({"m.py": BUGGY}, open="m.py")
    session.term.keys("x", "x")  # line 1, then line 2: the function
    screen = session.code_actions(["GLM: Fix"])
    session.pick(screen, "GLM: Fix")
    session.wait(session.progress_message, 10, "GLM's progress on the status line")
    session.settled(lambda s: "return a + b" in s and "return a - b" not in s, 20, "the fixed line")
    session.save("m.py")
    assert session.read("m.py") == FIXED
    (request,) = fake.requests
    prompt = request.body["messages"][-1]["content"]
    assert "return a - b" in prompt
    assert "print(add(1, 2))" in prompt  # context around the target, not the target itself

    session.term.keys("Space", "i", "r")  # editors/helix/config.toml: :lsp-workspace-command glm.revert
    session.wait(lambda s: "return a - b" in s and "return a + b" not in s, 10, "the original back")
    session.save("m.py")
    assert session.read("m.py") == BUGGY


def test_glm_cancel_stops_a_slow_stream_and_restores_the_original(helix, fake):
    """``:lsp-workspace-command glm.cancel`` (no arguments in Helix) stops the latest session."""
    fake.push(Reply(steps=[
        Text("```python\ndef add(a, b):\n"),
        Text("    # step 1 of a long answer\n", delay=0.1),
        Stall(60),
        Text("    return a + b\n```\n"),
        Finish(),
        Done(),
    ]))  # fmt: skip
    session = helix({"m.py": BUGGY}, open="m.py")
    session.term.keys("x", "x")
    screen = session.code_actions(["GLM: Fix"])
    session.pick(screen, "GLM: Fix")
    session.wait("# step 1 of a long answer", 20, "the first streamed line")

    session.command("lsp-workspace-command glm.cancel")
    session.settled(lambda s: "# step 1" not in s and "return a - b" in s, 10, "the original back")
    assert fake.wait_disconnect(0, timeout=5), "cancel must close the upstream stream"
    session.save("m.py")
    assert session.read("m.py") == BUGGY

    # Nothing left to cancel: the user is told so on the status line.
    session.command("lsp-workspace-command glm.cancel")
    session.wait("nothing to cancel", 10)


def test_glm_explain_opens_the_explanation_beside_the_code(helix, fake):
    """``GLM: Explain`` streams into a markdown document that Helix should show in a split."""
    fake.push(reply_text("This adds **two** numbers.\n\nBut it subtracts them.", chunk_size=8, delay=0.02))
    session = helix({"m.py": BUGGY}, open="m.py")
    session.term.keys("x", "x")
    session.code_actions(["GLM: Fix"])
    session.term.keys("Up")  # from the first row to the last: GLM: Explain (kind "" sorts last)
    session.wait("GLM: Explain", 5)
    session.term.keys("Enter")
    session.wait(lambda s: "But it subtracts them." in s and "def add(a, b):" in s, 6,
                 "the explanation on screen beside the code")  # fmt: skip


@pytest.mark.parametrize(
    "how, line, typed, suggestion, expected",
    [
        # C-x after "return ": nothing typed to filter by
        pytest.param("manual", "    return ", "", "a + b", "    return a + b", id="C-x"),
        # the popup Helix opens by itself 250 ms after two word characters; it
        # filters the items by the word typed so far ("ret"), so the item must
        # match it. (The line starts with "r": a cursor right after a space would
        # already send a request on entering insert mode, " " being a trigger
        # character, and race with the typing.)
        pytest.param("automatic", "    r", "et", "urn a + b", "    return a + b", id="while-typing"),
    ],
)  # fmt: skip
def test_completion_menu_offers_the_glm_suggestion_and_inserts_it(
    helix, fake, how, line, typed, suggestion, expected
):
    """Helix has no inline completion: the suggestion comes as one completion item."""
    fake.default = reply_text(suggestion)
    session = helix({"m.py": f"def add(a, b):\n{line}\n"}, open="m.py")
    session.term.keys("j", "A")  # line 2, insert at its end
    session.wait(lambda s: session.term.mode() == "INS", 5, "insert mode")
    if how == "manual":
        session.term.keys("C-x")
    else:
        session.term.type(typed)
    # the menu row: the label (the suggestion's first line, with the word typed so far)
    session.wait("a + b", 15, "a completion item with the suggestion")
    session.term.keys("Tab")  # select the (only) item: Helix previews it and shows its detail beside
    session.wait(lambda s: "GLM" in s and expected in s, 5, "the item's GLM detail and its preview")
    session.term.keys("Enter")  # accept it
    session.wait(expected, 5)
    session.save("m.py")
    assert session.read("m.py") == f"def add(a, b):\n{expected}\n"
    assert fake.requests, "the completion came from the model"


def test_a_missing_server_binary_is_visible_to_the_user(helix, fake, helix_tools):
    """``command = "glm-lsp-does-not-exist"``: Helix 25.01 logs that only at debug level.

    What the user sees: asking for code actions says no server offers them, and
    ``hx --health python`` marks the command as not found.
    """
    session = helix({"m.py": BUGGY}, open="m.py", command=["glm-lsp-does-not-exist", "serve"], with_ruff=False,
                    keys=False)  # fmt: skip
    session.term.keys("Space", "a")
    screen = session.wait(NO_CODE_ACTION_SERVER, 10)
    assert "GLM:" not in screen

    health = subprocess.run([str(helix_tools.hx), "--health", "python"], env=session.env, cwd=session.workspace,
                            capture_output=True, text=True, timeout=30)  # fmt: skip
    assert health.returncode == 0, health.stderr
    line = next(line for line in health.stdout.splitlines() if "glm-lsp-does-not-exist" in line)
    assert "✘" in line and "'glm-lsp-does-not-exist' not found in $PATH" in line
    assert fake.requests == []
