"""Privacy.redact() memoizes paragraphs: same result as the whole-text algorithm, less work.

``Privacy._redact_whole`` is the whole-text algorithm (the rules repeated to a fixpoint);
``redact`` must return exactly what it returns, for every text. Every key here is fake.
"""

from __future__ import annotations

import random
import re
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from glm_lsp.context.privacy import REDACTED, Privacy, _paragraphs
from tests.unit.test_privacy import ALL_TEXTS, FRAGMENTS, PEM_BODY, SECRET_CASES, pem

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from context_build import CodeGen  # noqa: E402  (bench/context_build.py: synthetic code)

MY_KEY = "q7Zp2Lw9Xc"

# Texts from the multi-line tests of test_privacy.py that are not in its tables.
MULTILINE = [
    "-----BEGIN PGP PRIVATE KEY BLOCK-----\nVersion: GnuPG v2\n\n"
    "lQOYBF0FXbUBCADLy4t6MZCpq0x8bS4H2n2x9aLm3nQ7PqRtYvWx1z2A3B4C5D6E\n=nX5f\n"
    "-----END PGP PRIVATE KEY BLOCK-----\n",
    '{"private_key": "-----BEGIN PRIVATE KEY-----\\n' + "\\n".join(PEM_BODY) + '\\n-----END PRIVATE KEY-----\\n"}',
    "def load():\n    return '''-----BEGIN RSA PRIVATE KEY-----\n" + "\n".join(PEM_BODY[:2]),
    "\n".join(PEM_BODY[1:]) + "\n-----END RSA PRIVATE KEY-----'''\n\nx = 1\n",
    'PEM_HEADER = "-----BEGIN PRIVATE KEY-----"\n\ndef parse(data):\n    return data.split()\n',
    "tls:\n  key: |\n" + pem(indent="    ") + "\n  cert: ok\n",
    f"# my key is {MY_KEY}, don't tell\nx = call('{MY_KEY}')\n{MY_KEY}",
    "define(\n\n    'DB_PASSWORD', 'hunter2-x9Qz7'\n);\n",
    "os.environ.setdefault(  \n  \n\t\"API_KEY\", \"abc123def456\")\n",
]
CORPUS = ALL_TEXTS + MULTILINE
SEPARATORS = ["\n\n", "\n  \n", "\r\n\r\n", "\n\t\n\n", "\n", "\n\n\n"]


def memo_privacy(secrets=(MY_KEY,)) -> Privacy:
    """A Privacy that takes the paragraph path for texts of any length."""
    privacy = Privacy(None, [], secrets)
    privacy._memo_min_chars = 0
    return privacy


def python_file(seed: int, lines: int = 300) -> str:
    return CodeGen(random.Random(seed), seed).python(lines, f"module_{seed}")


def typescript_file(seed: int, lines: int = 300) -> str:
    return CodeGen(random.Random(seed), seed).typescript(lines, f"module_{seed}")


def splice(code: str, snippets: list[str], rng: random.Random) -> str:
    """Code with each snippet inserted between two of its lines."""
    lines = code.split("\n")
    for snippet in snippets:
        lines.insert(rng.randrange(len(lines) + 1), snippet)
    return "\n".join(lines)


def paragraph_wise(privacy: Privacy, text: str) -> str:
    """What redaction would give without the fallbacks: cut after every blank line."""
    cuts = [m.end() for m in re.finditer(r"\n(?:[^\S\n]*\n)+", text)]
    bounds = [0, *cuts, len(text)]
    return "".join(privacy._redact_whole(text[a:b]) for a, b in zip(bounds, bounds[1:]))


# =========================================================================== paragraphs


@pytest.mark.parametrize(
    ("text", "pieces"),
    [
        ("", [""]),
        ("a\nb\n", ["a\nb\n"]),
        ("a\n\nb", ["a\n\n", "b"]),
        ("a\n  \n\t\nb\nc\n\nd\n\n", ["a\n  \n\t\n", "b\nc\n\n", "d\n\n"]),
        ("a\r\n\r\nb\r\n", ["a\r\n\r\n", "b\r\n"]),
        ("\n\nx", ["\n\n", "x"]),
        ("f(\n\nx)\n\ny", ["f(\n\nx)\n\n", "y"]),  # the "(" keeps its arguments
        ("f(  \r\n\r\nx", ["f(  \r\n\r\nx"]),
        ("f()\n\nx", ["f()\n\n", "x"]),
    ],
)
def test_paragraphs_are_cut_after_blank_lines(text: str, pieces: list[str]):
    assert _paragraphs(text) == pieces


@given(st.lists(st.sampled_from(FRAGMENTS + SEPARATORS + ["\n \n", "(\n\n"]), max_size=40).map("".join))
@settings(max_examples=300, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck))
def test_paragraphs_keep_every_character(text: str):
    pieces = _paragraphs(text)
    assert "".join(pieces) == text
    assert all(pieces[:-1])


# =========================================================================== equivalence


@pytest.mark.parametrize("text", CORPUS)
def test_same_result_as_whole_text_on_every_privacy_case(text: str):
    privacy = memo_privacy()
    assert privacy.redact(text) == privacy._redact_whole(text)
    assert privacy.redact(text) == privacy._redact_whole(text)  # from the memo


def test_same_result_as_whole_text_on_joined_cases():
    rng = random.Random(20240611)
    privacy = Privacy(None, [], [MY_KEY])  # the default threshold: long texts only
    for _ in range(200):
        parts = rng.sample(CORPUS, rng.randint(2, 8))
        text = parts[0]
        for part in parts[1:]:
            text += rng.choice(SEPARATORS) + part
        once = privacy.redact(text)
        assert once == privacy._redact_whole(text), text
        assert privacy.redact(once) == once


@given(st.lists(st.sampled_from(FRAGMENTS + SEPARATORS + ["(\n\n", "define(\n\n'DB_PASSWORD', "]), max_size=40).map("".join))
@settings(max_examples=400, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck))
def test_same_result_as_whole_text_on_arbitrary_text(text: str):
    privacy = memo_privacy()
    assert privacy.redact(text) == privacy._redact_whole(text)


@pytest.mark.parametrize("language", ["python", "typescript"])
def test_same_result_as_whole_text_on_generated_code_with_secrets(language: str):
    rng = random.Random(7)
    privacy = Privacy(None, [], [MY_KEY])
    generate = python_file if language == "python" else typescript_file
    secrets = [c for c in SECRET_CASES if "\n" not in c[1]]
    for seed in range(3):
        chosen = rng.sample(secrets, 5)
        text = splice(generate(seed), [c[1] for c in chosen] + [f"key = '{MY_KEY}'"], rng)
        out = privacy.redact(text)
        assert out == privacy._redact_whole(text)
        assert all(secret not in out for _, _, secret in chosen) and MY_KEY not in out
        # Windows around a moving cursor reuse the memo and still agree.
        lines = text.split("\n")
        for start in range(0, len(lines) - 160, 37):
            window = "\n".join(lines[start : start + 160])
            assert privacy.redact(window) == privacy._redact_whole(window)


# =========================================================================== fallbacks

ENCRYPTED_PEM = "\n".join(
    [
        "-----BEGIN RSA PRIVATE KEY-----",
        "Proc-Type: 4,ENCRYPTED",
        "DEK-Info: AES-128-CBC,5E22A2C1B6F8C8A0B1E4C7D3F2A9B6C1",
        "",
        *PEM_BODY,
        "-----END RSA PRIVATE KEY-----",
    ]
)


def test_encrypted_pem_with_a_blank_line_inside_is_fully_redacted():
    text = python_file(1, 40) + '\n\nKEY = """' + ENCRYPTED_PEM + '"""\n\n' + python_file(2, 40)
    privacy = Privacy(None, [])
    out = privacy.redact(text)
    assert all(body not in out for body in PEM_BODY)
    assert out == privacy._redact_whole(text)
    assert out.count(REDACTED) == len(PEM_BODY)


def test_encrypted_pem_cut_at_the_end_of_a_window_is_redacted():
    # The END line is past the window: only the BEGIN line, paragraphs earlier, says "key".
    text = python_file(1, 40) + '\n\nKEY = """' + ENCRYPTED_PEM.rsplit("\n", 2)[0]
    privacy = Privacy(None, [])
    out = privacy.redact(text)
    assert all(body not in out for body in PEM_BODY[:-1])
    assert out == privacy._redact_whole(text)
    # Paragraph by paragraph, the body after the blank line would have leaked.
    assert PEM_BODY[0] in paragraph_wise(privacy, text)


def test_escaped_key_on_one_line_in_code_is_redacted():
    body = "\\n".join(PEM_BODY)
    key = f'"-----BEGIN PRIVATE KEY-----\\n{body}\\n-----END PRIVATE KEY-----\\n"'
    text = python_file(3, 30) + "\n\nCREDENTIALS = {\n    'private_key': " + key + ",\n}\n\n" + python_file(4, 30)
    privacy = Privacy(None, [])
    out = privacy.redact(text)
    assert all(b not in out for b in PEM_BODY)
    assert out == privacy._redact_whole(text)


@pytest.mark.parametrize(
    "call",
    [
        "define(\n\n    'DB_PASSWORD', 'hunter2-x9Qz7'\n);",
        "os.environ.setdefault(\n  \n\n  \"API_KEY\", \"abc123def456\")",
        "define(   \r\n\r\n'AUTH_SECRET', 'x9Yz8Wv7q')",
    ],
)
def test_call_arguments_after_a_blank_line(call: str):
    text = python_file(5, 30) + "\n\n" + call + "\n\n" + python_file(6, 30)
    privacy = Privacy(None, [])
    out = privacy.redact(text)
    assert out == privacy._redact_whole(text)
    assert out.count(REDACTED) == 1
    assert out.count(REDACTED) != paragraph_wise(privacy, text).count(REDACTED)


def test_my_secret_with_a_blank_line_inside():
    secret = "first-half-Xy12\n\nsecond-half-Zw34"
    privacy = Privacy(None, [], [secret])
    text = python_file(7, 30) + "\n\nkey = '''" + secret + "'''\n\n" + python_file(8, 30)
    out = privacy.redact(text)
    assert "first-half" not in out and "second-half" not in out
    assert out == privacy._redact_whole(text)
    assert out.count("\n") == text.count("\n")
    assert "second-half" in paragraph_wise(privacy, text)


# =========================================================================== the memo


def test_second_call_reruns_no_paragraph():
    privacy = Privacy(None, [], [MY_KEY])
    text = splice(python_file(9), ['password = "hunter22"', f"k = '{MY_KEY}'"], random.Random(1))
    paragraphs = _paragraphs(text)
    assert len(paragraphs) > 10

    first = privacy.redact(text)
    runs = privacy._whole_runs
    assert runs == len(set(paragraphs))
    second = privacy.redact(text)
    assert privacy._whole_runs == runs  # everything came from the memo
    assert second == first
    assert "hunter22" not in second and MY_KEY not in second
    # The paragraphs with a secret are stored redacted; the others as None.
    stored = [v for v in privacy._memo.values() if v is not None]
    assert len(stored) in (1, 2) and all(REDACTED in v for v in stored)


def test_an_edit_reruns_only_its_paragraph():
    privacy = Privacy(None, [])
    text = python_file(10)
    privacy.redact(text)
    runs = privacy._whole_runs
    lines = text.split("\n")
    at = next(i for i, line in enumerate(lines) if line.strip() and i > 150)
    lines[at] += "  # edited"
    edited = "\n".join(lines)
    out = privacy.redact(edited)
    assert privacy._whole_runs == runs + 1  # the edited paragraph only
    assert out == privacy._redact_whole(edited)


def test_short_texts_and_fallbacks_bypass_the_memo():
    privacy = Privacy(None, [])
    assert privacy.redact('password = "hunter22"') == f'password = "{REDACTED}"'
    privacy.redact(python_file(11, 40) + "\n\n" + pem() + "\n\n" + python_file(12, 40))
    assert not privacy._memo and privacy._memo_chars == 0


def test_memo_is_bounded_by_characters_and_evicts_the_oldest():
    privacy = memo_privacy()
    privacy._memo_limit = 5_000
    texts = [f"def f{i}(x):\n    return x * {i}  # {'y' * 50}\n\n" for i in range(200)]
    for i in range(0, len(texts), 4):
        chunk = "".join(texts[i : i + 4])
        assert privacy.redact(chunk) == chunk
        privacy.redact(texts[0])  # used on every round: never the least recently used
        assert privacy._memo_chars <= 5_000
    assert privacy._memo_chars == sum(len(k) + len(v or "") for k, v in privacy._memo.items())
    assert texts[1] not in privacy._memo and texts[-1] in privacy._memo
    assert texts[0] in privacy._memo
    # Redacted values count too, and a paragraph over the limit is redacted but not kept.
    huge = "x = 1\n" * 1_000 + 'password = "hunter22"\n'
    assert privacy.redact(huge) == privacy._redact_whole(huge)
    assert huge not in privacy._memo and privacy._memo_chars <= 5_000


def test_memo_belongs_to_the_instance():
    text = python_file(13, 60) + f"\n\nkey = '{MY_KEY}'\n\n" + python_file(14, 60)
    plain, mine = Privacy(None, []), Privacy(None, [], [MY_KEY])
    assert MY_KEY in plain.redact(text)
    assert MY_KEY not in mine.redact(text)
    assert MY_KEY in plain.redact(text)


def test_a_paragraph_with_the_cursor_marker_is_not_remembered():
    privacy = Privacy(None, [])
    code = "\n\n".join(f"def f{i}(x):\n    return x + {i}\n" * 8 for i in range(4))
    marked = code[:300] + "<|CURSOR|>" + code[300:]
    assert privacy.redact(marked, once="<|CURSOR|>") == privacy._redact_whole(marked)
    assert privacy._memo and not any("<|CURSOR|>" in key for key in privacy._memo)


# =========================================================================== the cursor's paragraph

HOLE = "<|CURSOR|>"


def with_hole(text: str, rng: random.Random) -> str:
    at = rng.randint(0, len(text))
    return text[:at] + HOLE + text[at:]


def test_the_cursor_paragraph_line_by_line_equals_the_whole_text_on_joined_cases():
    """The paragraph holding the cursor marker is redacted one line at a time (its other
    lines through a line memo): the result is the whole-text algorithm's, every time."""
    rng = random.Random(20261123)
    privacy = memo_privacy()
    for _ in range(300):
        parts = rng.sample(CORPUS, rng.randint(2, 8))
        text = parts[0]
        for part in parts[1:]:
            text += rng.choice(SEPARATORS + ["\n", "\r\n", "(\n", "define(\n  "]) + part
        marked = with_hole(text, rng)
        assert privacy.redact(marked, once=HOLE) == privacy._redact_whole(marked), marked
        assert privacy.redact(marked, once=HOLE) == privacy._redact_whole(marked)  # from the line memo


@given(st.lists(st.sampled_from(FRAGMENTS + SEPARATORS + ["\n", "(\n", "(\n\n", "define(\n\n'DB_PASSWORD', ", HOLE]),
                max_size=40).map("".join))
@settings(max_examples=400, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_cursor_paragraph_line_by_line_equals_the_whole_text_on_arbitrary_text(text: str):
    privacy = memo_privacy()
    marked = text if HOLE in text else text + HOLE
    assert privacy.redact(marked, once=HOLE) == privacy._redact_whole(marked)


@pytest.mark.parametrize("language", ["python", "typescript"])
def test_typing_in_generated_code_with_secrets_redacts_only_the_cursor_line_anew(language: str):
    rng = random.Random(11)
    privacy = Privacy(None, [], [MY_KEY])
    generate = python_file if language == "python" else typescript_file
    secrets = [c for c in SECRET_CASES if "\n" not in c[1] and "PRIVATE KEY" not in c[1]]  # (no whole-text case)
    chosen = rng.sample(secrets, 6)
    text = splice(generate(5), [c[1] for c in chosen] + [f"key = '{MY_KEY}'"], rng)
    lines = text.split("\n")
    for line in rng.sample(range(len(lines)), 25):
        typed = list(lines)
        for keystroke in "abc":  # three keystrokes at the end of the line, the cursor after them
            typed[line] += keystroke
            marked = "\n".join(typed[:line] + [typed[line] + HOLE] + typed[line + 1:])
            chars = privacy._whole_chars
            out = privacy.redact(marked, once=HOLE)
            redacted_anew = privacy._whole_chars - chars
            assert out == privacy._redact_whole(marked)
            assert all(secret not in out for _, _, secret in chosen) and MY_KEY not in out
            if keystroke != "a":  # the paragraph's other lines come from the line memo
                assert redacted_anew <= len(typed[line] + HOLE) + 3  # the cursor's line (after "(\n")


@pytest.mark.parametrize("opener", ["define(", "os.environ.setdefault(  ", "config.set(\t"])
def test_a_line_after_an_opening_bracket_remembered_keeps_its_context(opener: str):
    """The line before the cursor's comes from the line memo; the cursor's line is redacted
    alone, and still after "(" (('NAME', 'value') counts only there)."""
    privacy = memo_privacy()
    head = "\n".join(f"value_{i} = compute({i})" for i in range(30)) + "\n\n"
    for typed in ("'DB_PASSWORD', 'hunter2-x9Qz7'", "'DB_PASSWORD', 'hunter2-x9Qz7' ", "'DB_PASSWORD', 'hunter2-x9Qz7' #"):
        marked = f"{head}x = 1\n{opener}\n    {typed}{HOLE}\n)\n"
        out = privacy.redact(marked, once=HOLE)
        assert out == privacy._redact_whole(marked)
        assert "hunter2" not in out
