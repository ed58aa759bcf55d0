"""Tests for glm_lsp.context.neighbors: windows of open buffers ranked by identifier Jaccard."""

from __future__ import annotations

import random
import re
from collections import Counter

import pytest

from glm_lsp.context import neighbors
from glm_lsp.context.documents import Document
from glm_lsp.context.neighbors import (
    COMMON_FRACTION,
    MAX_LINE_CHARS,
    MIN_COMMON_WINDOWS,
    NeighborIndex,
    Scored,
    Window,
    identifiers,
)


def doc(uri: str, text: str, version: int | None = 1) -> Document:
    return Document(uri, text, version=version, language_id="python")


def filler(tag: str, lines: int) -> str:
    """Lines of one identifier each, found nowhere else (``tag`` keeps documents apart)."""
    return "\n".join(f"{tag}_name_{i} = {i}" for i in range(lines))


def index_of(*docs: Document, **kwargs) -> NeighborIndex:
    index = NeighborIndex(**kwargs)
    for d in docs:
        index.update(d)
    return index


# --------------------------------------------------------------------------- reference model
# Slow and obviously correct: every window tokenised from scratch, every score computed.


def ref_windows(uri: str, text: str, size: int, step: int):
    lines = re.split(r"\r\n|\r|\n", text)
    n = len(lines)
    if n <= size:
        starts = [0]
    else:
        starts = list(range(0, n - size + 1, step))
        if starts[-1] + size < n:
            starts.append(n - size)
    for s in starts:
        e = min(s + size, n)
        tokens = set()
        for line in lines[s:e]:
            tokens |= identifiers(line[:MAX_LINE_CHARS])
        yield uri, s, e - 1, tokens, "\n".join(lines[s:e])


def ref_rank(texts, query, exclude, boosts, limit, min_score, size, step):
    windows = [w for uri, text in texts.items() for w in ref_windows(uri, text, size, step)]
    df = Counter(t for w in windows for t in w[3])
    common = {t for t, c in df.items() if c > max(COMMON_FRACTION * len(windows), MIN_COMMON_WINDOWS)}
    q = identifiers(query) - common
    if not q or limit <= 0:
        return []
    scored = []
    for uri, first, last, tokens, text in windows:
        if uri == exclude:
            continue
        w = tokens - common
        shared = len(q & w)
        if not shared:
            continue
        jaccard = shared / len(q | w)
        score = jaccard * (boosts or {}).get(uri, 1.0)
        if score >= min_score and score > 0:
            scored.append((-score, uri, first, last, jaccard, text))
    scored.sort(key=lambda s: s[:3])
    out, taken = [], {}
    for neg, uri, first, last, jaccard, text in scored:
        if any(first <= b and a <= last for a, b in taken.get(uri, [])):
            continue
        taken.setdefault(uri, []).append((first, last))
        out.append((uri, first, last, -neg, jaccard, text))
        if len(out) == limit:
            break
    return out


def as_tuples(results: list[Scored]):
    return [(r.window.uri, r.window.first_line, r.window.last_line, r.score, r.jaccard, r.window.text) for r in results]


VOCAB = [f"name{i}" for i in range(60)] + ["if", "self", "x", "_", "return", "None"]


def random_text(rng: random.Random) -> str:
    lines = []
    for _ in range(rng.randint(0, 70)):
        kind = rng.random()
        if kind < 0.1:
            lines.append("")
        elif kind < 0.15:  # a long line: only its first MAX_LINE_CHARS characters count
            lines.append(" ".join(rng.choice(VOCAB) for _ in range(120)))
        else:
            # Zipf-like: low numbers are common
            lines.append(" ".join(VOCAB[min(int(rng.paretovariate(0.7)) - 1, len(VOCAB) - 1)] + "." + rng.choice(VOCAB) for _ in range(rng.randint(1, 6))))
    return rng.choice(["\n", "\r\n", "\n", "\r"]).join(lines)


@pytest.mark.parametrize("seed", range(60))
def test_rank_matches_a_brute_force_reference(seed, monkeypatch):
    rng = random.Random(seed)
    size, step = rng.choice([(20, 10), (5, 3), (4, 6), (1, 1), (7, 7), (10, 4)])
    # small posting blocks, so that documents span several
    monkeypatch.setattr(neighbors, "BLOCK_WINDOWS", rng.choice([256, 5, 2, 1]))
    texts = {f"file:///p/f{i}.py": random_text(rng) for i in range(rng.randint(1, 8))}
    index = NeighborIndex(window_lines=size, step=step)
    for uri, text in texts.items():
        index.update(doc(uri, text))
    uris = list(texts)
    for _ in range(5):
        query = random_text(rng)
        exclude = rng.choice(uris + ["file:///elsewhere.py"])
        boosts = {u: rng.choice([0.0, 0.5, 1.0, 1.5, 3.0]) for u in uris if rng.random() < 0.5} or None
        limit = rng.choice([1, 3, 20])
        min_score = rng.choice([0.0, 0.05, 0.2])
        expected = ref_rank(texts, query, exclude, boosts, limit, min_score, size, step)
        got = index.rank(query, exclude_uri=exclude, boosts=boosts, limit=limit, min_score=min_score)
        assert as_tuples(got) == expected


def test_more_than_255_shared_identifiers_in_one_window_are_counted_exactly():
    # 20 lines of 15 distinct identifiers: 300 shared with a query that is the same text.
    text = "\n".join(" ".join(f"tok_{r}_{c}" for c in range(15)) for r in range(20))
    other = filler("zz", 30)
    index = index_of(doc("file:///a.py", text), doc("file:///b.py", other))
    [best] = index.rank(text, exclude_uri="file:///q.py", limit=1)
    assert best.window.uri == "file:///a.py" and best.jaccard == 1.0
    assert best.reason.startswith("shares 300 identifiers")
    texts = {"file:///a.py": text, "file:///b.py": other}
    query = text + "\nextra_one extra_two"
    assert as_tuples(index.rank(query, exclude_uri="x")) == ref_rank(texts, query, "x", None, 20, 0.05, 20, 10)


# --------------------------------------------------------------------------- identifiers


def test_identifiers_drop_keywords_and_one_character_names():
    assert identifiers("def load_config(self, x): return self.cache[x] if x else None") == {"load_config", "cache"}
    assert identifiers("const fooBar = async (a_1) => await baz2(a_1);") == {"fooBar", "a_1", "baz2"}


def test_identifiers_are_ascii_and_cjk_is_not_tokenised():
    assert identifiers("# 读取配置文件 load_file\nname = '名字'") == {"load_file", "name"}


def test_identifiers_only_read_the_first_characters_of_a_long_line():
    line = "head_token" + " +" * MAX_LINE_CHARS + " tail_token"
    assert identifiers(line) == {"head_token"}
    assert identifiers(line + "\nnext_line") == {"head_token", "next_line"}


# --------------------------------------------------------------------------- windows


def test_windows_cover_the_document_and_the_last_one_ends_at_the_last_line():
    text = "\n".join(f"line_{i}" for i in range(25))
    index = index_of(doc("file:///a.py", text))
    found = {}
    for i in range(25):
        for r in index.rank(f"line_{i}", exclude_uri="", limit=5, min_score=0.0):
            found[r.window.first_line] = r.window
    assert sorted(found) == [0, 5]  # 0..19, then 5..24 (not 10..29)
    assert found[5] == Window("file:///a.py", 5, 24, "\n".join(f"line_{i}" for i in range(5, 25)))


def test_window_text_keeps_long_lines_whole_and_normalises_line_breaks():
    long_line = "marker_token " + "word " * 200
    text = "first_line\r\n" + long_line + "\rthird_line\r\n"
    [r] = index_of(doc("file:///a.py", text)).rank("marker_token third_line", exclude_uri="")
    assert r.window.text == f"first_line\n{long_line}\nthird_line\n"
    assert (r.window.first_line, r.window.last_line) == (0, 3)  # the empty line after the last break counts


def test_a_short_document_is_one_window():
    [r] = index_of(doc("file:///a.py", "only_one_line")).rank("only_one_line", exclude_uri="")
    assert r.window == Window("file:///a.py", 0, 0, "only_one_line")
    assert r.score == r.jaccard == 1.0


def test_invalid_window_settings_are_refused():
    with pytest.raises(ValueError):
        NeighborIndex(window_lines=0)
    with pytest.raises(ValueError):
        NeighborIndex(step=0)


# --------------------------------------------------------------------------- ranking

QUERY = "order = load_order(order_id)\ntotal = compute_invoice_total(order, tax_rate)\nsend_invoice(customer_email, total)"
RELATED = filler("rel", 30) + "\ndef compute_invoice_total(order, tax_rate):\n    return order.amount * tax_rate\n" + filler("rel2", 30)


def test_a_related_buffer_outranks_unrelated_ones():
    docs = [doc("file:///related.py", RELATED)] + [doc(f"file:///other{i}.py", filler(f"o{i}", 60)) for i in range(5)]
    results = index_of(*docs).rank(QUERY, exclude_uri="file:///current.py")
    assert results and all(r.window.uri == "file:///related.py" for r in results)
    best = results[0]
    assert "compute_invoice_total" in best.window.text
    assert best.reason == "shares 3 identifiers"  # compute_invoice_total, order, tax_rate
    assert best.score == best.jaccard > 0


def test_results_are_best_first():
    docs = [doc(f"file:///d{i}.py", filler(f"d{i}", 10) + "\n" + " ".join(["load_order", "order_id", "tax_rate", "total"][: i + 1])) for i in range(4)]
    results = index_of(*docs).rank(QUERY, exclude_uri="", min_score=0.0)
    assert [r.window.uri for r in results] == ["file:///d3.py", "file:///d2.py", "file:///d1.py", "file:///d0.py"]
    assert [r.score for r in results] == sorted((r.score for r in results), reverse=True)


def test_a_boost_reorders_and_says_why():
    strong = doc("file:///strong.py", "load_order order_id tax_rate total")
    weak = doc("file:///weak.py", "load_order order_id")
    index = index_of(strong, weak)
    assert [r.window.uri for r in index.rank(QUERY, exclude_uri="")] == ["file:///strong.py", "file:///weak.py"]
    results = index.rank(QUERY, exclude_uri="", boosts={"file:///weak.py": 3.0})
    assert [r.window.uri for r in results] == ["file:///weak.py", "file:///strong.py"]
    assert results[0].score == pytest.approx(results[0].jaccard * 3.0)
    assert results[0].reason == "shares 2 identifiers; boosted x3"
    results = index.rank(QUERY, exclude_uri="", boosts={"file:///weak.py": 3.0}, boost_reasons={"file:///weak.py": "imported by the current file"})
    assert results[0].reason == "shares 2 identifiers; imported by the current file"
    assert results[1].reason == "shares 4 identifiers"


def test_a_zero_boost_hides_a_document():
    index = index_of(doc("file:///a.py", QUERY), doc("file:///b.py", QUERY))
    assert [r.window.uri for r in index.rank(QUERY, exclude_uri="", boosts={"file:///a.py": 0.0})] == ["file:///b.py"]


def test_the_excluded_uri_never_appears():
    current = doc("file:///current.py", QUERY + "\n" + RELATED)
    index = index_of(current, doc("file:///related.py", RELATED), doc("file:///other.py", filler("o", 40)))
    results = index.rank(QUERY, exclude_uri="file:///current.py", min_score=0.0, limit=100)
    assert results and all(r.window.uri != "file:///current.py" for r in results)
    assert index.rank(QUERY, exclude_uri="file:///related.py", min_score=0.0)[0].window.uri == "file:///current.py"


def test_no_two_results_overlap_within_one_document():
    # The shared identifiers sit on every line, so every window matches equally well.
    text = "\n".join(f"load_order(order_id) + tax_rate  # {i}" for i in range(95))
    # (other documents, so that identifiers on every line of this one are not common)
    others = [doc(f"file:///other{i}.py", filler(f"o{i}", 200)) for i in range(4)]
    results = index_of(doc("file:///a.py", text), *others).rank(QUERY, exclude_uri="", limit=100, min_score=0.0)
    spans = sorted((r.window.first_line, r.window.last_line) for r in results)
    assert spans == [(0, 19), (20, 39), (40, 59), (60, 79)]  # 75..94 overlaps 60..79
    for (_, last), (first, _) in zip(spans, spans[1:]):
        assert last < first


def test_a_better_window_wins_over_the_earlier_one_it_overlaps():
    text = filler("a", 15) + "\nload_order order_id tax_rate total\n" + filler("b", 30)
    results = index_of(doc("file:///a.py", text)).rank(QUERY, exclude_uri="", min_score=0.0)
    first = results[0].window
    assert first.first_line <= 15 <= first.last_line
    assert all(not (r.window.first_line <= first.last_line and first.first_line <= r.window.last_line) for r in results[1:])


def test_ties_are_broken_by_uri_then_first_line():
    body = "\n".join(["load_order order_id"] + [""] * 24 + ["load_order order_id"])  # 26 lines: windows 0..19, 6..25
    docs = [doc(f"file:///{name}.py", body) for name in ("c", "a", "b")]
    results = index_of(*docs).rank("load_order order_id", exclude_uri="")
    assert len({r.score for r in results}) == 1
    assert [(r.window.uri, r.window.first_line) for r in results] == [
        ("file:///a.py", 0),
        ("file:///b.py", 0),
        ("file:///c.py", 0),
    ]
    # same order whichever way the documents were added
    assert results == index_of(*reversed(docs)).rank("load_order order_id", exclude_uri="")


def test_common_identifiers_do_not_dominate():
    # `logger` and `config` are on every line of every document: stop words by the data.
    docs = [doc(f"file:///d{i}.py", "\n".join(f"logger.info(config, d{i}_value_{j})" for j in range(100))) for i in range(6)]
    docs.append(doc("file:///target.py", filler("t", 40) + "\nlogger.info(config, special_handler)\n" + filler("u", 40)))
    index = index_of(*docs)
    assert {"logger", "config", "info"} <= index.common_identifiers()
    results = index.rank("logger.info(config)\nspecial_handler(config)", exclude_uri="")
    assert [r.window.uri for r in results] == ["file:///target.py"]
    assert results[0].reason == "shares 1 identifier"
    # a query made of common identifiers only matches nothing
    assert index.rank("logger.info(config)", exclude_uri="") == []


def test_few_small_documents_have_no_common_identifiers():
    index = index_of(doc("file:///a.py", "shared_name one_a"), doc("file:///b.py", "shared_name one_b"))
    assert index.common_identifiers() == frozenset()
    assert len(index.rank("shared_name", exclude_uri="")) == 2


def test_an_empty_or_keyword_only_query_returns_nothing():
    index = index_of(doc("file:///a.py", RELATED))
    assert index.rank("", exclude_uri="") == []
    assert index.rank("   \n\n", exclude_uri="") == []
    assert index.rank("if x: return None", exclude_uri="") == []
    assert NeighborIndex().rank(QUERY, exclude_uri="") == []


def test_limit_and_min_score():
    docs = [doc(f"file:///d{i}.py", f"load_order unrelated_{i}_a unrelated_{i}_b unrelated_{i}_c") for i in range(5)]
    index = index_of(*docs)
    assert len(index.rank("load_order", exclude_uri="")) == 5  # jaccard 1/4
    assert len(index.rank("load_order", exclude_uri="", limit=2)) == 2
    assert index.rank("load_order", exclude_uri="", limit=0) == []
    assert index.rank("load_order", exclude_uri="", min_score=0.3) == []
    assert len(index.rank("load_order", exclude_uri="", min_score=0.25)) == 5


# --------------------------------------------------------------------------- update and forget


def test_update_after_a_version_change_reindexes():
    d = doc("file:///a.py", "def old_function_name(): pass", version=1)
    index = index_of(d)
    assert index.rank("old_function_name", exclude_uri="")
    d.apply_change("new_function_name", ((0, 4), (0, 21)))
    index.update(d)  # same version: not re-read
    assert index.rank("old_function_name", exclude_uri="")
    assert index.rank("new_function_name", exclude_uri="") == []
    d.version = 2
    index.update(d)
    assert index.rank("old_function_name", exclude_uri="") == []
    [r] = index.rank("new_function_name", exclude_uri="")
    assert r.window.text == "def new_function_name(): pass"


def test_the_same_identifiers_get_the_remembered_answer_until_a_document_changes():
    a = doc("file:///a.py", "alpha_name = beta_name(gamma_name)\n" + filler("a", 30))
    b = doc("file:///b.py", "alpha_name = delta_name\n" + filler("b", 30))
    index = index_of(a, b)
    first = index.rank("x = alpha_name + beta_name", exclude_uri="file:///c.py")
    # the same identifiers (order, spacing, keywords and one-letter names aside): answered from the memo
    again = index.rank("if beta_name:\n    alpha_name(x)", exclude_uri="file:///c.py")
    assert again == first and len(index._memo) == 1
    boosted = index.rank("x = alpha_name + beta_name", exclude_uri="file:///c.py", boosts={"file:///b.py": 3.0})
    assert len(index._memo) == 2 and boosted[0].window.uri == "file:///b.py"
    b.apply_change("beta_name", ((0, 13), (0, 23)))
    b.version = 2
    index.update(b)  # a change: every remembered answer is dropped
    after = index.rank("x = alpha_name + beta_name", exclude_uri="file:///c.py")
    assert len(index._memo) == 1
    assert [r.window.text.split("\n")[0] for r in after][:1] == ["alpha_name = beta_name"]
    assert after[0].window.uri == "file:///b.py" and after != first


def test_update_of_an_unchanged_version_is_a_no_op():
    d = doc("file:///a.py", RELATED)
    index = index_of(d)
    entry = index._docs[d.uri]
    index.update(d)
    assert index._docs[d.uri] is entry


def test_a_document_without_version_is_compared_by_text():
    d = doc("file:///a.py", "first_text_here", version=None)
    index = index_of(d)
    entry = index._docs[d.uri]
    index.update(d)
    assert index._docs[d.uri] is entry
    d.apply_change("second_text_here", None)
    index.update(d)
    assert [r.window.text for r in index.rank("second_text_here", exclude_uri="")] == ["second_text_here"]


def test_the_index_keeps_its_own_copy_of_the_text():
    d = doc("file:///a.py", "kept_name = 1\nother_name = 2")
    index = index_of(d)
    d.apply_change("", ((0, 0), (1, 0)))  # edited, not re-indexed yet
    [r] = index.rank("kept_name", exclude_uri="")
    assert r.window.text == "kept_name = 1\nother_name = 2"


def test_forget():
    index = index_of(doc("file:///a.py", "alpha_name beta_name"), doc("file:///b.py", "alpha_name gamma_name"))
    assert "file:///a.py" in index and len(index) == 2
    index.forget("file:///a.py")
    index.forget("file:///never-opened.py")
    assert "file:///a.py" not in index and len(index) == 1
    assert [r.window.uri for r in index.rank("alpha_name", exclude_uri="")] == ["file:///b.py"]
    index.forget("file:///b.py")
    assert index.rank("alpha_name", exclude_uri="") == [] and index._df == {} and index._windows == 0


def test_common_identifiers_follow_updates_and_forgets():
    everywhere = [doc(f"file:///d{i}.py", "\n".join(f"shared_word d{i}_{j}" for j in range(200))) for i in range(4)]
    index = index_of(*everywhere)
    assert "shared_word" in index.common_identifiers()
    for d in everywhere[1:]:
        index.forget(d.uri)
    # one document left: shared_word is in all its 19 windows, still common
    assert "shared_word" in index.common_identifiers()
    d = everywhere[0]
    d.apply_change("\n".join(f"d0_{j}" for j in range(200)), None)
    d.version = 2
    index.update(d)
    assert index.common_identifiers() == frozenset()
    index.update(doc("file:///new.py", "shared_word special_word"))
    assert [r.window.uri for r in index.rank("shared_word", exclude_uri="")] == ["file:///new.py"]


def test_many_documents_added_and_removed_match_the_reference():
    rng = random.Random(7)
    texts: dict[str, str] = {}
    index = NeighborIndex(window_lines=6, step=3)
    for step in range(150):
        uri = f"file:///f{rng.randrange(12)}.py"
        if uri in texts and rng.random() < 0.3:
            index.forget(uri)
            del texts[uri]
        else:
            texts[uri] = random_text(rng)
            index.update(doc(uri, texts[uri], version=step))
        if step % 10 == 0:
            query = random_text(rng)
            assert as_tuples(index.rank(query, exclude_uri="")) == ref_rank(texts, query, "", None, 20, 0.05, 6, 3)


def test_a_long_document_is_indexed_in_blocks():
    text = "\n".join(f"line_name_{i} common_name" for i in range(6000))  # 599 windows: 3 blocks
    d = doc("file:///long.py", text)
    index = index_of(d, doc("file:///other.py", filler("o", 6000)))
    assert [len(b.sizes) for b in index._docs[d.uri].blocks] == [256, 256, 87]
    # the longest posting is one byte per window of its block, however long the document
    assert max(lane.bit_length() for b in index._docs[d.uri].blocks for lane in b.lanes.values()) <= 8 * 256
    [r] = index.rank("line_name_5995", exclude_uri="", limit=1)
    assert (r.window.first_line, r.window.last_line) == (5980, 5999)
    query = "line_name_10 line_name_2570 line_name_5990 common_name"
    texts = {"file:///long.py": text, "file:///other.py": filler("o", 6000)}
    assert as_tuples(index.rank(query, exclude_uri="", min_score=0.0)) == ref_rank(texts, query, "", None, 20, 0.0, 20, 10)
