"""editors/neovim in real Neovim 0.11 and 0.12 against the real server and the fake provider.

Each test runs one headless Neovim (see conftest.py) and asserts on what the editor
showed: buffer lines, windows, notifications, the health report.
"""

from __future__ import annotations

import re

from tests.editors.neovim.conftest import TEST_KEY
from tests.fake_glm import Done, Finish, Reply, Text, reply_text

GLM_COMMANDS = ["glm.fix", "glm.rewrite", "glm.docstring", "glm.tests", "glm.explain", "glm.usage",
                "glm.revert", "glm.cancel", "glm.showPrompt"]
SUBCOMMANDS = ["cancel", "docstring", "explain", "fix", "prompt", "revert", "rewrite", "tests"]
ERROR = 4  # vim.log.levels.ERROR

APP = '''import math

def area(r):
    """Area of a circle."""
    return math.pi * r * 2

print(area(2))
'''
FIXED = '''def area(r):
    """Area of a circle."""
    return math.pi * r ** 2
'''


def fenced(code: str, delay: float = 0.08) -> Reply:
    """The model's answer: a sentence, then the code fence, one line per delayed chunk."""
    steps = [Text("Here is the corrected code:\n\n```python\n", delay=delay)]
    steps += [Text(line + "\n", delay=delay) for line in code.splitlines()]
    return Reply(steps=[*steps, Text("```\n", delay=delay), Finish(), Done()])


def lines(text: str) -> list[str]:
    return text.splitlines()


def check(run, condition: bool = True) -> None:
    assert run.obs.get("ok") and run.returncode == 0 and condition, run.explain()


def test_setup_attaches_the_server(nvim, fake):
    run = nvim.run("attach", {"app.py": APP}, "app.py")
    check(run)
    settings = {"baseUrl": fake.url + "/api/paas/v4", "maxRetries": 0}
    assert run.obs["name"] == "glm_lsp"
    assert sorted(run.obs["commands"]) == sorted(GLM_COMMANDS)
    assert run.obs["init_options"] == settings
    assert run.obs["settings"] == {"glm": settings}
    assert run.obs["root_dir"] == str(nvim.project)
    assert run.obs["completion"] == SUBCOMMANDS
    assert run.obs["completion_r"] == ["rewrite"]
    assert run.obs["completion_2nd"] == []
    errors = [n["msg"] for n in run.obs["notifications"] if n["level"] == ERROR]
    assert errors == [
        'GLM: unknown subcommand "bogus"; use one of: ' + ", ".join(SUBCOMMANDS),
        "GLM: glm-lsp is not attached to this buffer; see :checkhealth glm_lsp",
    ]
    assert fake.requests == []


def test_fix_streams_into_the_range(nvim, fake):
    fake.push(fenced(FIXED))
    expected = lines(APP.replace("r * 2", "r ** 2"))
    run = nvim.run("fix", {"app.py": APP}, "app.py", params={"expected": expected, "original": lines(APP)})
    check(run)
    assert run.obs["fixed"] == expected
    between = [s for s in run.obs["states"] if s not in (APP.rstrip("\n"), "\n".join(expected))]
    assert between, f"no intermediate buffer state: the edit did not stream\n{run.explain()}"
    assert any(p["title"] == "GLM: Fix" for p in run.obs["progress"] if p["kind"] == "begin")
    assert any(e.startswith("GLM: Fix: ") for e in run.obs["echoes"]), run.explain()
    sent = str(fake.requests[0].body["messages"])
    assert "return math.pi * r * 2" in sent
    prompt = run.obs["prompt"]
    assert prompt["filetype"] == "markdown" and prompt["buftype"] == "nofile"
    assert "## system" in prompt["lines"] and "## user" in prompt["lines"]
    assert any("return math.pi * r * 2" in line for line in prompt["lines"])
    assert run.obs["reverted"] == lines(APP)


def test_rewrite_a_visual_selection_with_typed_instruction(nvim, fake):
    body = '    """Area of a circle of radius r."""\n    return math.pi * r ** 2\n'
    fake.push(fenced(body))
    expected = lines(APP.replace(
        '    """Area of a circle."""\n    return math.pi * r * 2\n', body))
    run = nvim.run("rewrite", {"app.py": APP}, "app.py",
                   params={"instruction": "square the radius", "expected": expected})
    check(run)
    assert run.obs["input_prompt"] == "GLM rewrite: "
    assert run.obs["lines"] == expected
    sent = str(fake.requests[0].body["messages"])
    assert "square the radius" in sent


def test_explain_opens_the_explanation_beside_the_code(nvim, fake):
    explanation = "`area` returns the area of a circle.\n\nIt multiplies by 2 where it should square `r`."
    fake.push(reply_text(explanation, chunk_size=12, delay=0.03))
    run = nvim.run("explain", {"app.py": APP}, "app.py", params={"explanation": explanation})
    check(run)
    assert run.obs["name"].endswith(".md") and run.obs["filetype"] == "markdown"
    assert run.obs["lines"][0].startswith("# Explanation: app.py, lines 3-5")
    assert "\n".join(run.obs["lines"]).rstrip().endswith(explanation)
    assert run.obs["windows"] == 2 and run.obs["focus_stayed"]
    assert run.obs["clients"] == 1, "the explanation buffer started a second server"
    assert any(p["title"] == "GLM: Explain" for p in run.obs["progress"] if p["kind"] == "begin")


def test_ghost_text_is_shown_dismissed_and_accepted(nvim, fake):
    fake.default = reply_text("+ b")  # every completion request gets it
    code = "def add(a, b):\n    return a\n"
    run = nvim.run("ghost", {"app.py": code}, "app.py",
                   params={"line": 2, "type": " ", "expected": "    return a + b"})
    check(run)
    assert run.obs["native"] == (nvim.version == "0.12")
    assert run.obs["shown"]["virt_text"][0][0] == "+ b"
    assert run.obs["mapping"] == "GLM: accept the suggestion"
    assert run.obs["after_dismiss"] == "    return a "
    assert run.obs["after_tab"] == "    return a \t", "<Tab> without a suggestion must insert a tab"
    assert run.obs["lines"] == ["def add(a, b):", "    return a + b"]
    assert run.obs["mode"] == "i"


def test_checkhealth_reports_ok(nvim, fake):
    run = nvim.run("health", {"app.py": APP}, "app.py")
    check(run)
    report = "\n".join(run.obs["health"])
    assert re.search(r"OK server found: \S+", report), report
    assert re.search(r"OK version: glm-lsp \d", report), report
    assert re.search(r"OK key present: ZAI_API_KEY \(provider zai\)", report), report
    assert re.search(rf"OK live request to {re.escape(fake.url)}/api/paas/v4: Z\.AI answered 'Hello", report), report
    assert "ERROR" not in report and "WARNING" not in report, report
    assert TEST_KEY not in report
    assert [r.path for r in fake.requests] == ["/api/paas/v4/chat/completions"]


def test_missing_server_binary_says_how_to_install(nvim):
    run = nvim.run("missing", {"app.py": APP}, "app.py", setup={"cmd": ["glm-lsp-does-not-exist"]})
    check(run)
    errors = [n["msg"] for n in run.obs["notifications"] if n["level"] == ERROR]
    assert len(errors) == 1 and "`glm-lsp-does-not-exist` was not found" in errors[0], run.explain()
    assert "pip install glm-lsp" in errors[0]
    assert run.obs["clients"] == 0
    report = "\n".join(run.obs["health"])
    assert "ERROR `glm-lsp-does-not-exist` not found" in report, report
    assert "pip install glm-lsp" in report


def test_setup_on_neovim_before_0_11_says_so(nvim):
    """No 0.10 build is on PyPI: the gate is tested by faking vim.fn.has('nvim-0.11') == 0."""
    run = nvim.run("gate", {"app.py": APP}, "app.py", setup=None)
    check(run)
    assert run.obs["setup_ok"] is True
    assert [(n["msg"], n["level"]) for n in run.obs["notifications"]] == [("glm_lsp needs Neovim 0.11+", ERROR)]
    assert run.obs["enabled"] is False and run.obs["augroup"] is False
    assert run.obs["clients"] == 0
