"""The required-literal prefilter (used without Hyperscan) may report too
many rules, never too few: every line a rule's regex matches must be
reported for that rule, and ``clean`` gives the same bytes with it."""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import regex
from conftest import RULE_HEADER, rule_toml, sample_names, sample_paths
from hypothesis import given, settings
from hypothesis import strategies as st

from cleaner import Cleaner, Config, literals, prefilter
from cleaner.classify import word_count
from cleaner.literals import NoLiterals, required_literals


@contextmanager
def prefilter_env(mode: str) -> Iterator[None]:
    old = os.environ.get("CLEANER_PREFILTER")
    os.environ["CLEANER_PREFILTER"] = mode
    try:
        yield
    finally:
        if old is None:
            del os.environ["CLEANER_PREFILTER"]
        else:
            os.environ["CLEANER_PREFILTER"] = old


def make(mode: str, config: Config | None = None) -> Cleaner:
    with prefilter_env(mode):
        return Cleaner(config or Config())


ENGINE = make("literal", Config(dedup="off")).engine
RULES = ENGINE.ruleset
LIT = ENGINE.prefilter._literal
assert LIT is not None
PIECES = sorted({s for _, p in [(0, p) for r in RULES.rules for p in r.patterns]
                 for s in (lambda f: [t for _, t in f if t != literals.NONASCII] if f else [])(literals._derive(p))})
EXAMPLES = sorted({ex for r in RULES.rules for ex in (*r.drop_examples, *r.keep_examples)})
NOISE = st.sampled_from([" ", "\xa0", "\u2009", "\u3000", "\t", "É", "é", "’", "—", "1", "A", "a", ".", "",
                         "ſ", "ı", "İ", "\u212a", "\x1c", "\ufffd"])
FOLDS = {"s": "ſ", "S": "ſ", "i": "İ", "I": "ı", "k": "\u212a", "K": "\u212a"}


@st.composite
def mutated(draw: st.DrawFn) -> str:
    text = draw(st.sampled_from(EXAMPLES))
    for _ in range(draw(st.integers(0, 2))):  # glue in the rules' own literals
        pos = draw(st.integers(0, len(text)))
        text = text[:pos] + draw(st.sampled_from(PIECES)) + text[pos:]
    for _ in range(draw(st.integers(0, 3))):
        pos = draw(st.integers(0, len(text)))
        text = text[:pos] + draw(NOISE) + text[pos:]
    if draw(st.booleans()):
        text = text.replace(" ", draw(st.sampled_from(["\xa0", "\u2002", "  ", " ", "\t"])))
    if draw(st.booleans()):
        letter = draw(st.sampled_from(sorted(FOLDS)))
        text = text.replace(letter, FOLDS[letter])
    if draw(st.booleans()):
        text = draw(st.sampled_from([text.upper(), text.lower(), text.swapcase(), text.title()]))
    return text


def assert_superset(lines: list[str]) -> None:
    hits = ENGINE.candidates("\n".join(lines).encode("utf-8", "replace"))
    for i, line in enumerate(lines):
        got = set(hits.get(i, ())) | set(ENGINE.always)
        for idx, rule in enumerate(RULES.rules):
            if rule.accepts_words(word_count(line)) and any(p.search(line) for p in rule.compiled):
                assert idx in got, (rule.id, line)


@settings(max_examples=600, deadline=None)
@given(st.lists(mutated(), min_size=1, max_size=6))
def test_every_regex_match_is_reported(lines: list[str]) -> None:
    assert_superset(lines)


def test_rule_examples_are_reported() -> None:
    assert_superset(EXAMPLES)


def test_most_rules_get_literals() -> None:
    assert ENGINE.prefilter.kind == "literal"
    assert len(LIT.with_literals) >= 0.9 * len(RULES.rules)
    assert ENGINE.always == ()  # rules without literals all have word limits: reported within them


@pytest.mark.parametrize(("pattern", "expected"), [
    ("hello", {(False, "hello")}),
    ("(?i)Hello World", {(True, "hello world")}),
    ("(?i)^\\s*More (?:in|from) \\p{Lu}", {(True, "more in "), (True, "more from ")}),
    ("(?i)(?-i:[A-Z])bc", {(True, "bc")}),
    ("x(?i:abc)", {(True, "abc")}),
    ("(?i)caf\u00e9s", {(True, "caf")}),  # a non-ASCII letter under (?i) ends the literal
    ("caf\u00e9", {(False, "caf\u00e9")}),
    ("[’']s", {(False, "’s"), (False, "'s")}),
    ("(?:ab)+cd?", {(False, "ab")}),  # an unbounded repeat: its own literal only
    ("(?=.*foo)bar\\b", {(False, "bar")}),
    ("\\u2019s", {(False, "\u2019s")}),
    ("a++bcd|(?>xyz)", {(False, "bcd"), (False, "xyz")}),
    # a digit: an ASCII one, or another (non-ASCII) character
    ("^\\d+$", {(False, d) for d in "0123456789"} | {(False, literals.NONASCII)}),
    ("(?i)x|\u00d7", {(True, "x"), (False, literals.NONASCII)}),  # no case variant of × is ASCII
    ("(?i)\u00a9|\\(c\\)", {(True, "(c)"), (False, literals.NONASCII)}),
    ("(?i)[a\u017f]b", {(True, "b")}),  # the long s: s in the folded buffer, or a non-ASCII letter
    ("(?i)[\u017f\u00e9]", {(True, "s"), (False, literals.NONASCII)}),
    ("[\\x80-\\U0010ffff]", {(False, "?"), (False, literals.NONASCII)}),  # an undecodable byte is "?"
    ("(?i)[\u212a]", {(True, "k"), (False, literals.NONASCII)}),
])
def test_required_literals(pattern: str, expected: set[tuple[bool, str]]) -> None:
    assert required_literals(pattern) == expected


@pytest.mark.parametrize("pattern", [
    "a?b?", "foo|\\w+", "(?x) foo", "(?V1)[[a-z]--[b]]x", "(?:foo){e<=1}", "[[:alpha:]]x",
    "(?f)strasse", "(.)\\1", ".*", "[^a]\\w?",
])
def test_no_literals(pattern: str) -> None:
    regex.compile(pattern)
    with pytest.raises(NoLiterals):
        required_literals(pattern)


def test_ascii_case_folds_are_the_known_ones() -> None:
    # ci literals are looked for in the batch with only ASCII lowered and the
    # four letters of FOLDS mapped: the regex module's (?i) must match nothing else
    ascii_any = regex.compile("(?i)[\\x00-\\x7f]")
    extra = {chr(c) for c in range(0x80, 0x110000) if not 0xD800 <= c <= 0xDFFF and ascii_any.match(chr(c))}
    assert extra == set(literals.FOLDS)
    for ch, letter in literals.FOLDS.items():
        assert regex.match(f"(?i)[{letter}{letter.upper()}]", ch) and literals.fold(ch.encode()) == letter.encode()
    assert {k: v[0].lower() for k, v in prefilter._FOLD_TO_ASCII.items()} == literals.FOLDS


def test_trie_reports_overlapping_literals() -> None:
    pf = literals.LiteralPrefilter([(i, w) for i, w in enumerate(["(?i)abcd", "(?i)abc", "(?i)bcde", "(?i)cdef",
                                                                   "(?i)zz+", "x", "(?i)e"] + [
        f"(?i)filler{n}" for n in range(50)])])
    assert pf.scan(b"ABCDEF\nq\nzzz x") == {0: [0, 1, 2, 3, 6], 2: [4, 5]}


def test_trie_suffixes_are_checked_against_their_literal_at_each_place() -> None:
    # the trie holds a suffix of each long literal, starting at a rare byte;
    # where the suffix is found the literal is checked for, at every place
    pats = ["(?i)copyright", "(?i)bright", "(?i)yrigh", "never"] + [f"(?i)filler{n}q" for n in range(50)]
    pf = literals.LiteralPrefilter(list(enumerate(pats)))
    group = pf._groups[(None, True)]
    assert b"copyright" not in group.check_at  # trimmed to a suffix
    lines = [b"ayright then copyright", b"ayright bright", b"COPYRIGHT", b"xyrighx copyrigh", b"FILLER7Q yrigh"]
    assert pf.scan(b"\n".join(lines)) == {0: [0, 2], 1: [1, 2], 2: [0, 2], 3: [2], 4: [2, 11]}
    for i, line in enumerate(lines):  # every rule whose regex matches is reported
        for rule, pat in enumerate(pats):
            if regex.search(pat, line.decode()):
                assert rule in pf.scan(b"\n".join(lines)).get(i, []), (line, pat)


def test_nonascii_is_reported_on_lines_that_are_not_ascii() -> None:
    pf = literals.LiteralPrefilter([(0, "^\\d+$"), (1, "(?i)\u03b4")], max_words=[None, 3])
    lines = ["abc", "\u0661\u0662", "12", "\u0394 x", "\u0394 a b c d e f g h i j k l", "caf\u00e9"]
    assert pf.scan("\n".join(lines).encode()) == {1: [0, 1], 2: [0], 3: [0, 1], 4: [0], 5: [0, 1]}
    for rule, pat in enumerate(["^\\d+$", "(?i)\u03b4"]):  # and the regexes do match where they can
        assert [i for i, ln in enumerate(lines) if regex.search(pat, ln)] == [[1, 2], [3, 4]][rule]


def corpus() -> bytes:
    parts = []
    for name in sample_names():
        src, _ = sample_paths(name)
        parts.append(src.read_bytes().rstrip(b"\n") + b"\n\f\n")
    return b"".join(parts)


def bench_like_stream() -> bytes:
    # lines of every sample, shuffled into documents, with the rules' own
    # examples mixed in (and their case changed), as a stream of \f documents
    rng = random.Random(7)
    lines = [ln for ln in corpus().decode("utf-8", "surrogateescape").split("\n") if ln != "\f"]
    lines += EXAMPLES * 2 + [e.upper() for e in EXAMPLES] + [e.replace(" ", "\xa0") for e in EXAMPLES]
    rng.shuffle(lines)
    docs, i = [], 0
    while i < len(lines):
        n = rng.randint(5, 120)
        docs.append("\n".join(lines[i:i + n]) + "\n")
        i += n
    return "\f\n".join(docs).encode("utf-8", "surrogateescape")


def stdin_run(mode: str, data: bytes) -> bytes:
    c = make(mode)
    s = c.stream("<stdin>", split_docs=True)
    out = [s.feed(data[i:i + 50_000]) for i in range(0, len(data), 50_000)]
    return b"".join(out) + s.close()


@pytest.mark.parametrize("name", sample_names())
def test_samples_are_cleaned_the_same(name: str) -> None:
    src, expected = sample_paths(name)
    assert make("literal").clean_bytes(src.read_bytes(), doc_id=name) == expected.read_bytes()


@pytest.mark.parametrize("source", ["corpus", "bench-like"])
def test_streams_are_cleaned_the_same(source: str) -> None:
    data = corpus() if source == "corpus" else bench_like_stream()
    lit = stdin_run("literal", data)
    assert lit == stdin_run("none", data)
    if prefilter._hs_usable:
        assert lit == stdin_run("hyperscan", data)


def test_use_hyperscan_false_uses_literals() -> None:
    assert make("auto", Config(use_hyperscan=False)).engine.prefilter.kind == "literal"
    assert make("none").engine.prefilter.kind == "none"
    assert len(make("none").engine.always) == len(RULES.rules)


def test_user_rule_files_get_literals(tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text(RULE_HEADER + rule_toml("junk.promo", "(?i)^\\s*Limited offer:? \\d+% off", drop=["Limited offer 20% off"])
                    + rule_toml("junk.word", "^\\w{3}$", drop=["abc"]), encoding="utf-8")
    c = make("literal", Config(rules=(str(path),), default_rules=False, classifier=False))
    pf = c.engine.prefilter._literal
    assert pf is not None and pf.with_literals == {0} and c.engine.always == (1,)
    text = "An article line that stays.\nLIMITED OFFER: 50% OFF\nabc\nlimited offers galore\n"
    assert c.clean_text(text) == "An article line that stays.\nlimited offers galore\n"


def test_an_unknown_prefilter_mode_is_named_once_and_auto_is_used(monkeypatch, caplog) -> None:  # type: ignore[no-untyped-def]
    from cleaner import prefilter
    monkeypatch.setenv("CLEANER_PREFILTER", "hyperscna")
    monkeypatch.setattr(prefilter, "_WARNED", set())
    assert prefilter.prefilter_mode() == "auto" and prefilter.prefilter_mode() == "auto"
    assert [r.getMessage() for r in caplog.records].count(
        "CLEANER_PREFILTER=hyperscna is not one of auto, hyperscan, literal, none; using auto") == 1
