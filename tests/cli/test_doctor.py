"""`glm-lsp doctor`, run as a real subprocess against the fake provider on 127.0.0.1."""

from __future__ import annotations

import re
import socket

import pytest

from tests.cli.conftest import KEY
from tests.fake_glm import Reply, reply_error

WITH_KEY = {"ZAI_API_KEY": KEY}
NO_RETRIES = {**WITH_KEY, "GLM_LSP_MAX_RETRIES": "0"}


def row(output: str, key: str) -> str:
    """The settings line for ``key`` (its first word)."""
    rows = re.findall(rf"^\s*{re.escape(key)}\s+(.*)$", output, re.MULTILINE)
    assert len(rows) == 1, f"no single row for {key} in:\n{output}"
    return rows[0]


def last_line(done) -> str:
    lines = [line for line in (done.stdout + "\n" + done.stderr).splitlines() if line.strip()]
    return lines[-1]


def test_success_shows_settings_with_origins_and_masks_the_key(fake, cli, zai_url):
    done = cli.run("doctor", "--base-url", zai_url, env=WITH_KEY)
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "zai" in row(out, "provider") and "default" in row(out, "provider")
    assert zai_url in row(out, "baseUrl") and "command line" in row(out, "baseUrl")
    assert "glm-5.1" in row(out, "model") and "default" in row(out, "model")
    assert "environment ZAI_API_KEY" in row(out, "apiKey")
    everything = done.stdout + done.stderr
    leaks = [KEY[i : i + 4] for i in range(len(KEY) - 3) if KEY[i : i + 4] in everything]
    assert leaks == []
    (sent,) = fake.requests
    assert sent.headers["authorization"] == f"Bearer {KEY}"
    assert isinstance(sent.body["max_tokens"], int) and sent.body["max_tokens"] <= 64
    assert sent.body["thinking"] == {"type": "disabled"}


def test_no_key_names_the_variable_and_sends_nothing(fake, cli, zai_url):
    done = cli.run("doctor", "--base-url", zai_url)
    assert done.returncode != 0
    assert "ZAI_API_KEY" in last_line(done)
    assert fake.requests == []


def refused_url() -> tuple[socket.socket, str]:
    """A port bound but not listening: connecting to it is refused."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    return sock, f"http://127.0.0.1:{sock.getsockname()[1]}/api/paas/v4"


@pytest.mark.parametrize("reply,env,args,wanted", [
    (reply_error(401), {}, [], "rejected"),
    (reply_error(404, code="1211"), {}, ["--model", "no-such-model-x"], "no-such-model-x"),
    (reply_error(429, code="1113"), {}, [], "https://api.z.ai/api/coding/paas/v4"),
    (Reply(delay=30), {"GLM_LSP_TIMEOUT_SECONDS": "1"}, [], "timeoutSeconds"),
], ids=["401", "unknown-model", "1113-coding-plan", "timeout"])
def test_live_check_failures_say_what_is_wrong(fake, cli, zai_url, reply, env, args, wanted):
    fake.push(reply)
    done = cli.run("doctor", "--base-url", zai_url, *args, env={**NO_RETRIES, **env})
    assert done.returncode != 0
    assert wanted.lower() in last_line(done).lower(), done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert len(fake.requests) == 1


def test_connection_refused(fake, cli):
    sock, url = refused_url()
    with sock:
        done = cli.run("doctor", "--base-url", url, env=NO_RETRIES)
    assert done.returncode != 0
    assert "connection refused" in last_line(done).lower(), done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr


@pytest.mark.parametrize("sources,winner,origin", [
    ({"project"}, "from-project", ".glm-lsp.toml"),
    ({"project", "env"}, "from-env", "environment"),
    ({"project", "env", "cli"}, "from-cli", "command line"),
])
def test_doctor_shows_the_winning_value_and_its_origin(fake, cli, zai_url, sources, winner, origin):
    (cli.cwd / ".glm-lsp.toml").write_text('model = "from-project"\n', encoding="utf-8")
    env = {**WITH_KEY, **({"GLM_LSP_MODEL": "from-env"} if "env" in sources else {})}
    args = ["--model", "from-cli"] if "cli" in sources else []
    done = cli.run("doctor", "--base-url", zai_url, *args, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    model_row = row(done.stdout, "model")
    assert winner in model_row and origin in model_row
    assert fake.requests[0].body["model"] == winner
