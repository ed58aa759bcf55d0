"""Tests for glm_lsp.edits.extract: messy model answers → exact replacement text, streamed or not."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from glm_lsp.edits.extract import ExtractContext, StreamExtractor, extract

F = "```"  # keeps the table readable


def ctx(original="x = 0\n", before=(), after=(), newline="\n", indent_unit="    "):
    return ExtractContext(original, list(before), list(after), newline, indent_unit)


# (id, model answer, context, exact replacement)
CASES = [
    # --- fences
    ("prose_around_fence", f"Here is the fix:\n{F}python\nx = 1\n{F}\nThis sets x to one.", ctx(), "x = 1\n"),
    ("fence_without_tag", f"{F}\nx = 1\n{F}", ctx(), "x = 1\n"),
    ("fence_tag_with_spaces", f"{F}python  \nx = 1\n{F}  \n", ctx(), "x = 1\n"),
    (
        "four_backticks_hold_three",
        f"````markdown\n# Title\n{F}python\nprint(1)\n{F}\n````\n",
        ctx("# Old\n"),
        f"# Title\n{F}python\nprint(1)\n{F}\n",
    ),
    ("tilde_fence", "~~~js\nlet x = 1;\n~~~\n", ctx("let x = 0;\n"), "let x = 1;\n"),
    ("tilde_fence_holds_backticks", f"~~~\n{F}\ny\n{F}\n~~~", ctx(), f"{F}\ny\n{F}\n"),
    ("longer_closing_fence", f"{F}\nx = 1\n`````\nmore", ctx(), "x = 1\n"),
    ("several_fences_first_wins", f"First:\n{F}py\nx = 1\n{F}\nOr:\n{F}py\nx = 2\n{F}\n", ctx(), "x = 1\n"),
    ("inline_triple_backticks_are_prose", f"Use {F}x{F} here.\n{F}x{F} too\n{F}\ny = 1\n{F}", ctx(), "y = 1\n"),
    ("no_fence_bare_code", "def f():\n    return 1\n", ctx("def f():\n    return 0\n"), "def f():\n    return 1\n"),
    ("no_fence_blank_lines_trimmed", "\n\n  \nx = 1\n\n\n", ctx(), "x = 1\n"),
    ("no_fence_prose_is_the_code", "Looks fine to me.", ctx(), "Looks fine to me.\n"),
    ("unclosed_fence", f"Sure:\n{F}python\nx = 1\ny = 2", ctx(), "x = 1\ny = 2\n"),
    ("unclosed_fence_ending_in_newline", f"{F}python\nx = 1\ny = 2\n", ctx(), "x = 1\ny = 2\n"),
    ("fence_opener_is_the_last_text", f"Nothing to change.\n{F}", ctx(), ""),
    ("empty_answer", "", ctx(), ""),
    ("prose_and_empty_fence", f"I can't see a problem.\n{F}\n{F}\nIt looks fine.", ctx(), ""),
    ("fence_of_blank_lines", f"{F}\n\n   \n{F}", ctx("\nx\n\n"), ""),
    (
        "indented_fence",
        "1. Change it:\n\n   ```python\n   def f():\n       return 1\n   ```\n",
        ctx("def f():\n    return 0\n"),
        "def f():\n    return 1\n",
    ),
    (
        "indented_fence_content_less_indented",
        "  ```\n  if x:\n      y()\n z()\n  ```",
        ctx("if x:\n    y()\n"),
        "if x:\n    y()\nz()\n",
    ),
    (
        "docstring_line_starting_with_fence",
        f'{F}python\ndef f():\n    """Example:\n\n    {F}python\n    f()\n    """\n{F}',
        ctx("def f():\n    pass\n"),
        f'def f():\n    """Example:\n\n    {F}python\n    f()\n    """\n',
    ),
    (
        # Documented limit: a bare fence line closes the block, even inside a string.
        "bare_fence_line_in_docstring_closes",
        f'{F}python\ndef f():\n    """Example:\n\n    {F}python\n    f()\n    {F}\n    """\n{F}',
        ctx("def f():\n    pass\n"),
        f'def f():\n    """Example:\n\n    {F}python\n    f()\n',
    ),
    (
        "docstring_example_inside_longer_fence",
        f'````python\ndef f():\n    """Example:\n\n    {F}python\n    f()\n    {F}\n    """\n````',
        ctx("def f():\n    pass\n"),
        f'def f():\n    """Example:\n\n    {F}python\n    f()\n    {F}\n    """\n',
    ),
    # --- reasoning
    (
        "think_block_with_a_fence_inside",
        f"<think>Maybe {F}python\nx = 9\n{F} works?</think>\n{F}python\nx = 1\n{F}",
        ctx(),
        "x = 1\n",
    ),
    ("thinking_tag", f"<thinking>hmm\n</thinking>{F}\nx = 1\n{F}", ctx(), "x = 1\n"),
    ("think_tag_upper_case", f"<THINK>no</THINK>\n{F}\nx = 1\n{F}", ctx(), "x = 1\n"),
    (
        "lone_close_think",
        f"The user wants one.\nSo {F}x = 9{F}.\n</think>\n\nHere:\n{F}py\nx = 1\n{F}",
        ctx(),
        "x = 1\n",
    ),
    ("lone_close_think_before_bare_code", "reasoning\n</think>\nx = 1\n", ctx(), "x = 1\n"),
    ("think_tags_inside_code_are_code", f"{F}py\nTAGS = ('<think>', '</think>')\n{F}", ctx(), "TAGS = ('<think>', '</think>')\n"),
    ("unclosed_think_is_all_reasoning", f"<think>I will write\n{F}\nx = 1\n{F}", ctx(), ""),
    ("angle_brackets_that_are_no_tag", f"a <thin\n{F}\nif a <th and b > c: pass\n{F}", ctx(), "if a <th and b > c: pass\n"),
    # --- echoes
    (
        "leading_echo",
        f"{F}python\nclass Foo:\n    def f(self):\n        return 2\n{F}",
        ctx("    def f(self):\n        return 1\n", before=["class Foo:"]),
        "    def f(self):\n        return 2\n",
    ),
    (
        "leading_echo_two_lines_skipping_blanks",
        f"{F}\nimport os\n\nclass Foo:\n    x = 2\n{F}",
        ctx("    x = 1\n", before=["import os", "", "class Foo:"]),
        "    x = 2\n",
    ),
    (
        "leading_echo_must_be_nearest",
        f"{F}\nimport os\n    x = 2\n{F}",
        ctx("x = 1\n", before=["import os", "class Foo:"]),
        "import os\n    x = 2\n",
    ),
    (
        "trailing_echo",
        f"{F}\ndef f():\n    return 2\n\ndef g():\n{F}",
        ctx("def f():\n    return 1\n", after=["", "def g():"]),
        "def f():\n    return 2\n",
    ),
    (
        "trailing_echo_only_at_the_end",
        f"{F}\nif a {{\n}}\nif b {{\n}}\n}}\n{F}",
        ctx("if a {\n}\nif b {\n}\n", after=["}"]),
        "if a {\n}\nif b {\n}\n",
    ),
    (
        "both_echoes",
        f"{F}py\nclass Foo:\n    def f(self):\n        return 2\n    def g(self):\n        pass\n{F}",
        ctx("    def f(self):\n        return 1\n", before=["class Foo:"], after=["def g(self):", "pass"]),
        "    def f(self):\n        return 2\n",
    ),
    ("leading_echo_would_empty_result", f"{F}\nx = 1\n{F}", ctx("y = 2\n", before=["x = 1"]), "x = 1\n"),
    ("trailing_echo_would_empty_result", f"{F}\n}}\n{F}", ctx("}\n", after=["}"]), "}\n"),
    (
        "both_echoes_would_empty_result",
        f"{F}\na\nb\n{F}",
        ctx("b\n", before=["a"], after=["b"]),
        "b\n",
    ),
    # --- line endings
    ("crlf_answer_into_lf_file", f"{F}py\r\nx = 1\r\ny = 2\r\n{F}\r\n", ctx(), "x = 1\ny = 2\n"),
    ("crlf_answer_keeps_leading_blank", f"{F}\r\n\r\nx = 1\r\n{F}", ctx("\nx = 0\n"), "\nx = 1\n"),
    ("lf_answer_into_crlf_file", f"{F}py\nx = 1\ny = 2\n{F}\n", ctx("x = 0\r\n", newline="\r\n"), "x = 1\r\ny = 2\r\n"),
    ("lone_cr_answer", f"{F}py\rx = 1\ry = 2\r{F}", ctx(), "x = 1\ny = 2\n"),
    ("lone_cr_file", f"{F}\r\nx = 1\r\n{F}", ctx("x = 0\r", newline="\r"), "x = 1\r"),
    ("trailing_whitespace_kept", f"{F}\nx = 1   \ny = 2\t\n{F}", ctx(), "x = 1   \ny = 2\t\n"),
    # --- indentation
    (
        "tabs_in_spaces_file",
        f"{F}go\nif x {{\n\treturn 1\n\t\t// deep\n}}\n{F}",
        ctx("if x {\n    return 0\n}\n"),
        "if x {\n    return 1\n        // deep\n}\n",
    ),
    (
        "tabs_in_two_space_file",
        f"{F}\nif x:\n\ty()\n{F}",
        ctx("if x:\n  z()\n", indent_unit="  "),
        "if x:\n  y()\n",
    ),
    (
        "spaces_in_tab_file",
        f"{F}go\nif x {{\n    return 1\n        y()\n      z()\n}}\n{F}",
        ctx("if x {\n\treturn 0\n}\n", indent_unit="\t"),
        "if x {\n\treturn 1\n\t\ty()\n\t  z()\n}\n",
    ),
    (
        "two_spaces_in_tab_file",
        f"{F}\nfunc f() {{\n  if x {{\n    y()\n  }}\n}}\n{F}",
        ctx("func f() {\n}\n", indent_unit="\t"),
        "func f() {\n\tif x {\n\t\ty()\n\t}\n}\n",
    ),
    (
        "spaces_in_tab_file_dedented",
        f"{F}\nif x {{\n    y()\n}}\n{F}",
        ctx("\tif x {\n\t\tz()\n\t}\n", indent_unit="\t"),
        "\tif x {\n\t\ty()\n\t}\n",
    ),
    ("dedented_to_base_4", f"{F}\nreturn a + b\n{F}", ctx("    return a - b\n"), "    return a + b\n"),
    (
        "dedented_to_base_8",
        f"{F}\nif x:\n    z()\n\nw()\n{F}",
        ctx("        if x:\n            y()\n"),
        "        if x:\n            z()\n\n        w()\n",
    ),
    (
        "already_indented_unchanged",
        f"{F}\n        if x:\n            z()\n{F}",
        ctx("        if x:\n            y()\n"),
        "        if x:\n            z()\n",
    ),
    ("deeper_than_base_not_stripped", f"{F}\n    x = 1\n{F}", ctx("x = 0\n"), "    x = 1\n"),
    ("dedented_in_tab_file", f"{F}\nx := 1\n{F}", ctx("\t\tx := 0\n", indent_unit="\t"), "\t\tx := 1\n"),
    (
        "blank_lines_not_reindented",
        f"{F}\na()\n  \nb()\n{F}",
        ctx("    a()\n"),
        "    a()\n  \n    b()\n",
    ),
    # --- ends of the code
    ("original_without_final_newline", f"{F}\nx = 1\ny = 2\n{F}", ctx("x = 0"), "x = 1\ny = 2"),
    ("unclosed_fence_at_end_of_file", f"{F}\nx = 1\ny = 2", ctx("x = 0"), "x = 1\ny = 2"),
    ("blank_lines_around_code_dropped", f"{F}\n\n\nx = 1\n\n\n{F}", ctx(), "x = 1\n"),
    ("blank_lines_kept_where_original_has_them", f"{F}\n\nx = 1\n\n{F}", ctx("\nx = 0\n\n"), "\nx = 1\n\n"),
    (
        "blank_line_before_trailing_echo_kept",
        f"{F}\nx = 1\n\ndef g():\n{F}",
        ctx("x = 0\n\n", after=["def g():"]),
        "x = 1\n\n",
    ),
    # --- text
    ("cjk_and_emoji", f"{F}py\nprint('你好, 世界 🎉')\n{F}", ctx("print('hi')\n"), "print('你好, 世界 🎉')\n"),
]

IDS = [case[0] for case in CASES]
PARAMS = [case[1:] for case in CASES]


def stream(answer: str, context: ExtractContext, cuts) -> tuple[list[str], str]:
    """Feed ``answer`` cut at ``cuts``; the lines feed() returned, and finish()."""
    extractor = StreamExtractor(context)
    lines, start = [], 0
    for cut in [*sorted(cuts), len(answer)]:
        lines += extractor.feed(answer[start:cut])
        start = cut
    return lines, extractor.finish()


def check_stream(answer, context, expected, cuts):
    lines, final = stream(answer, context, cuts)
    streamed = "".join(lines)
    for line in lines:
        assert line.endswith(context.newline)
        assert "\n" not in line[: -len(context.newline)] and "\r" not in line[: -len(context.newline)]
    assert final.startswith(streamed), (streamed, final)
    assert final == expected


def test_table_has_enough_cases():
    assert len(CASES) >= 30
    assert len(set(IDS)) == len(IDS)


@pytest.mark.parametrize("answer, context, expected", PARAMS, ids=IDS)
def test_extract(answer, context, expected):
    assert extract(answer, context) == expected


@pytest.mark.parametrize("answer, context, expected", PARAMS, ids=IDS)
def test_one_character_at_a_time(answer, context, expected):
    check_stream(answer, context, expected, range(len(answer)))


@pytest.mark.parametrize("answer, context, expected", PARAMS, ids=IDS)
def test_every_single_cut(answer, context, expected):
    # Covers cuts inside "```", inside "\r\n", inside tags and between any two characters.
    for cut in range(len(answer) + 1):
        check_stream(answer, context, expected, [cut])


@pytest.mark.parametrize("answer, context, expected", PARAMS, ids=IDS)
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(points=st.lists(st.integers(min_value=0, max_value=10_000), max_size=15))
def test_random_splits(answer, context, expected, points):
    check_stream(answer, context, expected, {p % (len(answer) + 1) for p in points})


# Token soup: any mix of fences, tags, line endings, echoes and indentation.
TOKENS = [F, "````", "~~~", f"{F}py", f"  {F}", "\n", "\r\n", "\r", "<think>", "</think>", "<thi", "</thinking>",
          "x = 1", "class Foo:", "}", "end", "  ", "\t", "    ", "y", "prose ", "你好🎉"]
contexts = st.builds(
    ExtractContext,
    original=st.sampled_from(["x = 0\n", "    x = 0\n", "\tx\n", "x", "", "\nx\n\n", "  a\r\n  b"]),
    before=st.lists(st.sampled_from(["class Foo:", "", "x = 1", "y"]), max_size=3),
    after=st.lists(st.sampled_from(["}", "end", "", "y"]), max_size=3),
    newline=st.sampled_from(["\n", "\r\n", "\r"]),
    indent_unit=st.sampled_from(["    ", "\t", "  "]),
)


@settings(max_examples=300, deadline=None)
@given(
    answer=st.lists(st.sampled_from(TOKENS), max_size=40).map("".join),
    context=contexts,
    points=st.lists(st.integers(min_value=0, max_value=1_000), max_size=10),
)
def test_any_answer_streams_a_prefix_of_the_final_text(answer, context, points):
    final = extract(answer, context)
    for cuts in ({p % (len(answer) + 1) for p in points}, range(len(answer))):
        lines, streamed_final = stream(answer, context, cuts)
        assert streamed_final == final
        assert final.startswith("".join(lines))
    if final:
        assert final.endswith(context.newline) == context.original.endswith(("\n", "\r"))


# --------------------------------------------------------------------------- streaming behaviour

PROSE_ANSWERS = [
    f"PROSE before\n{F}py\nx = 1\ny = 2\n{F}\nPROSE after\n{F}\nPROSE second fence\n{F}",
    f"<think>PROSE reasoning\n{F}\nPROSE in reasoning\n{F}\n</think>\nPROSE intro\n{F}\nx = 1\n{F}\nPROSE",
    f"PROSE reasoning {F}\nPROSE\n</think>PROSE\n~~~\nx = 1\n~~~\nPROSE after\n",
    "PROSE with no fence at all\nx = 1\n",
]


@pytest.mark.parametrize("answer", PROSE_ANSWERS)
@settings(max_examples=40, deadline=None)
@given(points=st.lists(st.integers(min_value=0, max_value=1_000), max_size=20))
def test_prose_is_never_streamed(answer, points):
    lines, final = stream(answer, ctx(), {p % (len(answer) + 1) for p in points})
    assert not any("PROSE" in line for line in lines)
    assert "PROSE" not in final or "```" not in answer


def test_lines_stream_before_the_fence_closes():
    extractor = StreamExtractor(ctx("    a = 0\n    b = 0\n"))
    assert extractor.feed("Here you go:\n```python\n") == []
    assert extractor.feed("a = 1\n") == ["    a = 1\n"]
    assert extractor.feed("b = ") == []  # no partial lines
    assert extractor.feed("2\n") == ["    b = 2\n"]
    assert extractor.feed("```\nThat's it.") == []
    assert extractor.finish() == "    a = 1\n    b = 2\n"


def test_possible_trailing_echo_is_held_then_released():
    extractor = StreamExtractor(ctx("x = 0\n", after=["return x"]))
    assert extractor.feed("```\nx = 1\n") == ["x = 1\n"]
    assert extractor.feed("return x\n") == []  # may be the echo of the line below
    assert extractor.feed("y = 2\n") == ["return x\n", "y = 2\n"]  # it was not
    assert extractor.feed("return x\n```\n") == []
    assert extractor.finish() == "x = 1\nreturn x\ny = 2\n"


def test_leading_echo_is_held_until_decided():
    extractor = StreamExtractor(ctx("    x = 0\n", before=["class Foo:"]))
    assert extractor.feed("```\nclass Foo:\n") == []
    assert extractor.feed("    x = 1\n") == ["    x = 1\n"]
    assert extractor.finish() == "    x = 1\n"


def test_last_line_waits_for_finish_without_final_newline():
    extractor = StreamExtractor(ctx("x = 0"))
    assert extractor.feed("```\nx = 1\n") == []
    assert extractor.feed("y = 2\n") == ["x = 1\n"]
    assert extractor.feed("```\n") == []
    assert extractor.finish() == "x = 1\ny = 2"


def test_fence_close_releases_everything_final():
    extractor = StreamExtractor(ctx("x = 0\n"))
    extractor.feed("```\nx = 1\n\n")
    assert extractor.feed("```\n") == []  # the blank line was trailing: dropped
    extractor = StreamExtractor(ctx("x = 0\n", after=["end"]))
    assert extractor.feed("```\nx = 1\nend\n") == ["x = 1\n"]
    assert extractor.feed("```\nend\n") == []
    assert extractor.finish() == "x = 1\n"


def test_bare_code_is_not_streamed():
    extractor = StreamExtractor(ctx())
    assert extractor.feed("x = 1\ny = 2\n") == []
    assert extractor.finish() == "x = 1\ny = 2\n"


def test_finish_is_repeatable_and_later_feeds_are_ignored():
    extractor = StreamExtractor(ctx())
    extractor.feed("```\nx = 1\n```\n")
    assert extractor.finish() == "x = 1\n"
    assert extractor.feed("```\ny = 2\n") == []
    assert extractor.finish() == "x = 1\n"


def test_context_defaults_are_not_shared():
    a, b = ExtractContext("x\n"), ExtractContext("y\n")
    a.before.append("z")
    assert b.before == [] and b.after == [] and b.newline == "\n" and b.indent_unit == "    "
