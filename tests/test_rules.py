"""The default rule pack: every rule's examples run as a test, and the pack's shape."""

from __future__ import annotations

import tomllib
from collections import Counter
from functools import cache
from pathlib import Path

import pytest
from conftest import rule_toml, run_clean, run_main

from cleaner import rules
from cleaner.errors import RuleError
from cleaner.rules import ACTIONS, RuleSet, default_rules_dir, load_rules
from cleaner.ruletest import ExampleFailure, check_examples


def _default_ids() -> list[str]:
    try:
        return [r.id for r in load_rules().rules]
    except RuleError as e:  # reported by test_default_pack_loads; keep collection alive
        return [f"<pack does not load: {len(e.problems)} problem(s)>"]


DEFAULT_IDS = _default_ids()


@cache
def _pack() -> RuleSet:
    return load_rules()


@cache
def _pack_failures() -> tuple[ExampleFailure, ...]:
    """Every rule's examples, checked once for the whole pack: drop examples
    match their rule (and its prefilter), keep examples match neither their
    rule nor any other rule of the pack, strip and document examples give
    their output with the rule alone."""
    return tuple(check_examples(_pack()))


def test_default_pack_loads() -> None:
    try:
        load_rules()
    except RuleError as e:
        pytest.fail("the default rule pack does not load:\n" + "\n".join(map(str, e.problems)))


@pytest.mark.parametrize("rule_id", DEFAULT_IDS)
def test_rule_examples(rule_id: str) -> None:
    pack = _pack()
    rule = pack.by_id(rule_id)
    assert rule.drop_examples or rule.strip_examples or rule.document_examples, (
        f"{rule_id} has no example of what it removes"
    )
    whole = [str(f) for f in _pack_failures() if f.rule_id == rule_id]
    assert whole == [], "\n".join(whole)


def test_default_pack_has_at_least_100_rules() -> None:
    n = len(_pack().rules)
    assert n >= 100, (
        f"the default rule pack has {n} rules; the spec asks for at least 100 "
        "(the pack is being grown from 19 to 110+, so this fails until that work lands)"
    )


def test_rule_ids_unique() -> None:
    counts = Counter(r.id for r in _pack().rules)
    assert [i for i, n in counts.items() if n > 1] == []


def test_every_category_declared_and_described() -> None:
    pack = _pack()
    undeclared = sorted({r.category for r in pack.rules} - set(pack.categories))
    assert undeclared == []
    for name, desc in pack.categories.items():
        assert isinstance(desc, str) and desc.strip(), f"category {name!r} has no description"


def test_every_rule_is_well_formed() -> None:
    for r in _pack().rules:
        assert r.action in ACTIONS, r.id
        assert r.description.strip(), f"{r.id} has no description"
        if r.action == "drop_block":
            assert r.max_lines >= 1, r.id


# -- clean rules list / clean rules test ------------------------------------


def test_rules_list_prints_every_rule() -> None:
    r = run_clean(["rules", "list"], None)
    assert r.returncode == 0, r.stderr.decode()
    rows = [line.split("\t") for line in r.stdout.decode("utf-8").splitlines()]
    expected = [[x.id, x.category, x.action, x.description] for x in _pack().rules]
    assert rows == expected


def test_rules_list_with_extra_file(write_rules) -> None:
    extra = write_rules("extra.toml", 'version = 1\n[categories]\njunk = "Test junk"\n'
                        + rule_toml("junk.listed", description="listed rule"))
    r = run_main(["rules", "list", "--rules", extra], None)
    assert r.returncode == 0, r.stderr.decode()
    rows = [line.split("\t") for line in r.stdout.decode("utf-8").splitlines()]
    assert rows[-1] == ["junk.listed", "junk", "drop_line", "listed rule"]
    assert len(rows) == len(_pack().rules) + 1


def test_rules_list_no_default_rules(write_rules) -> None:
    extra = write_rules("only.toml", 'version = 1\n[categories]\njunk = "Test junk"\n'
                        + rule_toml("junk.one") + rule_toml("junk.two", "^OTHER JUNK$", drop=["OTHER JUNK"]))
    r = run_main(["rules", "list", "--no-default-rules", "--rules", extra], None)
    assert r.returncode == 0, r.stderr.decode()
    ids = [line.split("\t")[0] for line in r.stdout.decode().splitlines()]
    assert ids == ["junk.one", "junk.two"]


def test_rules_test_default_pack_passes() -> None:
    r = run_clean(["rules", "test"], None)
    assert r.returncode == 0, r.stdout.decode() + r.stderr.decode()
    assert b"0 failed" in r.stdout


def _bad_examples(write_rules):
    return write_rules("badexamples.toml", 'version = 1\n[categories]\njunk = "Test junk"\n' + rule_toml(
        "junk.greedy", "(?i)junk", drop=["JUNK LINE"], keep=["This sentence mentions junk food in passing."]))


def test_rules_test_reports_matched_keep_example(write_rules) -> None:
    bad = _bad_examples(write_rules)
    r = run_clean(["rules", "test", bad], None)
    assert r.returncode == 1
    fails = [line for line in r.stdout.decode().splitlines() if line.startswith("FAIL")]
    assert any("junk.greedy" in f and "keep" in f for f in fails), r.stdout.decode()


def test_rules_test_only_given_file(write_rules) -> None:
    bad = _bad_examples(write_rules)
    r = run_main(["rules", "test", "--no-default-rules", bad], None)
    assert r.returncode == 1
    fails = [line for line in r.stdout.decode().splitlines() if line.startswith("FAIL")]
    assert len(fails) == 1 and "junk.greedy" in fails[0] and str(bad) in fails[0], r.stdout.decode()
    assert "1 rules, 2 examples, 1 failed" in r.stdout.decode()


def test_rules_test_good_file_passes(write_rules) -> None:
    good = write_rules("good.toml", 'version = 1\n[categories]\njunk = "Test junk"\n' + rule_toml(
        "junk.exact", keep=["This sentence mentions a junk line in passing."]))
    r = run_main(["rules", "test", "--no-default-rules", good], None)
    assert r.returncode == 0, r.stdout.decode()
    assert "1 rules, 2 examples, 0 failed" in r.stdout.decode()


def test_check_examples_catches_failing_drop_and_document(write_rules) -> None:
    text = 'version = 1\n[categories]\njunk = "Test junk"\n' + rule_toml(
        "junk.misses", "^JUNK LINE$", drop=["junk line"]) + rule_toml(
        "junk.doc", "^DOC JUNK$", drop=["DOC JUNK"],
        examples_extra='documents = [{input = "Keep me.\\nDOC JUNK\\n", output = "Keep me.\\nDOC JUNK\\n"}]')
    path = write_rules("fails.toml", text)
    fails = check_examples(load_rules([path], defaults=False))
    kinds = {(f.rule_id, f.kind) for f in fails}
    assert ("junk.misses", "drop") in kinds
    assert ("junk.doc", "documents") in kinds


def test_parsed_rule_files_are_remembered_exactly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The rule files' parsed TOML is cached as JSON: what comes back equals
    what tomllib gives (types included) for every default rule file, without
    parsing again; a file with a date (no JSON form) is not cached."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv("CLEANER_NO_CACHE", raising=False)
    texts = [p.read_text("utf-8") for p in sorted(Path(default_rules_dir()).glob("*.toml"))]
    assert texts
    texts.append('version = 1\nx = 1.0\ny = -0.0\nz = inf\nw = [1, "a", {b = true}]\n')
    wants = [tomllib.loads(text) for text in texts]
    for text, want in zip(texts, wants, strict=True):
        assert rules._parse_toml(text) == want
    with monkeypatch.context() as m:
        m.setattr(rules.tomllib, "loads", lambda _: pytest.fail("parsed again"))
        for text, want in zip(texts, wants, strict=True):
            got = rules._parse_toml(text)
            assert got == want and repr(got) == repr(want)  # 1.0 stays a float, -0.0 its sign
    dated = "version = 1\nwhen = 2026-11-24\n"
    assert rules._parse_toml(dated) == tomllib.loads(dated)
    assert len(list((tmp_path / "corpus-cleaner").glob("toml-*.json"))) == len(texts)
