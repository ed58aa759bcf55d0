"""The context layer through the real server: what reaches the fake provider, and what never does."""

from __future__ import annotations

import json
import random

import pytest

from tests.fake_glm import reply_error, reply_text
from tests.lsp.conftest import TEST_KEY, execute, rng
from tests.lsp.editor import Editor

MAIN = "from pricing import discount_rate\n\n\ndef final_price(order):\n    return order.total * (1 - discount_rate(order.customer))\n"
PRICING = "def discount_rate(customer):\n    if customer.loyal:\n        return 0.1\n    return 0.0\n"
UNRELATED = "def render_banner(theme):\n    return theme.colour + '!'\n"


def body_text(fake) -> str:
    return "\n".join(json.dumps(r.body, ensure_ascii=False) for r in fake.requests)


async def test_an_imported_open_buffer_reaches_the_model(lsp, fake, workspace):
    async with lsp("vscode") as client:
        editor = Editor(client)
        editor.open((workspace / "pricing.py").as_uri(), PRICING)
        editor.open((workspace / "banner.py").as_uri(), UNRELATED)
        uri = (workspace / "main.py").as_uri()
        editor.open(uri, MAIN)
        await execute(client, "glm.explain", {"uri": uri, "range": rng("3:0-5:0")})
        shown = await execute(client, "glm.showPrompt", {"uri": uri})
    sent = fake.requests[0].body["messages"][-1]["content"]
    assert "if customer.loyal:" in sent
    assert "render_banner" not in sent
    assert any(s["path"] == "pricing.py" for s in shown["snippets"])
    assert all({"source", "score", "tokens", "why"} <= set(s) for s in shown["snippets"])


async def test_a_tight_budget_keeps_the_related_buffer_only(lsp, fake, workspace):
    async with lsp("vscode", init_options={"context": {"maxTokens": 256}}) as client:
        editor = Editor(client)
        editor.open((workspace / "pricing.py").as_uri(), PRICING)
        for i in range(5):
            editor.open((workspace / f"other{i}.py").as_uri(), UNRELATED.replace("theme", f"theme{i}") * 3)
        uri = (workspace / "main.py").as_uri()
        editor.open(uri, MAIN)
        await execute(client, "glm.explain", {"uri": uri, "range": rng("3:0-5:0")})
    sent = fake.requests[0].body["messages"][-1]["content"]
    assert "customer.loyal" in sent and "render_banner" not in sent


async def test_budget_with_50_buffers_and_stable_order(lsp, fake, workspace):
    budget = 1500
    async with lsp("vscode", init_options={"context": {"maxTokens": budget}}) as client:
        editor = Editor(client)
        for i in range(50):
            code = "".join(f"def helper_{i}_{j}(item_{j}, row_{i}):\n    return item_{j}.size + row_{i}.width\n\n"
                           for j in range(30))
            if i % 10 == 3:  # a few buffers really relate to the target
                code += f"def final_price_{i}(order):\n    return order.total * discount_rate(order.customer)\n"
            editor.open((workspace / f"mod{i}.py").as_uri(), code)
        uri = (workspace / "main.py").as_uri()
        editor.open(uri, MAIN)
        await execute(client, "glm.explain", {"uri": uri, "range": rng("3:0-5:0")})
        first = await execute(client, "glm.showPrompt", {"uri": uri})
        await execute(client, "glm.explain", {"uri": uri, "range": rng("3:0-5:0")})
        second = await execute(client, "glm.showPrompt", {"uri": uri})
    assert first["snippets"], "some related code was chosen"
    assert {s["path"] for s in first["snippets"]} <= {f"mod{i}.py" for i in (3, 13, 23, 33, 43)}
    assert sum(s["tokens"] for s in first["snippets"]) <= budget
    placed = lambda report: [(s["path"], s["line"], s["source"]) for s in report["snippets"]]  # noqa: E731
    assert placed(first) == placed(second)
    assert fake.requests[0].body["messages"] == fake.requests[1].body["messages"]


SECRETS = {
    "aws": "AKIAIOSFODNN7EXAMPLE",
    "openai": "sk-proj-abcdEFGH1234ijklMNOP5678",
    "github": "ghp_16C7e42F292c6912E7710c838347Ae178B4a",
    "slack": "xoxb-1234567890-abcdefghij",
    "stripe": "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
    "google": "AIzaSyA-1234567890abcdefghijklmnopqrstu",
    "password": "hunter2-correct-horse",
    "jwt": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
}


async def test_secrets_and_excluded_files_never_reach_the_model(lsp, fake, workspace):
    (workspace / ".gitignore").write_text("build/\n")
    (workspace / "sub").mkdir()
    (workspace / "sub" / ".gitignore").write_text("local_*.py\n")
    leaky = (
        f'AWS_KEY = "{SECRETS["aws"]}"\n'
        f'client = OpenAI(api_key="{SECRETS["openai"]}")\n'
        f'token = "{SECRETS["github"]}"\n'
        f'SLACK = "{SECRETS["slack"]}"\n'
        f'stripe.api_key = "{SECRETS["stripe"]}"\n'
        f'GOOGLE = "{SECRETS["google"]}"\n'
        f'password = "{SECRETS["password"]}"\n'
        f'session = "{SECRETS["jwt"]}"\n'
        f'provider_key = "{TEST_KEY}"\n'
        "def discount_rate(customer):\n    return 0.1\n"
    )
    async with lsp("vscode") as client:
        editor = Editor(client)
        hidden = {
            ".env": "DB_PASSWORD=env-file-secret-1\n",
            "deploy.pem": "pem-file-secret-2\n",
            "build/out.py": "def discount_rate(c):\n    return 'gitignored-secret-3'\n",
            "sub/local_conf.py": "def discount_rate(c):\n    return 'nested-ignore-secret-4'\n",
            "my_secrets.py": "def discount_rate(c):\n    return 'secret-name-5'\n",
        }
        for name, text in hidden.items():
            (workspace / name).parent.mkdir(parents=True, exist_ok=True)
            editor.open((workspace / name).as_uri(), text)
        editor.open((workspace / "pricing.py").as_uri(), leaky)
        uri = (workspace / "main.py").as_uri()
        editor.open(uri, MAIN + leaky)
        await execute(client, "glm.explain", {"uri": uri})
        await execute(client, "glm.explain", {"uri": uri, "range": rng("0:0-20:0")})
        shown = await execute(client, "glm.showPrompt", {"uri": uri})
        refused = await execute(client, "glm.explain", {"uri": (workspace / ".env").as_uri()})
    sent = body_text(fake)
    for name, secret in {**SECRETS, "provider key": TEST_KEY}.items():
        assert secret not in sent, f"{name} leaked"
    for marker in ("env-file-secret-1", "pem-file-secret-2", "gitignored-secret-3", "nested-ignore-secret-4", "secret-name-5"):
        assert marker not in sent
    assert "[REDACTED]" in sent
    assert len(fake.requests) == 2  # the .env explain was refused before any request
    assert refused is None
    assert any("will not send this file" in m.message for m in client.messages)
    assert any(".env" in e for e in shown["excluded"])


async def test_context_too_long_retries_once_with_less_then_says_so(lsp, fake, workspace):
    fake.push(reply_error(400, code="1261", message="Prompt too long"), reply_text("```python\nx = 2\n```"))
    async with lsp("vscode", init_options={"context": {"maxTokens": 256}}) as client:
        editor = Editor(client)
        for i in range(5):
            filler = "".join(f"value_{i}_{j} = {j}\n" for j in range(60))
            editor.open((workspace / f"mod{i}.py").as_uri(), filler + f"def helper(x):\n    return x + {i}\n")
        uri = (workspace / "main.py").as_uri()
        editor.open(uri, "x = 1\nprint(helper(x))\n")
        await execute(client, "glm.fix", {"uri": uri, "range": rng("0:0-1:0")})
        await editor.wait_idle()
        assert editor.text(uri) == "x = 2\nprint(helper(x))\n"
        first, second = fake.requests
        assert len(json.dumps(second.body)) < len(json.dumps(first.body))
        fake.push(reply_error(400, code="1261"), reply_error(400, code="1261"))
        assert await execute(client, "glm.fix", {"uri": uri, "range": rng("0:0-1:0")}) is None
        assert any("too long" in m.message for m in client.messages)
        assert editor.text(uri) == "x = 2\nprint(helper(x))\n"
    assert len(fake.requests) == 4


async def test_incremental_sync_on_a_5_mb_document(lsp, fake, workspace):
    rand = random.Random(5)
    pieces = ["ascii line of code = 1", "中文注释 😀 emoji", "form\x0cfeed", "sep\u2028arator"]
    endings = ["\n", "\r\n", "\r"]
    text = "".join(rand.choice(pieces) + rand.choice(endings) for _ in range(300_000))
    assert len(text.encode()) > 5_000_000
    async with lsp("vscode") as client:
        editor = Editor(client, encoding="utf-16")
        uri = (workspace / "big.txt").as_uri()
        editor.open(uri, text, language="plaintext")
        lines = editor.text(uri).splitlines()  # only to pick positions
        for _ in range(200):
            line = rand.randrange(250_000)
            editor.type(uri, (line, rand.randrange(8)), rand.choice(["x", "中", "😀", "\n", ""]),
                        (line, rand.randrange(8, 12)))
        final = editor.text(uri)
        for _ in range(3):
            start = rand.randrange(200_000)
            fake.push(reply_text("ok"))
            await execute(client, "glm.explain", {"uri": uri, "range": rng(f"{start}:0-{start + 20}:0")})
    from tests.lsp.editor import offset_at

    for recorded in fake.requests:
        sent = recorded.body["messages"][-1]["content"]
        first = int(sent.split("Lines ")[1].split("-")[0]) - 1
        expected = final[offset_at(final, first, 0, "utf-16"):offset_at(final, first + 20, 0, "utf-16")].rstrip()
        assert expected in sent
    del lines


async def test_a_closed_document_forgets_its_last_prompt(lsp, fake, workspace):
    async with lsp("vscode") as client:
        editor = Editor(client)
        uri = (workspace / "main.py").as_uri()
        editor.open(uri, MAIN)
        await execute(client, "glm.explain", {"uri": uri, "range": rng("3:0-5:0")})
        assert (await execute(client, "glm.showPrompt", {"uri": uri}))["messages"]
        editor.close(uri)
        assert await execute(client, "glm.showPrompt", {"uri": uri}) is None
