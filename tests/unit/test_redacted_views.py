"""Redacted copies of open documents, made in the background, and the snippets taken from them."""

from __future__ import annotations

import asyncio

import pytest

from glm_lsp.context import redacted
from glm_lsp.context.builder import ContextBuilder
from glm_lsp.context.documents import DocumentStore, lines_replaced
from glm_lsp.context.privacy import REDACTED, Privacy
from glm_lsp.settings import Settings
from tests.unit.test_privacy import PEM_BODY

URI = "file:///w/keys.py"
OTHER = "file:///w/other.py"
KEY_LINES = PEM_BODY * 12  # a long key: a window in its middle shows neither BEGIN nor END
CODE = "\n".join([
    "def load_signing_material(store):",
    '    return store.read("signing")',
    "",
    'SIGNING_KEY = """-----BEGIN RSA PRIVATE KEY-----',
    *KEY_LINES,
    '-----END RSA PRIVATE KEY-----"""',
    "",
    "def verify_signature(payload, signature, signing_material):",
    "    return signing_material.verify(payload, signature)",
    "",
])


@pytest.fixture(autouse=True)
def quick(monkeypatch):
    monkeypatch.setattr(redacted, "IDLE_SECONDS", 0.01)


class Workspace:
    """Open documents and the source the views read when idle."""

    def __init__(self, excluded: set[str] = frozenset()) -> None:
        self.documents = DocumentStore()
        self.privacy = Privacy(None, [])
        self.excluded = excluded

    async def source(self, uri: str):
        return self.documents, self.privacy, uri in self.excluded


def copy_of(views, doc, privacy) -> list[str] | None:
    text = views.window(doc, privacy, 0, doc.line_count)
    return None if text is None else text.split("\n")


async def until_ready(views, doc, privacy, timeout: float = 5.0) -> list[str]:
    for _ in range(int(timeout / 0.01)):
        lines = copy_of(views, doc, privacy)
        if lines is not None:
            return lines
        await asyncio.sleep(0.01)
    raise AssertionError("the redacted copy was never made")


async def test_the_copy_is_the_document_redacted_whole_line_for_line():
    ws = Workspace()
    views = redacted.RedactedViews()
    doc = ws.documents.open(URI, CODE, 1, "python")
    views.changed(URI, ws.source)
    lines = await until_ready(views, doc, ws.privacy)
    assert "\n".join(lines) == ws.privacy.redact(CODE)
    assert len(lines) == doc.line_count
    middle = slice(20, 30)  # key material only: alone, it is not recognisable as a key
    assert all(line in PEM_BODY for line in CODE.split("\n")[middle])
    assert ws.privacy.redact("\n".join(CODE.split("\n")[middle])) != REDACTED  # why the copy exists
    assert set(lines[middle]) == {REDACTED}
    assert views.window(doc, ws.privacy, 20, 23) == "\n".join([REDACTED] * 3)
    assert views.window(doc, ws.privacy, 0, 1) == "def load_signing_material(store):"


async def test_a_copy_is_used_only_for_its_version_and_rules():
    ws = Workspace()
    views = redacted.RedactedViews()
    doc = ws.documents.open(URI, CODE, 1, "python")
    views.changed(URI, ws.source)
    await until_ready(views, doc, ws.privacy)
    assert copy_of(views, doc, Privacy(None, ["*.txt"])) is None  # other rules: not this copy
    ws.privacy = Privacy(None, ["*.txt"])  # the settings changed: the copy is made again
    assert copy_of(views, doc, ws.privacy) is None
    await until_ready(views, doc, ws.privacy)
    ws.documents.change(URI, 2, [("# edited\n", ((0, 0), (0, 0)))], "utf-16")
    assert copy_of(views, doc, ws.privacy) is None  # stale at once
    views.changed(URI, ws.source)
    lines = await until_ready(views, doc, ws.privacy)
    assert lines[0] == "# edited"


async def test_excluded_and_closed_documents_get_no_copy():
    ws = Workspace(excluded={URI})
    views = redacted.RedactedViews()
    doc = ws.documents.open(URI, CODE, 1, "python")
    other = ws.documents.open(OTHER, "x = 1\n", 1, "python")
    views.changed(URI, ws.source)
    views.changed(OTHER, ws.source)
    await until_ready(views, other, ws.privacy)
    assert copy_of(views, doc, ws.privacy) is None
    views.forget(OTHER)
    assert copy_of(views, other, ws.privacy) is None


async def test_snippets_inside_a_long_key_come_from_the_copy_or_not_at_all():
    builder = ContextBuilder()
    settings = Settings()
    documents = DocumentStore()
    current = documents.open("file:///w/main.py", "verify_signature(payload, signature, signing_material)\n", 1,
                             "python")
    keys = documents.open(URI, CODE, 1, "python")
    privacy = builder.privacy(None, settings)

    def build():
        context = builder.build(documents, current, "verify_signature payload signature signing_material",
                                2000, None, settings)
        return [s.text for s in context.snippets if s.source == "open buffer"]

    # no copy yet: a file holding a private key gives no window (one may sit inside the key)
    assert build() == []

    async def source(uri):
        return documents, privacy, False

    builder.views.changed(URI, source)
    await until_ready(builder.views, keys, privacy)
    texts = build()
    assert texts, "the ranked window is offered once the copy is ready"
    for text in texts:
        assert not any(line in text for line in PEM_BODY)
        assert "verify_signature" in text


async def test_a_file_that_would_hold_up_requests_gets_no_copy():
    ws = Workspace()
    views = redacted.RedactedViews()
    block = "\n".join(f"value_{i} = compute({i})" for i in range(redacted.MAX_PIECE_CHARS // 20))  # no blank line
    big = ws.documents.open(URI, block + "\n", 1, "python")
    small = ws.documents.open(OTHER, "x = 1\n", 1, "python")
    views.changed(URI, ws.source)
    views.changed(OTHER, ws.source)
    await until_ready(views, small, ws.privacy)
    await asyncio.sleep(0.05)
    assert copy_of(views, big, ws.privacy) is None  # its windows are redacted when asked for


async def test_secrets_in_several_paragraphs_are_redacted_on_their_own_lines():
    ws = Workspace()
    views = redacted.RedactedViews()
    text = "\r\n".join([
        "import os",
        'client = OpenAI(api_key="sk-ab12cd34")',
        "",
        "",
        "def first():",
        "    return 1",
        "",
        "AWS = 'AKIAIOSFODNN7EXAMPLE'",
        "x = 2",
        "",
    ])
    doc = ws.documents.open(URI, text, 1, "python")
    views.changed(URI, ws.source)
    lines = await until_ready(views, doc, ws.privacy)
    expected = ws.privacy.redact(text).split("\r\n")
    assert lines == expected and len(lines) == doc.line_count
    assert "sk-ab12cd34" not in lines[1] and "AKIAIOSFODNN7EXAMPLE" not in lines[7]
    assert lines[4:7] == ["def first():", "    return 1", ""]


async def test_the_copies_wait_while_a_completion_request_is_served(monkeypatch):
    monkeypatch.setattr(redacted, "QUIET_SECONDS", 0.05)
    ws = Workspace()
    views = redacted.RedactedViews()
    doc = ws.documents.open(URI, "x = 1\n", 1, "python")
    with views.paused():
        views.changed(URI, ws.source)
        await asyncio.sleep(0.2)  # long past IDLE_SECONDS: held only by the request in flight
        assert copy_of(views, doc, ws.privacy) is None
    assert copy_of(views, doc, ws.privacy) is None  # nor in the moment after it
    assert await until_ready(views, doc, ws.privacy) == ["x = 1", ""]


async def test_open_buffers_are_indexed_for_ranking_while_the_editor_is_idle():
    builder = ContextBuilder()
    settings = Settings()
    documents = DocumentStore()
    other = documents.open(OTHER, "def shipping_quote(order_lines):\n    return sum(order_lines)\n", 1, "python")
    secret = documents.open(URI, "def shipping_secret(order_lines):\n    pass\n", 1, "python")
    privacy = builder.privacy(None, settings)

    async def source(uri):
        return documents, privacy, uri == URI  # URI is excluded (context.exclude, .gitignore, ...)

    builder.views.changed(URI, source)
    builder.views.changed(OTHER, source)
    await until_ready(builder.views, other, privacy)
    await asyncio.wait_for(builder.views._task, 5)  # the background pass is over: both documents were seen
    assert OTHER in builder.index  # before any request asked for snippets
    assert URI not in builder.index and copy_of(builder.views, secret, privacy) is None
    [found] = builder.index.rank("shipping_quote(order_lines)", exclude_uri="file:///w/main.py")
    assert found.window.uri == OTHER


async def test_the_copies_wait_while_the_user_types(monkeypatch):
    monkeypatch.setattr(redacted, "IDLE_SECONDS", 0.2)
    ws = Workspace()
    views = redacted.RedactedViews()
    other = ws.documents.open(OTHER, "x = 1\n", 1, "python")
    ws.documents.open(URI, "y = 2\n", 1, "python")
    views.changed(OTHER, ws.source)
    for _ in range(8):  # a keystroke every 50 ms in another file, for 0.4 s
        await asyncio.sleep(0.05)
        views.changed(URI, ws.source)
        assert copy_of(views, other, ws.privacy) is None
    assert await until_ready(views, other, ws.privacy) == ["x = 1", ""]


async def test_unchanged_says_which_lines_can_go_out_as_they_are():
    ws = Workspace()
    views = redacted.RedactedViews()
    text = "import os\nclient = OpenAI(api_key='sk-ab12cd34')\n\ndef first():\n    return 1\n"
    doc = ws.documents.open(URI, text, 1, "python")
    assert not views.unchanged(doc, ws.privacy, 3, 5)  # no copy yet
    views.changed(URI, ws.source)
    await until_ready(views, doc, ws.privacy)
    assert views.unchanged(doc, ws.privacy, 2, 5) and views.unchanged(doc, ws.privacy, 0, 1)
    assert not views.unchanged(doc, ws.privacy, 0, 2) and not views.unchanged(doc, ws.privacy, 1, 5)
    assert not views.unchanged(doc, Privacy(None, ["*.txt"]), 3, 5)  # other rules
    ws.documents.change(URI, 2, [("# edited\n", ((0, 0), (0, 0)))], "utf-16")
    assert not views.unchanged(doc, ws.privacy, 3, 5)  # another version


async def test_a_definition_holding_a_secret_is_redacted_when_the_copy_is_ready():
    builder = ContextBuilder()
    settings = Settings()
    documents = DocumentStore()
    code = ("def connect(url):\n    password = 'Tr0ub4dor-and-3-horses'\n    return open_db(url, password)\n\n\n"
            "def shipping_quote(order_lines):\n    return sum(order_lines)\n\n\n"
            "def checkout(cart):\n    return connect(cart.url) + shipping_quote(cart.lines)\n")
    current = documents.open(URI, code, 1, "python")
    privacy = builder.privacy(None, settings)

    async def source(uri):
        return documents, privacy, False

    builder.views.changed(URI, source)
    await until_ready(builder.views, current, privacy)
    assert builder.views.unchanged(current, privacy, 5, 7) and not builder.views.unchanged(current, privacy, 0, 3)
    context = builder.build(documents, current, "    return connect(cart.url) + shipping_quote(cart.lines)",
                            2000, None, settings)
    definitions = {s.first_line: s.text for s in context.snippets if s.source == "definition"}
    assert definitions[5] == "def shipping_quote(order_lines):\n    return sum(order_lines)\n"  # as it is
    assert "Tr0ub4dor" not in definitions[0] and REDACTED in definitions[0]


# -- following the user's edits ------------------------------------------------------------

LINES = [  # code, secrets, and what makes redaction look past one line
    "def total(items):", "    return sum(items)", "", "   ", "client = OpenAI(api_key='sk-ab12cd34')",
    'password = "hunter22"', "gh = Github(\"ghp_a1B2c3D4e5\")", "    'DB_PASSWORD', 'hunter2-x9Qz7'",
    ");", "url = 'https://bob:s3cr3tpw@db.example.com/x'", "value = compute(a, b)", "# a comment",
    "    return value", "    total = 0",
]
RARE = ["define(", "x = f(", "-----BEGIN RSA PRIVATE KEY-----", PEM_BODY[0], "-----END RSA PRIVATE KEY-----"]


def follow(ws, views, doc, text: str, rng) -> None:
    """Apply one LSP change as the server does (sync.py) and let the copy follow it."""
    changes = [(text, rng)]
    old_version, old_count, edited = doc.version, doc.line_count, lines_replaced(doc, changes)
    ws.documents.change(doc.uri, doc.version + 1, changes, "utf-16")
    if edited is not None:
        first, old_lines = edited
        views.edited(doc, old_version, first, old_lines, len(old_lines) + doc.line_count - old_count)


def random_edit(doc, rng) -> tuple[str, tuple]:
    line = rng.randrange(doc.line_count)
    kind = rng.random()
    if kind < 0.5:  # a keystroke or a word inside a line
        at = rng.randint(0, len(doc.line(line)))
        typed = ["x", "(", " ", "'", "sk-", "password = '", "hunter22'"]
        typed += ["PRIVATE KEY"] if rng.random() < 0.05 else []
        return rng.choice(typed), ((line, at), (line, at))
    if kind < 0.7 and doc.line(line):  # a backspace
        at = rng.randint(1, len(doc.line(line)))
        return "", ((line, at - 1), (line, at))
    last = min(doc.line_count - 1, line + rng.randint(0, 2))
    pool = LINES + RARE if rng.random() < 0.2 else LINES
    new = "".join(rng.choice(pool) + "\n" for _ in range(rng.randint(0, 3)))  # lines replaced, added, removed
    return new, ((line, 0), (last, len(doc.line(last))) if last == doc.line_count - 1 else (last + 1, 0))


async def test_a_copy_that_follows_edits_is_the_document_redacted_whole():
    import random

    followed = edits = 0
    for seed in range(40):
        rng = random.Random(seed)
        ws = Workspace()
        views = redacted.RedactedViews()
        doc = ws.documents.open(URI, "\n".join(rng.choice(LINES + RARE[:2]) for _ in range(30)) + "\n", 1, "python")
        views.changed(URI, ws.source)
        await until_ready(views, doc, ws.privacy)
        for _ in range(25):
            follow(ws, views, doc, *random_edit(doc, rng))
            edits += 1
            lines = copy_of(views, doc, ws.privacy)
            if lines is None:  # not followed: the copy waits for the editor to be idle
                views.changed(URI, ws.source)
                await until_ready(views, doc, ws.privacy)
                continue
            followed += 1
            truth = ws.privacy.redact(doc.text).split("\n")
            assert lines == truth[: doc.line_count], (seed, doc.text, lines)
            if rng.random() < 0.2:  # the editor goes idle: the edited lines are settled
                views.changed(URI, ws.source)
                await asyncio.wait_for(views._task, 5)
                assert copy_of(views, doc, ws.privacy) == truth[: doc.line_count], (seed, doc.text)
            for first in range(doc.line_count):
                for end in range(first + 1, min(doc.line_count, first + 6) + 1):
                    if views.unchanged(doc, ws.privacy, first, end):
                        assert truth[first:end] == [doc.line(n) for n in range(first, end)], (seed, first, end)
    assert followed > edits / 2  # most edits are followed


async def test_an_edited_line_is_redacted_when_asked_for_and_the_rest_stays():
    ws = Workspace()
    views = redacted.RedactedViews()
    code = "import os\n\ndef first():\n    return 1\n\ndef second():\n    return 2\n"
    doc = ws.documents.open(URI, code, 1, "python")
    views.changed(URI, ws.source)
    await until_ready(views, doc, ws.privacy)
    follow(ws, views, doc, "token = 'sk-ab12cd34'", ((3, 4), (3, 12)))  # a secret typed over "return 1"
    assert doc.line(3) == "    token = 'sk-ab12cd34'"
    assert views.unchanged(doc, ws.privacy, 5, 7) and views.unchanged(doc, ws.privacy, 0, 3)
    assert not views.unchanged(doc, ws.privacy, 2, 5)
    assert "sk-ab12cd34" not in views.window(doc, ws.privacy, 2, 5)
    follow(ws, views, doc, "\n\n", ((0, 9), (0, 9)))  # two lines added above: the secret moves down
    assert views.window(doc, ws.privacy, 5, 6) == f"    token = '{REDACTED}'"
    assert views.unchanged(doc, ws.privacy, 7, 9)


async def test_after_a_followed_edit_the_idle_pass_prepares_the_file_and_does_not_copy_it_again():
    ws = Workspace()
    prepared = []
    views = redacted.RedactedViews(prepare=lambda doc: prepared.append(doc.version))
    code = "".join(f"def f{n}(x):\n    return x + {n}\n\n" for n in range(200))
    doc = ws.documents.open(URI, code, 1, "python")
    views.changed(URI, ws.source)
    await until_ready(views, doc, ws.privacy)
    await asyncio.wait_for(views._task, 5)
    runs = ws.privacy._whole_runs
    follow(ws, views, doc, "y", ((4, 16), (4, 16)))
    views.changed(URI, ws.source)  # (as sync.py does after every change)
    await asyncio.wait_for(views._task, 5)
    assert prepared == [1, 2]  # definitions, imports, indentation are read again
    assert ws.privacy._whole_runs == runs + 1  # but only the edited line was redacted again
    assert views.window(doc, ws.privacy, 4, 5) == "    return x + 1y"
    follow(ws, views, doc, "password = 'hunter22-Qx9'", ((4, 4), (4, 20)))
    views.changed(URI, ws.source)
    await asyncio.wait_for(views._task, 5)
    assert views.window(doc, ws.privacy, 3, 6) == f"def f1(x):\n    password = '{REDACTED}'\n"
    assert not views.unchanged(doc, ws.privacy, 4, 5) and views.unchanged(doc, ws.privacy, 5, 9)


async def test_a_big_file_gets_a_copy_without_filling_the_redaction_memo(monkeypatch):
    monkeypatch.setattr(redacted, "REMEMBERED_DOCUMENT_CHARS", 10_000)
    ws = Workspace()
    views = redacted.RedactedViews()
    code = "".join(f"def f{n}(x):\n    return x + {n}\n\n" for n in range(1000))  # ~30,000 characters
    code += "password = 'hunter22-Qx9'\n"
    doc = ws.documents.open(URI, code, 1, "python")
    views.changed(URI, ws.source)
    lines = await until_ready(views, doc, ws.privacy)
    assert len(ws.privacy._memo) == 0
    assert "\n".join(lines) == ws.privacy.redact(code) and "hunter22" not in "\n".join(lines)


@pytest.mark.parametrize("typed", ["(", "-----BEGIN RSA PRIVATE KEY-----"])
async def test_an_edit_that_may_change_the_next_lines_leaves_the_copy_for_later(typed):
    ws = Workspace()
    views = redacted.RedactedViews()
    doc = ws.documents.open(URI, "x = f\n\n'DB_PASSWORD', 'hunter2-x9Qz7'\nvalue = 1\n", 1, "python")
    views.changed(URI, ws.source)
    await until_ready(views, doc, ws.privacy)
    follow(ws, views, doc, typed, ((0, 5), (0, 5)))
    assert views.window(doc, ws.privacy, 0, doc.line_count) is None
    assert not views.unchanged(doc, ws.privacy, 3, 4)
