"""Tests for glm_lsp.completion.postprocess: messy chat answers → the exact text to insert, while streaming."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from glm_lsp.completion.postprocess import MAX_LINES, CompletionContext, Progressive, Suggestion, clean

F = "```"  # keeps the table readable


def ctx(prefix, suffix="\n", language="python", **kw):
    return CompletionContext(prefix, suffix, language, **kw)


BODY = ctx("def f(x):\n    ")  # an empty python function body: multi-line
ONE = ctx("x = ")  # the end of a statement: single-line
CALL = ctx("print(", ")\n")  # inside a call, ")" after the cursor
JS_BODY = ctx("function add(a, b) {\n    ", "\n}\n", "javascript")

# (id, model answer, context, exact suggestion, complete before the stream ends)
CASES = [
    # --- fences
    ("fence_with_language", f"{F}python\nreturn x\n{F}", BODY, "return x", True),
    ("fence_without_language", f"{F}\ncompute()\n{F}\n", ONE, "compute()", True),
    ("tilde_fence", "~~~\ncompute()\n~~~", ONE, "compute()", True),
    ("prose_then_fence", f"Here is the completion:\n{F}\nreturn x\n{F}\nThis returns x.", BODY, "return x", True),
    ("sure_then_fence", f"Sure! Here's the code:\n\n{F}js\nreturn a + b;\n{F}", JS_BODY, "return a + b;", True),
    ("unclosed_fence", f"{F}py\ncompute()", ONE, "compute()", False),
    ("first_fence_wins", f"{F}\ny = 1\nreturn y\n{F}\nOr:\n{F}\nreturn 2\n{F}", BODY, "y = 1\n    return y", True),
    ("empty_fence_skipped", f"{F}\n{F}\ncompute()", ONE, "compute()", False),
    ("inline_triple_backticks", f"{F}compute(){F}", ONE, "compute()", False),
    ("fence_closing_on_code_line", f"{F}\ncompute(){F}\n", ONE, "compute()", True),
    (
        "tagged_fence_after_bare_line_wins",
        f"Fill the body with a loop\n{F}python\nfor v in x:\n    print(v)\n{F}",
        BODY,
        "for v in x:\n        print(v)",
        True,
    ),
    ("stray_closing_fence_ends_code", f"y = 1\nreturn y\n{F}\nmore prose", BODY, "y = 1\n    return y", True),
    # --- reasoning and prose
    ("think_block", "<think>\nThe user needs x back.\n</think>\n\nreturn x", BODY, "return x", False),
    ("thinking_tag_upper_case", "<THINKING>hmm</THINKING>compute()", ONE, "compute()", False),
    ("empty_think_block", "<think></think>\ncompute()\n", ONE, "compute()", True),
    (
        "lone_close_think",
        "The user wants the total here.\nI will call compute.\n</think>\n\ncompute()\n",
        ONE,
        "compute()",
        True,
    ),
    ("unclosed_think", "<think>\ncompute()\nand more", ONE, "", False),
    ("think_in_the_middle", "comp<think>hm</think>ute()", ONE, "compute()", False),
    ("sure_alone", "Sure\ncompute()\n", ONE, "compute()", True),
    ("the_completion_is", "The completion is:\ncompute()\n", ONE, "compute()", True),
    ("only_sentences", "The value should be computed here.\nIt is simple.", ONE, "", False),
    (
        "sentence_in_comment_kept",
        "Compute the total of the list.",
        ctx("def f(xs):\n    # "),
        "Compute the total of the list.",
        False,
    ),
    (
        "sentence_in_markdown_kept",
        "The user wants this.",
        ctx("# Title\n\n", "", "markdown"),
        "The user wants this.",
        False,
    ),
    # --- echo of the prefix
    ("echoed_current_line", "return 3.14 * r * r", ctx("def area(r):\n    return 3.14 * r"), " * r", False),
    (
        "echoed_current_line_indented",
        "    return 3.14 * r * r",
        ctx("def area(r):\n    return 3.14 * r"),
        " * r",
        False,
    ),
    (
        "echoed_last_lines",
        "    def f(self):\n        return 1",
        ctx("class A:\n    def f(self):\n        "),
        "return 1",
        False,
    ),
    ("echoed_lines_then_partial_word", "def f(x):\n    return x", ctx("def f(x):\n    ret"), "urn x", False),
    ("partial_word", "return x", ctx("def f(x):\n    ret"), "urn x", False),
    ("same_word_kept_whole", "foo_bar()", ctx("x = foo"), "foo_bar()", False),
    ("same_word_as_earlier_token_kept", "total_tax", ctx("total = total + "), "total_tax", False),
    ("echo_after_trailing_space", "x = 1", ctx("x = "), "1", False),
    ("echo_with_other_spacing", "x =1", ctx("x = "), "1", False),
    ("echo_of_expression_tail", "compute(a, b)", ctx("y = compute(a, "), "b)", False),
    ("member_name_echo", "compute()", ctx("x = self.comp"), "ute()", False),
    ("echo_only", "return x", ctx("def f(x):\n    return x"), "", False),
    ("previous_line_repeated", "x += 1", ctx("def f():\n    x += 1\n    "), "", False),
    ("previous_line_echo_then_more", "x += 1\ny += 1", ctx("def f():\n    x += 1\n    "), "y += 1", False),
    (
        "whole_prefix_line_then_continues",
        "    for v in xs:\n        total += v",
        ctx("total = 0\nfor ys in yss:\n    for v in xs:"),
        "\n        total += v",
        False,
    ),
    # --- repeated suffix
    ("repeated_closing_paren", "x)", CALL, "x", False),
    ("space_before_repeated_paren_dropped", "x )", CALL, "x", False),
    ("space_before_repeated_separator_dropped", "a, b );", ctx("foo(", ");\n", "c"), "a, b", False),
    ("repeated_paren_semicolon", "a, b);", ctx("foo(", ");\n", "c"), "a, b", False),
    ("repeated_rest_of_line", "data, a, b)", ctx("result = compute(", "a, b)\n"), "data, ", False),
    ("balanced_call_kept", "f(a)", CALL, "f(a)", False),
    ("nested_call_closing_kept", "f(a))", ctx("print(foo(", "))\n"), "f(a)", False),
    ("whole_suggestion_is_suffix", "x)", ctx("print(", "x)\n"), "", False),
    ("whole_suggestion_is_next_line", "return x", ctx("def f(x):\n    ", "\n    return x\n"), "", False),
    ("closing_brace_repeats_suffix", "return a + b;\n}", JS_BODY, "return a + b;", False),
    (
        "suffix_lines_repeated",
        "y = x * 2\nreturn y\n\nprint(f(2))",
        ctx("def f(x):\n    ", "\n\nprint(f(2))\n"),
        "y = x * 2\n    return y",
        False,
    ),
    # --- length
    ("overlong_single_line", "compute()\ny = 2\nz = 3", ONE, "compute()", True),
    ("single_line_on_blank_line", "z = 3\nw = 4", ctx("x = 1\n", "\ny = 2\n"), "z = 3", True),
    ("multiline_forbidden_mid_line", "a,\n    b", ctx("x = foo(", ")\n"), "a,", True),
    ("multiline_function_body", "y = x * 2\nreturn y", BODY, "y = x * 2\n    return y", False),
    ("block_end_at_dedent", "    y = x * 2\n    return y\ndef g():\n    pass", BODY, "y = x * 2\n    return y", True),
    ("block_end_blank_then_dedent", "    y = 1\n\nprint(y)", BODY, "y = 1", True),
    (
        "block_end_two_blank_lines",
        "a();\n\n\nb();",
        ctx("function f() {\n  ", "\n}\n", "javascript", indent_unit="  "),
        "a();",
        True,
    ),
    ("block_end_prose_after_blank", "return x\n\nThis returns the input unchanged.\n", BODY, "return x", True),
    (
        "js_body_after_brace",
        "    const s = a + b;\n    return s;\n}\n",
        JS_BODY,
        "const s = a + b;\n    return s;",
        True,
    ),
    (
        "line_cap",
        "\n".join(f"v{i} = {i}" for i in range(MAX_LINES + 5)),
        BODY,
        "\n    ".join(f"v{i} = {i}" for i in range(MAX_LINES)),
        True,
    ),
    ("leading_break_at_end_of_line", "\n    return x", ctx("def f(x):"), "\n    return x", False),
    ("leading_break_after_think_dropped", "<think>x</think>\n\na, b)", ctx("foo(", ""), "a, b)", False),
    ("leading_break_mid_line_dropped", "\na)", CALL, "a", False),
    ("fenced_next_line_after_opener", f"{F}python\n    return x\n{F}", ctx("def f(x):"), "\n    return x", True),
    ("member_echo_then_break_not_a_new_line", "comp\nute()", ctx("x = self.comp"), "ute()", False),
    # --- indentation and text
    (
        "model_at_column_0_shifted",
        "if x:\n    return 1\nreturn 0",
        BODY,
        "if x:\n        return 1\n    return 0",
        False,
    ),
    ("model_deeper_than_cursor", "        return 1", ctx("class A:\n    def f(self):\n    "), "    return 1", False),
    ("empty_line_at_column_0", "    y = x\n    return y", ctx("def f(x):\n", ""), "    y = x\n    return y", False),
    ("tab_answer_in_space_file", "if x:\n\treturn 1", BODY, "if x:\n        return 1", False),
    (
        "tabs_file",
        f"{F}go\nif x {{\n    return 1\n}}\nreturn 0\n{F}",
        ctx("func f() {\n\t", "\n}\n", "go", indent_unit="\t"),
        "if x {\n\t\treturn 1\n\t}\n\treturn 0",
        True,
    ),
    (
        "crlf_file",
        "y = 1\r\nreturn y\r\n",
        ctx("def f(x):\r\n    ", "\r\n", newline="\r\n"),
        "y = 1\r\n    return y",
        False,
    ),
    ("crlf_answer_single_line", "compute()\r\nmore\r\n", ONE, "compute()", True),
    ("lone_cr_answer", "compute()\rmore", ONE, "compute()", True),
    ("cjk_and_emoji", '你好, 世界 🎉")', ctx('print("', '")\n'), "你好, 世界 🎉", False),
    ("trailing_whitespace_removed", "compute()   \t", ONE, "compute()", False),
    ("ends_with_colon", "if x > 0:", ctx("def f(x):\n    ", "\n", multiline=False), "if x > 0:", False),
    # --- rejected
    ("whitespace_only", "  \n \n\t", ONE, "", False),
    ("empty", "", ONE, "", False),
    ("prose_only_preamble", "Sure!", ONE, "", False),
]

IDS = [case[0] for case in CASES]
PARAMS = [case[1:] for case in CASES]


def stream(answer: str, context: CompletionContext, cuts) -> tuple[list[Suggestion], str]:
    """Feed ``answer`` cut at ``cuts``; every Suggestion feed() returned, and finish()."""
    progressive = Progressive(context)
    seen, start = [], 0
    for cut in [*sorted(set(cuts)), len(answer)]:
        seen.append(progressive.feed(answer[start:cut]))
        start = cut
    return seen, progressive.finish()


def check_stream(answer, context, expected, cuts):
    seen, final = stream(answer, context, cuts)
    assert final == expected
    done = [s for s in seen if s.complete]
    # Once complete, the text is the final one and never changes.
    assert all(s.text == final for s in done)
    if done:
        assert seen[seen.index(done[0]) :] == done


def test_table_has_enough_cases():
    assert len(CASES) >= 30
    assert len(set(IDS)) == len(IDS)


@pytest.mark.parametrize("answer, context, expected, early", PARAMS, ids=IDS)
def test_clean(answer, context, expected, early):
    assert clean(answer, context) == expected


@pytest.mark.parametrize("answer, context, expected, early", PARAMS, ids=IDS)
def test_whole_answer_in_one_delta(answer, context, expected, early):
    progressive = Progressive(context)
    suggestion = progressive.feed(answer)
    assert suggestion.complete == early
    if early:
        assert suggestion.text == expected
    assert progressive.finish() == expected


@pytest.mark.parametrize("answer, context, expected, early", PARAMS, ids=IDS)
def test_one_character_at_a_time(answer, context, expected, early):
    check_stream(answer, context, expected, range(len(answer)))


@pytest.mark.parametrize("answer, context, expected, early", PARAMS, ids=IDS)
def test_every_single_cut(answer, context, expected, early):
    # Covers cuts inside "```", inside "\r\n", inside tags and between any two characters.
    for cut in range(len(answer) + 1):
        check_stream(answer, context, expected, [cut])


@pytest.mark.parametrize("answer, context, expected, early", PARAMS, ids=IDS)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(points=st.lists(st.integers(min_value=0, max_value=10_000), max_size=15))
def test_random_splits(answer, context, expected, early, points):
    check_stream(answer, context, expected, {p % (len(answer) + 1) for p in points})


# Token soup: any mix of fences, tags, line endings, echoes, indentation and prose.
TOKENS = [F, f"{F}py", "~~~", "````", "\n", "\r\n", "\r", "<think>", "</think>", "<thi", "</thinking>",
          "return x", "x = 1", "def f(x):", "    ", "\t", "  ", ")", ");", "}", "foo", "ret", "Sure!\n",
          "Here is the code:\n", "The user wants a value.\n", "你好🎉", "a, b", " "]
CONTEXTS = [
    BODY, ONE, CALL, JS_BODY,
    ctx("def f(x):\n    ret"), ctx("x = foo"), ctx("class A:\n    def f(self):\n        "),
    ctx("func f() {\n\t", "\n}\n", "go", indent_unit="\t"), ctx("def f(x):\r\n    ", "\r\n", newline="\r\n"),
    ctx("def f(x):"), ctx("    return x", "\n", multiline=True), ctx("# ", "\n", multiline=True),
]


@settings(max_examples=400, deadline=None)
@given(
    answer=st.lists(st.sampled_from(TOKENS), max_size=30).map("".join),
    context=st.sampled_from(CONTEXTS),
    points=st.lists(st.integers(min_value=0, max_value=1_000), max_size=10),
)
def test_any_answer_is_split_invariant_and_keeps_the_complete_contract(answer, context, points):
    final = clean(answer, context)
    for cuts in ({p % (len(answer) + 1) for p in points}, range(len(answer))):
        seen, streamed_final = stream(answer, context, cuts)
        assert streamed_final == final
        assert all(s.text == final for s in seen if s.complete)
    assert final == final.rstrip()
    assert "\r" not in final.replace(context.newline, "") and "\n" not in final.replace(context.newline, "")


@pytest.mark.fixed_bug
def test_no_trailing_space_is_left_before_a_repeated_closing_bracket():
    # Found by the token-soup test above: the cut at the repeated ")" kept the spaces before it.
    assert clean(")    )", CALL) == ")"


# --------------------------------------------------------------------------- streaming behaviour


def test_single_line_completes_at_the_first_line_break():
    progressive = Progressive(ONE)
    assert progressive.feed("comp") == Suggestion("comp", False)
    assert progressive.feed("ute()") == Suggestion("compute()", False)
    assert progressive.feed("\ny = 2") == Suggestion("compute()", True)
    assert progressive.feed("anything") == Suggestion("compute()", True)
    assert progressive.finish() == "compute()"


def test_never_complete_inside_think_or_before_content():
    progressive = Progressive(ONE)
    assert not progressive.feed("<think>\ncompute()\n\n\n").complete
    assert not progressive.feed("</think>\n\n").complete
    assert not progressive.feed("Sure!\n\n").complete
    assert progressive.feed("compute()\n") == Suggestion("compute()", True)


def test_multi_line_completes_at_the_first_character_of_a_dedent():
    progressive = Progressive(BODY)
    assert not progressive.feed("    y = 1\n    return y\n").complete
    assert not progressive.feed("  ").complete  # may still be a body line
    assert progressive.feed("p") == Suggestion("y = 1\n    return y", True)


def test_fence_close_completes():
    progressive = Progressive(BODY)
    assert not progressive.feed(f"{F}python\ny = 1\nreturn y\n").complete
    assert not progressive.feed("``").complete  # could be code or the closing fence
    assert progressive.feed("`").complete
    assert progressive.finish() == "y = 1\n    return y"


def test_lone_close_think_after_completion_is_never_read():
    answer = "compute()\nThe user wanted a call.\n</think>\nother()\n"
    progressive = Progressive(ONE)
    assert progressive.feed(answer) == Suggestion("compute()", True)
    assert clean(answer, ONE) == "compute()"


def test_echo_is_held_until_decided():
    progressive = Progressive(ctx("def f(x):\n    ret"))
    assert not progressive.feed("def f(x):\n").complete  # an echo of the line above, or code?
    assert not progressive.feed("    re").complete
    assert progressive.feed("turn x\n") == Suggestion("urn x", True)


def test_prose_is_not_left_in_the_preview():
    progressive = Progressive(ONE)
    assert progressive.feed("Here is the").text == "Here is the"  # could still be code
    assert progressive.feed(" completion:\n").text == ""
    assert progressive.feed("compute(").text == "compute("


def test_preview_grows_before_completion():
    progressive = Progressive(BODY)
    assert progressive.feed("y = 1\n").text == "y = 1"
    assert progressive.feed("return").text == "y = 1\n    return"
    assert progressive.finish() == "y = 1\n    return"


def test_finish_is_repeatable_and_later_feeds_are_ignored():
    progressive = Progressive(ONE)
    progressive.feed("compute()")
    assert progressive.finish() == "compute()"
    assert progressive.feed("\nmore") == Suggestion("compute()", True)
    assert progressive.finish() == "compute()"


@pytest.mark.parametrize(
    "prefix, suffix, expected",
    [
        ("def f(x):\n    ", "\n", True),  # after ":"
        ("function f() {\n    ", "\n}\n", True),  # after "{"
        ("const f = () =>\n  ", "\n", True),
        ("if x then\n  ", "\nend\n", True),
        ("def f(x):\n\n", "", True),  # empty line right after the opener, at column 0
        ("def f(x):\n    y = 1\n    ", "\nprint(f)\n", True),  # the next line dedents
        ("def f(x):  # why\n    ", "\n", True),  # a trailing comment after the opener
        ("x = 1\n", "\ny = 2\n", False),  # blank line, no block
        ("x = foo(", ")\n", False),  # mid-line
        ("def f(x):", "\n", False),  # end of a non-blank line
    ],
)
def test_multiline_is_decided_from_the_cursor(prefix, suffix, expected):
    answer = "a = 1\nb = 2"
    lines = clean(answer, ctx(prefix, suffix)).count("\n") + 1
    assert (lines == 2) == expected


def test_multiline_setting_overrides_the_decision():
    assert clean("a = 1\nb = 2", ctx("x = 1\n", "\ny = 2\n", multiline=True)) == "a = 1\nb = 2"
    assert clean("a = 1\nb = 2", ctx("def f(x):\n    ", "\n", multiline=False)) == "a = 1"


def test_context_defaults():
    context = CompletionContext("x = ", "\n")
    assert (context.language, context.newline, context.indent_unit, context.multiline) == ("", "\n", "    ", None)
    with pytest.raises(AttributeError):
        context.prefix = "y"  # frozen


def test_long_prefix_only_the_tail_matters():
    prefix = "import os\n" * 50_000 + "def f(x):\n    ret"
    assert clean("return x", ctx(prefix)) == "urn x"
