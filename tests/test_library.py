"""The library door: Cleaner, clean_text, clean_lines, explain_text, Config."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import ARTICLE, DROP_LINE, JUNK, RULE_HEADER, rule_toml, sample_names, sample_paths

import cleaner
from cleaner import Cleaner, Config, Decision, Explained, RuleError, load_rules
from cleaner.context import WINDOW_CHUNK_DIVISOR, WINDOW_DEFAULT

SAMPLES = sample_names()


def test_clean_text_docstring_example() -> None:
    import doctest

    from cleaner import api

    res = doctest.testmod(api, extraglobs={"Config": Config})
    assert res.attempted >= 3 and res.failed == 0


def test_module_clean_text() -> None:
    text = f"{ARTICLE[0]}\n{DROP_LINE}\n{ARTICLE[1]}\n"
    assert cleaner.clean_text(text) == f"{ARTICLE[0]}\n{ARTICLE[1]}\n"
    assert cleaner.clean_text(text, Config(default_rules=False)) == text


@pytest.mark.parametrize("name", SAMPLES)
def test_clean_text_on_samples(name: str) -> None:
    src, expected = sample_paths(name)
    assert Cleaner().clean_text(src.read_text(encoding="utf-8")) == expected.read_text(encoding="utf-8")


def test_cleaner_is_reusable_and_calls_are_independent() -> None:
    c = Cleaner()
    text = f"{ARTICLE[0]}\n{ARTICLE[1]}\n"
    assert c.clean_text(text) == text
    assert c.clean_text(text) == text  # no dedup memory across calls
    assert c.clean_text(f"{JUNK}\n") == ""
    assert c.clean_text(text) == text  # truncation does not leak into the next call


def test_stats_accumulate() -> None:
    c = Cleaner()
    c.clean_text(f"{ARTICLE[0]}\n{DROP_LINE}\n")
    c.clean_text(f"{ARTICLE[1]}\n{DROP_LINE}\n")
    assert c.stats.docs == 2
    assert c.stats.by_rule["promos.report-error"] == 2
    assert c.stats.by_category["promos"] == 2


# -- clean_lines ------------------------------------------------------------------


@pytest.mark.parametrize("name", SAMPLES)
def test_clean_lines_equals_clean_text(name: str) -> None:
    src, expected = sample_paths(name)
    lines = src.read_text(encoding="utf-8").splitlines(keepends=True)
    out = list(Cleaner().clean_lines(lines))
    assert "".join(out) == expected.read_text(encoding="utf-8")
    assert out == expected.read_text(encoding="utf-8").splitlines(keepends=True)


def test_clean_lines_yields_lines_with_endings() -> None:
    lines = [f"{ARTICLE[0]}\r\n", f"{DROP_LINE}\n", f"{ARTICLE[1]}\n", ARTICLE[2]]
    out = list(Cleaner().clean_lines(lines))
    assert out == [f"{ARTICLE[0]}\r\n", f"{ARTICLE[1]}\n", ARTICLE[2]]


def test_clean_lines_form_feed_not_split() -> None:
    out = list(Cleaner().clean_lines([f"{ARTICLE[0]}\n", "\f\n", f"{ARTICLE[1]}\n"]))
    assert all(line.endswith("\n") for line in out)
    assert f"{ARTICLE[0]}\n" in out and f"{ARTICLE[1]}\n" in out


def test_clean_lines_is_lazy_and_streams() -> None:
    pulled = 0

    def source() -> Iterator[str]:
        nonlocal pulled
        for i in range(10_000):
            pulled += 1
            yield f"Line {i}: {ARTICLE[i % len(ARTICLE)]}\n"

    # rules and duplicates decide each line as it comes
    it = Cleaner(Config(classifier=False)).clean_lines(source())
    assert pulled == 0, "clean_lines should be a lazy iterator"
    first = next(it)
    assert first == f"Line 0: {ARTICLE[0]}\n"
    assert pulled < 10, f"the first output line needed {pulled} input lines"
    second = next(it)
    assert second == f"Line 1: {ARTICLE[1]}\n"
    assert pulled < 10
    # the classifier (default) decides a line once it has seen its bounded look-ahead
    pulled = 0
    it = Cleaner().clean_lines(source())
    assert pulled == 0, "clean_lines should be a lazy iterator"
    assert next(it) == f"Line 0: {ARTICLE[0]}\n"
    bound = WINDOW_DEFAULT + WINDOW_DEFAULT // WINDOW_CHUNK_DIVISOR
    assert pulled <= bound + 1, f"the first output line needed {pulled} input lines"
    assert next(it) == f"Line 1: {ARTICLE[1]}\n"
    assert pulled <= bound + 1


def test_clean_lines_accepts_a_text_file(tmp_path: Path) -> None:
    p = tmp_path / "page.txt"
    p.write_text(f"{ARTICLE[0]}\n{DROP_LINE}\n{ARTICLE[1]}\n", encoding="utf-8")
    with p.open(encoding="utf-8", newline="") as f:
        assert "".join(Cleaner().clean_lines(f)) == f"{ARTICLE[0]}\n{ARTICLE[1]}\n"


# -- explain_text ---------------------------------------------------------------


def test_explain_text_returns_decisions() -> None:
    text = f"{ARTICLE[0]}\n{DROP_LINE}\n{ARTICLE[1]}\n{ARTICLE[0]}\n{JUNK}\nName *\n"
    ex = Cleaner().explain_text(text, doc_id="page")
    assert isinstance(ex, Explained)
    assert ex.text == f"{ARTICLE[0]}\n{ARTICLE[1]}\n"
    assert all(isinstance(d, Decision) for d in ex.decisions)
    got = [(d.doc, d.line, d.rule, d.category, d.action, d.text, d.first) for d in ex.decisions]
    assert got == [
        ("page", 2, "promos.report-error", "promos", "drop_line", DROP_LINE, None),
        ("page", 4, "dedup.repeat", "duplicates", "drop_line", ARTICLE[0], ("page", 1)),
        ("page", 5, "comments.leave-a-reply", "comments", "truncate_after", JUNK, None),
        ("page", 6, "comments.leave-a-reply", "comments", "truncate_after", "Name *", None),
    ]


def test_explain_text_nothing_to_do() -> None:
    text = f"{ARTICLE[0]}\n{ARTICLE[1]}\n"
    ex = Cleaner().explain_text(text)
    assert ex == Explained(text, [])


def test_decision_json() -> None:
    import json

    d = Decision("doc", 3, "dedup.repeat", "duplicates", "drop_line", "x \u201cy\u201d", ("doc", 1))
    assert json.loads(d.to_json()) == {"doc": "doc", "line": 3, "rule": "dedup.repeat", "category": "duplicates",
                                       "action": "drop_line", "text": "x \u201cy\u201d",
                                       "first": {"doc": "doc", "line": 1}}
    e = Decision("doc", 2, "promos.report-error", "promos", "drop_line", "t")
    assert "first" not in json.loads(e.to_json())


# -- Config ---------------------------------------------------------------------


@pytest.mark.parametrize(("kwargs", "hint"), [
    ({"dedup": "sideways"}, "off"),
    ({"dedup": "sideways"}, "doc"),
    ({"dedup_min_words": 0}, "at least 1"),
    ({"dedup_min_words": -3}, "at least 1"),
    ({"regex_timeout": 0}, "positive"),
    ({"regex_timeout": -1.0}, "positive"),
    ({"regex_timeout": math.nan}, "positive"),
])
def test_config_validation(kwargs: dict, hint: str) -> None:
    with pytest.raises(ValueError, match=hint) as exc:
        Config(**kwargs)
    (key,) = kwargs
    assert key in str(exc.value), "the message should name the option"


def test_config_is_frozen_with_defaults() -> None:
    c = Config()
    assert c.dedup == "doc" and c.dedup_min_words == 5 and c.default_rules is True and c.regex_timeout > 0
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.dedup = "off"  # type: ignore[misc]


def test_config_rules_and_no_defaults(tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text(RULE_HEADER + rule_toml("junk.mine"), encoding="utf-8")
    c = Cleaner(Config(rules=(str(path),), default_rules=False))
    assert [r.id for r in c.ruleset.rules] == ["junk.mine"]
    assert c.clean_text(f"{ARTICLE[0]}\nJUNK LINE\n{DROP_LINE}\n") == f"{ARTICLE[0]}\n{DROP_LINE}\n"


def test_cleaner_with_bad_rules_raises(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(RULE_HEADER + rule_toml("junk.bad", "^(JUNK"), encoding="utf-8")
    with pytest.raises(RuleError) as exc:
        Cleaner(Config(rules=(str(path),)))
    assert [(p.file, p.rule_id) for p in exc.value.problems] == [(str(path), "junk.bad")]


def test_cleaner_with_ruleset(tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text(RULE_HEADER + rule_toml("junk.mine"), encoding="utf-8")
    rs = load_rules([path], defaults=False)
    c = Cleaner(Config(classifier=False), ruleset=rs)  # the rule alone (no page for the classifier)
    assert c.clean_text("JUNK LINE\nKeep this.\n") == "Keep this.\n"


def test_public_names() -> None:
    for name in ("Cleaner", "Config", "RuleError", "clean_text", "load_rules", "__version__", "Decision"):
        assert hasattr(cleaner, name), name
    assert isinstance(cleaner.__version__, str) and cleaner.__version__


# -- regex timeout (library) ------------------------------------------------------


@pytest.mark.parametrize("use_hyperscan", [False, True], ids=["regex-only", "prefiltered"])
def test_regex_timeout_in_library(use_hyperscan: bool, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "slow.toml"
    path.write_text(RULE_HEADER + rule_toml("junk.catastrophic", r"(a|aa)+$|!", drop=["aaa"]), encoding="utf-8")
    c = Cleaner(Config(rules=(str(path),), default_rules=False, regex_timeout=0.05, use_hyperscan=use_hyperscan))
    line = "a" * 40 + "!\n"
    with caplog.at_level("WARNING"):
        assert c.clean_text(f"{ARTICLE[0]}\n{line}") == f"{ARTICLE[0]}\n{line}"
    assert c.stats.regex_timeouts["junk.catastrophic"] == 1
    assert any("junk.catastrophic" in r.getMessage() for r in caplog.records)
    assert c.clean_text("aaa\n") == ""  # the rule still works where it is fast


def test_nested_plus_pattern_without_prefilter(tmp_path: Path) -> None:
    path = tmp_path / "spec.toml"
    path.write_text(RULE_HEADER + rule_toml("junk.nested-plus", "(a+)+$", drop=["aaa"]), encoding="utf-8")
    c = Cleaner(Config(rules=(str(path),), default_rules=False, regex_timeout=0.05, use_hyperscan=False))
    line = "a" * 40 + "!\n"
    assert c.clean_text(line) == line
    assert c.clean_text("aaaa\n") == ""


def test_remembered_rule_decisions_change_nothing() -> None:
    # the engine memoizes rule decisions per line text: a warm Cleaner (each
    # sample seen once, in any order) explains every sample as a fresh one does
    texts = [sample_paths(name)[0].read_text("utf-8") for name in sample_names()]
    warm = Cleaner(Config(classifier=False))
    for t in reversed(texts):
        warm.explain_text(t)
    assert warm.engine.match_memo  # the memo is in use
    for t in texts:
        assert warm.explain_text(t) == Cleaner(Config(classifier=False)).explain_text(t)


def test_stream_dedup_judges_a_stripped_line_by_the_text_kept(tmp_path: Path) -> None:
    # a strip rule changes a line before duplicates are judged: with the
    # cross-document index, as within a document, the repeat that follows is
    # a repeat of the text kept (not of the line as read)
    path = tmp_path / "promo.toml"
    path.write_text(RULE_HEADER + rule_toml(
        "junk.promo-prefix", r"^PROMO:\s*", action="strip", drop=[],
        examples_extra='strip = [{before = "PROMO: Hello there", after = "Hello there"}]'), encoding="utf-8")
    text = f"{ARTICLE[0]}\nPROMO: {ARTICLE[1]}\n{ARTICLE[2]}\n{ARTICLE[1]}\n"
    want = f"{ARTICLE[0]}\n{ARTICLE[1]}\n{ARTICLE[2]}\n"
    for dedup in ("doc", "stream"):
        cfg = Config(rules=(str(path),), default_rules=False, dedup=dedup, near=False, classifier=False)
        assert Cleaner(cfg).clean_text(text) == want, dedup
