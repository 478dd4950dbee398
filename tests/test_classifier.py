"""The context classifier inside the engine (on by default; ``--no-classifier``,
``Config(classifier=False)`` switch it off): a realistic page through the
real CLI and the library, explain output, chunking invariance, idempotence,
bounded holding, -j, and cross-document counts with ``--dedup stream``."""

from __future__ import annotations

import json
from functools import cache

import pytest
from conftest import assert_chunking_invariant, output_explained, parse_jsonl, run_clean, run_main, split_lines
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_properties import ARTICLE_LINES, JUNK_LINES

from cleaner import Cleaner, Config
from cleaner.context import WINDOW_CHUNK_DIVISOR, WINDOW_DEFAULT, ContextClassifier

# A page as a naive HTML-to-text dump gives it: site name and menu, headline,
# article paragraphs (some with CRLF endings), footer links.
MENU = [b"Acme Gazette", b"Local news since 1921", b"Politics", b"Business", b"Science and Health",
        b"Culture", b"Opinion", b"Weather Radar", b"Obituaries", b"Puzzles"]
TITLE = b"Council approves new riverside park after years of debate"
ARTICLE = [
    b"The city council voted on Tuesday evening to approve a new riverside park, ending a debate that has "
    b"divided the town for almost a decade.",
    b"The plan turns the old freight yard along the river into eleven acres of meadow, walking paths and a "
    b"small harbour for rowing boats, and it will be paid for with a mix of state grants and local bonds.",
    b"Supporters said that the park would give the crowded east side of the town its first large green "
    b"space, and that it would help to protect the houses near the river from the floods.",
    b"Opponents argued that the money should have been spent on the schools and the roads, and several of "
    b"them said that they did not trust the estimates for the cost of cleaning up the soil.",
    b"The mayor, who had made the park one of the promises of her campaign, said after the vote that she was "
    b"grateful to the residents who had come to the meetings and that the work would begin in the spring.",
    b"Construction is expected to take about three years, and the first part of the park, a path along the "
    b"water from the bridge to the old mill, could open to the public as early as next summer.",
]
FOOTER = [b"About the Gazette", b"Our newsroom", b"Careers at Acme", b"Advertise with us", b"Contact",
          b"Site map", b"Accessibility", b"RSS feeds", b"Privacy and cookie settings", b"Newsletters"]
# the footer lines no rule of the pack names: only the classifier removes them
UNNAMED = [b"About the Gazette", b"Our newsroom", b"Careers at Acme", b"Accessibility"]


def _ending(i: int) -> bytes:
    return b"\r\n" if i % 2 else b"\n"


def page() -> tuple[bytes, bytes]:
    """The page, and the article as it must come out (byte for byte)."""
    lines = [m + b"\n" for m in MENU] + [b"\n", TITLE + b"\n", b"\n"]
    article: list[bytes] = []
    for i, p in enumerate(ARTICLE):
        article += [p + _ending(i), b"\n"]
    lines += article
    lines += [f + b"\n" for f in FOOTER]
    return b"".join(lines), b"".join(article[:-1])


def page_file(tmp_path) -> tuple:
    """The test page written to ``tmp_path/page.txt``: (path, bytes, article bytes)."""
    data, article = page()
    f = tmp_path / "page.txt"
    f.write_bytes(data)
    return f, data, article


@cache
def with_classifier() -> Cleaner:
    return Cleaner(Config(classifier=True))


def test_cli_keeps_the_article_byte_for_byte_and_drops_menu_and_footer(tmp_path) -> None:
    f, data, article = page_file(tmp_path)
    r = run_clean(["--classifier", f], None)
    assert r.returncode == 0, r.stderr
    assert r.stdout == article
    # the library gives the same bytes
    assert with_classifier().clean_bytes(data, doc_id=str(f)) == article


def test_default_options_run_the_classifier(tmp_path) -> None:
    f, data, article = page_file(tmp_path)
    r = run_clean([f], None)
    assert r.returncode == 0, r.stderr
    assert r.stdout == article
    assert Config().classifier_on and Config(classifier=None).classifier_on
    decisions: list = []
    assert Cleaner().clean_bytes(data, sink=decisions.append) == article
    assert {d.text for d in decisions if d.category == "classifier"} >= {u.decode() for u in UNNAMED}


def test_without_classifier_the_footer_stays_so_the_classifier_did_the_work(tmp_path) -> None:
    f, data, article = page_file(tmp_path)
    r = run_clean(["--no-classifier", f], None)
    assert r.returncode == 0, r.stderr
    for line in UNNAMED:
        assert line + b"\n" in r.stdout
    assert article in r.stdout
    decisions: list = []
    assert r.stdout == Cleaner(Config(classifier=False)).clean_bytes(data, doc_id=str(f), sink=decisions.append)
    assert not any(d.category == "classifier" or d.features is not None for d in decisions)


def test_explain_json_names_classifier_reasons_and_features(tmp_path) -> None:
    f, data, article = page_file(tmp_path)
    r = run_clean(["--classifier", "--explain", "-", f], None)
    assert r.returncode == 0
    assert r.stdout == article
    decisions = parse_jsonl(r.stderr)
    by_line = {d["line"]: d for d in decisions}
    lines = split_lines(data)
    footer_nos = [i for i, raw in enumerate(lines, 1) if raw.rstrip(b"\r\n") in UNNAMED]
    assert footer_nos
    for n in footer_nos:
        d = by_line[n]
        assert d["category"] == "classifier"
        assert d["rule"].startswith("classifier:") and d["rule"].endswith("-outside-article"), d
        assert d["action"] == "drop_line"
        assert d["features"]["article"] is False
        assert d["features"]["class"] in d["rule"]
        assert d["text"] == lines[n - 1].rstrip(b"\r\n").decode()
    # rule decisions keep their fields and carry no features
    for d in decisions:
        if d["category"] != "classifier":
            assert "features" not in d
            assert not d["rule"].startswith("classifier:")
    # every input line is kept or explained, once
    objs = [type("D", (), {"line": d["line"], "action": d["action"]}) for d in decisions]
    assert output_explained(r.stdout, data, objs)
    assert len(by_line) == len(decisions)


def test_clean_explain_subcommand_shows_classifier_reasons(tmp_path) -> None:
    f, _, _ = page_file(tmp_path)
    r = run_main(["explain", "--classifier", "--no-color", f], None)
    assert r.returncode == 0
    out = r.stdout.decode()
    assert "- About the Gazette   [classifier:short-outside-article (class short, article False" in out
    assert "+ " + ARTICLE[0].decode() in out
    assert run_main(["explain", "--no-color", f], None).stdout.decode() == out  # the default
    plain = run_main(["explain", "--no-classifier", "--no-color", f], None).stdout.decode()
    assert "+ About the Gazette" in plain and "classifier:" not in plain


def test_library_explain_text_and_stats() -> None:
    data, article = page()
    c = Cleaner(Config(classifier=True))
    ex = c.explain_text(data.decode(), doc_id="p")
    assert ex.text.encode() == article
    cls = [d for d in ex.decisions if d.category == "classifier"]
    assert {d.text for d in cls} >= {f.decode() for f in UNNAMED}
    assert all(d.features and "score" in d.features for d in cls)
    assert c.stats.by_category["classifier"] == len(cls)
    assert json.loads(cls[0].to_json())["features"] == cls[0].features


def test_classifier_needs_line_unit() -> None:
    with pytest.raises(ValueError, match="unit"):
        Config(classifier=True, unit="block")
    r = run_main(["--classifier", "--unit", "block"], b"x\n")
    assert r.returncode == 2
    assert b"--classifier needs --unit line" in r.stderr
    # by default, hard-wrapped text (--unit block) is cleaned without it
    assert not Config(unit="block").classifier_on
    data, _ = page()
    r = run_main(["--unit", "block"], data)
    assert r.returncode == 0
    assert b"About the Gazette\n" in r.stdout


def test_jobs_give_the_same_output(tmp_path) -> None:
    """Each file is judged alone by default, so -j cleans files in parallel;
    with --dedup stream the classifier counts lines across files, in input
    order, and runs in one process (with a warning). Same bytes either way."""
    data, _ = page()
    names = []
    for i in range(4):
        f = tmp_path / f"p{i}.txt"
        f.write_bytes(data.replace(b"riverside park", f"riverside park {i}".encode()))
        names.append(f)
    for extra in ([], ["--dedup", "stream"]):
        one = run_clean([*extra, "--explain", tmp_path / "one.jsonl", *names], None)
        two = run_clean([*extra, "-j", "2", "--explain", tmp_path / "two.jsonl", *names], None)
        assert one.returncode == two.returncode == 0
        assert one.stdout == two.stdout and one.stdout
        assert (tmp_path / "one.jsonl").read_bytes() == (tmp_path / "two.jsonl").read_bytes()
        assert b'"category": "classifier"' in (tmp_path / "two.jsonl").read_bytes()
        assert (b"classifier with cross-document duplicates runs in one process" in two.stderr) == bool(extra)


def test_cross_document_counts_span_the_stream() -> None:
    """With --dedup stream, a line inside the article of every document of a
    stream: kept while it is new, removed as repeated across documents once
    3 earlier documents held it (one Cleaner counts across all its
    documents). Here paragraphs under 10 words are not duplicates, so only
    the classifier's counts can remove the 8-word line; each document's
    article is its own (other figures), so no duplicate removes it."""
    promo = "Photographs by the staff of the Acme Gazette"
    docs = []
    for i in range(len(ARTICLE)):
        body = [f"{p.decode()[:-1]}, in report number {i}." for p in ARTICLE]
        docs.append("\n".join([*body[i:i + 3], promo, *body[i + 3:], *body[:i]]) + "\n")
    c = Cleaner(Config(dedup="stream", dedup_min_words=10, near=False))
    outs = [c.explain_text(d, doc_id=f"d{i}") for i, d in enumerate(docs)]
    assert [promo in o.text for o in outs] == [True, True, True, False, False, False]
    why = [x for x in outs[3].decisions if x.text == promo]
    assert why[0].rule.startswith("classifier:") and why[0].category == "classifier"
    assert why[0].features is not None and why[0].features["xdocs"] == 3 and why[0].features["class"] == "bad"
    # a fresh Cleaner has no counts: the same document keeps the line
    assert promo in Cleaner(Config(dedup="stream", dedup_min_words=10, near=False)).clean_text(docs[3])
    # by default (duplicates within documents) each document is judged alone
    c = Cleaner()
    assert all(promo in c.clean_text(d) for d in docs)


def test_output_starts_before_the_document_ends_and_holding_is_bounded() -> None:
    paras = [p + b"\n" for p in ARTICLE]
    lines = [f"Part {i}: ".encode() + paras[i % len(paras)] for i in range(600)]
    s = with_classifier().stream("long")
    out = b""
    limit = WINDOW_DEFAULT + WINDOW_DEFAULT // WINDOW_CHUNK_DIVISOR
    for i in range(0, len(lines), 7):
        out += s.feed(b"".join(lines[i:i + 7]))
        assert len(s.doc.held) <= limit
    assert len(split_lines(out)) >= len(lines) - limit
    out += s.close()
    assert out == with_classifier().clean_bytes(b"".join(lines), doc_id="long")


# -- properties ----------------------------------------------------------------
PAGE_LINES = [ln.rstrip(b"\r\n") for ln in split_lines(page()[0])]
line = st.one_of(
    st.sampled_from(ARTICLE_LINES),
    st.sampled_from(JUNK_LINES),
    st.sampled_from(PAGE_LINES),
    st.sampled_from(PAGE_LINES),
    st.sampled_from([b"", b"", b" ", b"\f", b"\xc2\xa0"]),
    st.text(st.characters(exclude_characters="\n", exclude_categories=["Cs"]), max_size=60).map(
        lambda s: s.encode("utf-8")),
    st.binary(max_size=30).map(lambda b: b.replace(b"\n", b" ")),
)
ending = st.sampled_from([b"\n", b"\n", b"\r\n"])


@st.composite
def long_documents(draw: st.DrawFn) -> bytes:
    """Up to 300 lines: past the classifier's window, so verdicts come mid-document."""
    lines = draw(st.lists(st.tuples(line, ending), max_size=300))
    data = b"".join(text + end for text, end in lines)
    if lines and draw(st.booleans()):
        data = data.rstrip(b"\r\n")
    return data


PROPS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPS
@given(long_documents(), st.data())
def test_chunking_does_not_change_output_with_classifier(data: bytes, draw: st.DataObject) -> None:
    # fresh Cleaners: cross-document counts start empty for both runs
    assert_chunking_invariant(lambda: Cleaner(Config(classifier=True), ruleset=with_classifier().ruleset), data, draw)


@PROPS
@given(long_documents())
def test_output_is_input_minus_explained_lines_with_classifier(data: bytes) -> None:
    decisions: list = []
    out = with_classifier().clean_bytes(data, sink=decisions.append)
    assert output_explained(out, data, decisions)
    removed = [d.line for d in decisions if d.action != "strip"]
    assert len(set(removed)) == len(removed), "a line was removed twice"
    for d in decisions:
        assert (d.category == "classifier") == d.rule.startswith("classifier:")
        assert (d.features is not None) == (d.category == "classifier")
    lines = [ln.rstrip(b"\r\n").decode("utf-8", "surrogateescape") for ln in split_lines(out)]
    if lines:  # no leading or trailing blank lines, after the classifier's removals too
        assert lines[0].strip() and lines[-1].strip()


@PROPS
@given(long_documents())
def test_idempotent_past_the_window(data: bytes) -> None:
    """clean(clean(x)) == clean(x) with default options on documents long
    enough that verdicts come mid-document (the short-document property is
    in test_properties.py)."""
    c = Cleaner()
    once = c.clean_bytes(data)
    assert c.clean_bytes(once) == once


def test_idempotent_on_a_page_and_in_a_stream() -> None:
    data, article = page()
    c = Cleaner()
    assert c.clean_bytes(article) == article
    s = c.stream("<stdin>", split_docs=True)
    stream = data + b"\f\n" + data + b"\f\n" + data
    once = s.feed(stream) + s.close()
    assert once == article + b"\f\n" + article + b"\f\n" + article
    s = c.stream("<stdin>", split_docs=True)
    assert s.feed(once) + s.close() == once


def test_page_without_article_keeps_its_table_not_the_lone_lines() -> None:
    """A results table with no prose article: the rows stay; a lone
    "date - author - tags" line and a promo paragraph alone among arrow
    links are not the page's content."""
    rows = [f"{i} Driver Number{i} {5000 - 37 * i} {i % 4} {i % 3} {i % 7}" for i in range(1, 13)]
    doc = "\n".join([
        "Standings", "Results", "Calendar", "Teams",
        "05/10/2018 - Posted by: Staff - Category: Racing - Tags: standings",
        "Final standings of the season after the last race",
        *rows,
        "» Our columnists",
        "Click on the picture above and read every column our writers have published this season so far.",
        "» Power ranking",
        "Contact",
    ]) + "\n"
    ex = Cleaner().explain_text(doc, doc_id="t")
    assert ex.text == "".join(r + "\n" for r in rows)
    why = {d.text: d.rule for d in ex.decisions}
    assert why["05/10/2018 - Posted by: Staff - Category: Racing - Tags: standings"] == (
        "classifier:data-alone-no-clear-article")
    assert why["» Our columnists"] == "classifier:bad-outside-article"


def test_headlines_glued_to_their_excerpts_are_a_feed_not_an_article() -> None:
    teasers = [
        "Council Approves New Budget After Long NightThe city council voted late on Tuesday to pass the budget "
        "after a debate that lasted for hours.",
        "Storm Brings Heavy Rain To The Coast AgainResidents were told to stay at home as the river rose above "
        "the old bridge on the main road.",
        "Local School Wins National Science PrizeA team of students from the north side won the award with a "
        "project on clean water for the town.",
    ]
    doc = "\n".join([*(m.decode() for m in MENU), *teasers, *(p.decode() for p in ARTICLE)]) + "\n"
    ex = Cleaner().explain_text(doc, doc_id="t")
    assert ex.text == "".join(p.decode() + "\n" for p in ARTICLE)
    glued = [d for d in ex.decisions if d.text in teasers]
    assert len(glued) == 3
    assert all(d.rule == "classifier:bad-outside-article" and d.features is not None
               and d.features["class"] == "bad" for d in glued)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.sampled_from(["the", "und", "de", "la", "и", "het", "di", "que", "river", "een", "die",
                                          "a", "en", "le", "не", "x"]), max_size=20).map(" ".join), max_size=12))
def test_language_guess_counts_each_languages_stopwords(lines: list[str]) -> None:
    from cleaner.context import STOP_PREFIX_CHARS, LanguageGuess, load_stopwords
    stop = load_stopwords()
    g = LanguageGuess(stop)
    want = dict.fromkeys(stop, 0)
    for line in lines:
        if g.feed(line):
            ws = line[:STOP_PREFIX_CHARS].lower().split()
            for lang, sw in stop.items():
                want[lang] += sum(w in sw for w in ws)
    assert dict(g.hits) == want


def test_a_repeat_of_a_line_dropped_outside_the_article_is_judged_as_any_line() -> None:
    # a table of contents above the article lists its section headings: the
    # classifier drops the list, so the headings in the article (repeats of
    # it) must not go as duplicates of lines that are not in the output
    heads = [b"Why the council changed its mind", b"What the park will cost the town",
             b"When the first paths will open"]
    lines = [m + b"\n" for m in MENU] + [b"In this article\n"] + [h + b"\n" for h in heads]
    lines += [b"\n", TITLE + b"\n", b"\n"]
    for i, p in enumerate(ARTICLE):
        if i % 2 == 0:
            lines += [heads[i // 2] + b"\n", b"\n"]
        lines += [p + b"\n", b"\n"]
    lines += [f + b"\n" for f in FOOTER[:5]] + [heads[1] + b"\n"] + [f + b"\n" for f in FOOTER[5:]]
    text = b"".join(lines).decode()
    res = with_classifier().explain_text(text, doc_id="toc")
    kept = res.text.splitlines()
    assert all(p.decode() in kept for p in ARTICLE)
    # the headings inside the article stay, once each
    assert kept.count(heads[1].decode()) == 1 and kept.count(heads[2].decode()) == 1
    by_line = {d.line: d for d in res.decisions}
    toc = [n for n, d in by_line.items() if d.text == heads[1].decode() and d.rule.startswith("classifier:")]
    assert toc and by_line[toc[0]].rule.endswith("-outside-article")  # the list's copy went
    # a later copy (in the footer) repeats the heading kept, and says so
    footer_copy = [d for d in res.decisions if d.text == heads[1].decode() and d.rule == "dedup.repeat"]
    kept_at = text.splitlines().index(heads[1].decode(), toc[0]) + 1
    assert [d.first for d in footer_copy] == [("toc", kept_at)]
    # without the classifier the first copy stays, and so both later copies go
    plain = Cleaner(Config(classifier=False)).clean_text(text)
    assert plain.splitlines().count(heads[1].decode()) == 1


def _reference_end_doc(c, pending: list[int]) -> None:
    """The conservative update one key at a time (the documented rule), in
    the order the document's keys were first seen."""
    for key in pending:
        cells = [(r, (key >> (c.bits * r)) & c.mask) for r in range(c.depth)]
        cur = min(c.rows[r][i] for r, i in cells)
        if cur < 0xFFFF:
            for r, i in cells:
                if c.rows[r][i] == cur:
                    c.rows[r][i] = cur + 1


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 3), st.sampled_from([None, 2]),
       st.lists(st.lists(st.one_of(st.integers(0, 2500), st.integers(0, 2**64 - 1)), max_size=300), max_size=6))
def test_cross_document_counter_updates_as_one_key_at_a_time(depth: int, halve: int | None,
                                                             docs: list[list[int]]) -> None:
    """A small sketch (1024 cells a row) so that keys of one document share
    cells: end_doc's batched update must give the counts of the plain
    conservative update, and never count a line in fewer documents than hold it."""
    from cleaner.context import CrossDocCounter
    c, ref = CrossDocCounter(1024, depth, halve), CrossDocCounter(1024, depth, halve)
    truth: dict[int, int] = {}
    for n, keys in enumerate(docs, 1):
        for k in keys:
            c.add(k)
        c.end_doc()
        _reference_end_doc(ref, list(dict.fromkeys(keys)))
        if halve is not None and n % halve == 0:
            for row in ref.rows:
                for i in range(len(row)):
                    row[i] >>= 1
        assert c.rows == ref.rows
        for k in set(keys):
            truth[k] = truth.get(k, 0) + 1
        if halve is None:
            assert all(c.count(k) >= v for k, v in truth.items())


@given(st.text(max_size=300), st.integers(1, 3))
def test_cross_document_see_is_count_then_add(text: str, depth: int) -> None:
    from cleaner.context import CrossDocCounter
    c = CrossDocCounter(1024, depth)
    for k in range(50):  # fill some cells
        c.add(k * 7919)
    c.end_doc()
    key = c.key(text)
    assert c.see(text, add=False) == c.count(key) and key not in c._pending
    assert c.see(text) == c.count(key) and key in c._pending


def test_document_state_keeps_its_attributes_inline() -> None:
    """A DocumentContext holds fewer than 30 attributes (CPython 3.11 keeps
    no more in an instance's fast, shared-key form), after a document too."""
    clf = ContextClassifier()
    doc = clf.document()
    assert len(vars(doc)) < 30
    for line in ["Home | News", "A line of text that goes on for a while, as prose does.", ""] * 40:
        doc.push(line)
    doc.finish()
    assert len(vars(doc)) < 30
