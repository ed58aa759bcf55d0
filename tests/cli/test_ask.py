"""`glm-lsp ask`, run as a real subprocess against the fake provider on 127.0.0.1."""

from __future__ import annotations

import os
import select
import signal
import time

import pytest

from tests.cli.conftest import KEY
from tests.fake_glm import Reply, Stall, Text, reply_error, reply_text

TEXT = "Bonjour, 世界! 😀 ünïcödé — 終わり"  # no trailing newline: stdout must be exactly this
WITH_KEY = {"ZAI_API_KEY": KEY}


def read_until(proc, fd: int, wanted: bytes, deadline: float) -> tuple[bytes, float | None]:
    """Read ``fd`` byte by byte until ``wanted`` is seen; also the monotonic time of the first byte."""
    data, first = b"", None
    while wanted not in data:
        assert time.monotonic() < deadline, f"no {wanted!r} on stdout, got {data!r}"
        ready, _, _ = select.select([fd], [], [], 0.2)
        if not ready:
            assert proc.poll() is None, f"glm-lsp exited {proc.returncode} early: {proc.stderr.read()!r}"
            continue
        byte = os.read(fd, 1)
        assert byte, f"stdout closed before {wanted!r}: {data!r}"
        if first is None:
            first = time.monotonic()
        data += byte
    return data, first


def test_answer_is_exactly_stdout_and_request_is_well_formed(fake, cli, zai_url):
    fake.push(reply_text(TEXT, chunk_size=3))
    done = cli.run("ask", "hi there", "--provider", "zai", "--base-url", zai_url, env=WITH_KEY)
    assert done.returncode == 0, done.stderr
    assert done.stdout == TEXT
    assert "tokens" in done.stderr and "10" in done.stderr and "5" in done.stderr  # Usage(10, 5)
    (sent,) = fake.requests
    assert sent.path == "/api/paas/v4/chat/completions"
    assert sent.headers["authorization"] == f"Bearer {KEY}"
    assert sent.body["stream"] is True
    assert sent.body["thinking"] == {"type": "enabled"}
    assert sent.body["model"] == "glm-5.1"
    last = sent.body["messages"][-1]
    assert last["role"] == "user" and "hi there" in last["content"]


def test_output_streams_before_the_answer_is_complete(fake, cli, zai_url):
    text = "".join(f"part{i}-" for i in range(8))
    fake.push(reply_text(text, chunk_size=6, delay=0.3))
    proc = cli.popen("ask", "hi", "--base-url", zai_url, env=WITH_KEY)
    try:
        out, first_byte_at = read_until(proc, proc.stdout.fileno(), b"part0", time.monotonic() + 30)
        rest, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert (out + rest).decode() == text
    finished = fake.requests[0].finished
    assert finished is not None and first_byte_at < finished


@pytest.mark.parametrize("argv,model", [
    (["--provider", "zai", "--base-url", "{url}", "ask", "q"], "glm-5.1"),
    (["ask", "--provider", "zai", "--base-url", "{url}", "q"], "glm-5.1"),
    (["ask", "q", "--base-url", "{url}", "--model", "m2"], "m2"),
    (["--provider", "zai", "ask", "--model", "m3", "q", "--base-url", "{url}"], "m3"),
    (["--base-url", "{url}", "--model", "m4", "ask", "q"], "m4"),
], ids=["before", "after-before-prompt", "after-prompt", "mixed", "all-before"])
def test_common_flags_before_and_after_the_subcommand(fake, cli, zai_url, argv, model):
    fake.push(reply_text("ok"))
    done = cli.run(*[a.format(url=zai_url) for a in argv], env=WITH_KEY)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "ok"
    (sent,) = fake.requests
    assert sent.path == "/api/paas/v4/chat/completions"
    assert sent.body["model"] == model
    assert sent.body["messages"][-1]["content"].endswith("q")


def test_dash_reads_the_prompt_from_stdin(fake, cli, zai_url):
    done = cli.run("ask", "-", "--base-url", zai_url, env=WITH_KEY, input="what is 6 * 7, from stdin?\n")
    assert done.returncode == 0, done.stderr
    assert "what is 6 * 7, from stdin?" in fake.requests[0].body["messages"][-1]["content"]


def test_file_content_goes_into_the_request(fake, cli, zai_url):
    path = cli.cwd / "sauce.py"
    path.write_text("def secret_sauce():\n    return 'ketchup-42'\n", encoding="utf-8")
    done = cli.run("ask", "explain this", "--file", str(path), "--base-url", zai_url, env=WITH_KEY)
    assert done.returncode == 0, done.stderr
    sent = "\n".join(m["content"] for m in fake.requests[0].body["messages"])
    assert "def secret_sauce():\n    return 'ketchup-42'" in sent
    assert "explain this" in fake.requests[0].body["messages"][-1]["content"]


@pytest.mark.parametrize("show", [True, False])
def test_reasoning_goes_to_stderr_only_with_show_thinking(fake, cli, zai_url, show):
    fake.push(reply_text("the answer", reasoning="pondering deeply"))
    done = cli.run("ask", "hi", "--base-url", zai_url, *(["--show-thinking"] if show else []), env=WITH_KEY)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "the answer"
    assert ("pondering deeply" in done.stderr) is show
    assert "ponder" not in done.stdout


@pytest.mark.parametrize("provider,path,variable", [
    ("zai", "/api/paas/v4", "ZAI_API_KEY"),
    ("runware", "/v1", "RUNWARE_API_KEY"),
])
def test_no_key_is_one_line_naming_the_variable(fake, cli, provider, path, variable):
    done = cli.run("ask", "hi", "--provider", provider, "--base-url", fake.url + path)
    assert done.returncode != 0
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and variable in lines[0], done.stderr
    assert "Traceback" not in done.stderr
    assert fake.requests == []


@pytest.mark.parametrize("verbose", [False, True])
@pytest.mark.parametrize("message", [None, f"Invalid token {KEY}"], ids=["plain", "echoes-key"])
def test_rejected_key(fake, cli, zai_url, verbose, message):
    fake.push(reply_error(401, message=message))
    done = cli.run("ask", "hi", "--base-url", zai_url, *(["-v"] if verbose else []),
                   env={**WITH_KEY, "GLM_LSP_MAX_RETRIES": "0"})
    assert done.returncode != 0
    assert "rejected" in done.stderr.lower()
    if not verbose:
        assert "Traceback" not in done.stderr
    assert KEY not in done.stdout + done.stderr


def test_ctrl_c_exits_130_and_closes_the_stream(fake, cli, zai_url):
    fake.push(Reply(steps=[Text("first"), Stall(60)]))
    proc = cli.popen("ask", "hi", "--base-url", zai_url, env=WITH_KEY)
    try:
        read_until(proc, proc.stdout.fileno(), b"first", time.monotonic() + 30)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err
    assert b"Traceback" not in err
    assert fake.wait_disconnect(0, 5)


def test_bad_setting_in_environment_is_one_line(fake, cli, zai_url):
    done = cli.run("ask", "hi", "--base-url", zai_url, env={**WITH_KEY, "GLM_LSP_THINKING": "sometimes"})
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert all(word in lines[0] for word in ("thinking", "sometimes", "auto", "enabled", "disabled"))
    assert fake.requests == []
