"""Bad rule files: every problem is reported at once, with file, rule id and
reason, and ``clean`` exits 2 before reading any input."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from conftest import ARTICLE, CLEAN, JUNK, RULE_HEADER, clean_env, rule_toml, run_clean, run_main

from cleaner.errors import RuleError
from cleaner.rules import load_rules

# name -> (rule file text, rule id named in the message or None, words of the reason)
CASES: dict[str, tuple[str, str | None, tuple[str, ...]]] = {
    "toml-syntax": (RULE_HEADER + '[[rule]]\nid = "junk.broken\n', None, ("TOML",)),
    "unknown-key": (RULE_HEADER + rule_toml("junk.unknown-key", extra='colour = "red"'),
                    "junk.unknown-key", ("unknown key", "colour")),
    "bad-regex": (RULE_HEADER + rule_toml("junk.bad-regex", "^(JUNK LINE$"), "junk.bad-regex", ("bad regex",)),
    "unknown-category": (RULE_HEADER + rule_toml("junk.no-cat", category="junkk"),
                         "junk.no-cat", ("unknown category", "junkk")),
    "missing-field": (RULE_HEADER + rule_toml("junk.missing", description=None),
                      "junk.missing", ("missing", "description")),
    "wrong-type": (RULE_HEADER + rule_toml("junk.wrong-type", extra='max_words = "ten"'),
                   "junk.wrong-type", ("max_words", "int", "str")),
    "empty-line-regex": (RULE_HEADER + rule_toml("junk.empty", "(JUNK)*", drop=["JUNK"]),
                         "junk.empty", ("empty line",)),
    "drop-block-no-max-lines": (
        RULE_HEADER + rule_toml("junk.block", action="drop_block",
                                extra='continue_while = { predicate = "short_line" }'),
        "junk.block", ("max_lines",)),
}


def _assert_named(stderr: str, path: Path, rule_id: str | None, words: tuple[str, ...]) -> None:
    lines = [line for line in stderr.splitlines() if str(path) in line]
    if rule_id is not None:
        lines = [line for line in lines if rule_id in line]
    assert lines, f"no message naming {path} and {rule_id!r}:\n{stderr}"
    assert any(all(w.lower() in line.lower() for w in words) for line in lines), (
        f"no message giving the reason {words}:\n{stderr}"
    )


@pytest.mark.parametrize("case", sorted(CASES))
def test_cli_exits_2_with_message(case: str, tmp_path: Path) -> None:
    text, rule_id, words = CASES[case]
    path = tmp_path / f"{case}.toml"
    path.write_text(text, encoding="utf-8")
    src = tmp_path / "input.txt"
    src.write_text(ARTICLE[0] + "\n", encoding="utf-8")
    r = run_main(["--rules", path, src], None)
    assert r.returncode == 2
    assert r.stdout == b""
    err = r.stderr.decode()
    _assert_named(err, path, rule_id, words)
    assert "Traceback" not in err


@pytest.mark.parametrize("case", sorted(CASES))
def test_library_raises_rule_error(case: str, tmp_path: Path) -> None:
    text, rule_id, words = CASES[case]
    path = tmp_path / f"{case}.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RuleError) as exc:
        load_rules([path], defaults=False)
    problems = exc.value.problems
    assert len(problems) == 1, problems
    p = problems[0]
    assert p.file == str(path)
    assert p.rule_id == rule_id
    assert all(w.lower() in p.message.lower() for w in words), p.message
    assert str(path) in str(exc.value)


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_rules_exit_before_reading_stdin(case: str, tmp_path: Path) -> None:
    text, rule_id, words = CASES[case]
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    p = subprocess.Popen([*CLEAN, "--rules", str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=clean_env())
    try:
        code = p.wait(timeout=30)  # stdin stays open and empty: reading it would block
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        pytest.fail("clean waited for stdin although its rule file is bad")
    finally:
        assert p.stdin is not None
        p.stdin.close()
    assert p.stdout is not None and p.stderr is not None
    out, err = p.stdout.read(), p.stderr.read()
    p.stdout.close()
    p.stderr.close()
    assert code == 2
    assert out == b""
    _assert_named(err.decode(), path, rule_id, words)


def test_several_problems_reported_at_once(tmp_path: Path) -> None:
    path = tmp_path / "many.toml"
    text = RULE_HEADER + "".join(t[len(RULE_HEADER):] for k, (t, _, _) in sorted(CASES.items()) if k != "toml-syntax")
    path.write_text(text, encoding="utf-8")
    r = run_clean(["--rules", path], b"")
    assert r.returncode == 2
    assert r.stdout == b""
    err = r.stderr.decode()
    for case, (_, rule_id, words) in CASES.items():
        if case != "toml-syntax":
            _assert_named(err, path, rule_id, words)
    problem_lines = [line for line in err.splitlines() if str(path) in line]
    assert len(problem_lines) == len(CASES) - 1, err
    with pytest.raises(RuleError) as exc:
        load_rules([path], defaults=False)
    assert len(exc.value.problems) == len(CASES) - 1
    assert {p.rule_id for p in exc.value.problems} == {c[1] for k, c in CASES.items() if k != "toml-syntax"}


def test_problems_in_several_files_reported_together(tmp_path: Path) -> None:
    a = tmp_path / "a.toml"
    b = tmp_path / "b.toml"
    a.write_text(CASES["bad-regex"][0], encoding="utf-8")
    b.write_text(CASES["toml-syntax"][0], encoding="utf-8")
    r = run_main(["--rules", a, "--rules", b], b"")
    assert r.returncode == 2
    err = r.stderr.decode()
    _assert_named(err, a, "junk.bad-regex", ("bad regex",))
    _assert_named(err, b, None, ("TOML",))


def test_duplicate_id_across_two_files(tmp_path: Path) -> None:
    a = tmp_path / "a.toml"
    b = tmp_path / "b.toml"
    a.write_text(RULE_HEADER + rule_toml("junk.same"), encoding="utf-8")
    b.write_text(RULE_HEADER + rule_toml("junk.same", "^OTHER$", drop=["OTHER"]), encoding="utf-8")
    r = run_clean(["--no-default-rules", "--rules", a, "--rules", b], b"")
    assert r.returncode == 2
    assert r.stdout == b""
    err = r.stderr.decode()
    _assert_named(err, b, "junk.same", ("duplicate",))
    assert str(a) in err, "the message should say where the id was first defined"
    with pytest.raises(RuleError) as exc:
        load_rules([a, b], defaults=False)
    assert [(p.file, p.rule_id) for p in exc.value.problems] == [(str(b), "junk.same")]


def test_duplicate_of_a_default_rule_id(tmp_path: Path) -> None:
    first_id = load_rules().rules[0].id
    category = load_rules().rules[0].category
    path = tmp_path / "dup.toml"
    path.write_text("version = 1\n" + rule_toml(first_id, category=category), encoding="utf-8")
    r = run_main(["--rules", path], b"")
    assert r.returncode == 2
    _assert_named(r.stderr.decode(), path, first_id, ("duplicate",))


def test_folder_of_rule_files(tmp_path: Path) -> None:
    folder = tmp_path / "myrules"
    folder.mkdir()
    (folder / "one.toml").write_text(RULE_HEADER + rule_toml("junk.one"), encoding="utf-8")
    (folder / "two.toml").write_text("version = 1\n" + rule_toml("junk.two", "^OTHER JUNK$", drop=["OTHER JUNK"]),
                                     encoding="utf-8")
    rs = load_rules([folder], defaults=False)
    assert [r.id for r in rs.rules] == ["junk.one", "junk.two"]
    r = run_clean(["--no-default-rules", "--rules", folder], f"{ARTICLE[0]}\nJUNK LINE\nOTHER JUNK\n".encode())
    assert r.returncode == 0, r.stderr.decode()
    assert r.stdout == f"{ARTICLE[0]}\n".encode()


def test_missing_rule_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.toml"
    r = run_main(["--rules", path], b"")
    assert r.returncode == 2
    assert str(path) in r.stderr.decode()
    assert "Traceback" not in r.stderr.decode()


def test_no_default_rules_uses_only_given_file(tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text(RULE_HEADER + rule_toml("junk.mine"), encoding="utf-8")
    doc = f"{ARTICLE[0]}\nJUNK LINE\n{JUNK}\n{ARTICLE[1]}\n".encode()
    # rules alone: the classifier would also drop the short line "Leave a Reply"
    only = run_clean(["--no-default-rules", "--rules", path, "--no-classifier"], doc)
    assert only.returncode == 0, only.stderr.decode()
    # the given rule applies, the default pack's comment rule does not
    assert only.stdout == f"{ARTICLE[0]}\n{JUNK}\n{ARTICLE[1]}\n".encode()
    pack = run_clean(["--no-classifier"], doc)
    assert pack.returncode == 0, pack.stderr.decode()
    assert pack.stdout == f"{ARTICLE[0]}\nJUNK LINE\n".encode()
    rs = load_rules([path], defaults=False)
    assert [r.id for r in rs.rules] == ["junk.mine"]


def test_checked_patterns_are_remembered_but_bad_ones_fail_every_load(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    # patterns that compiled once are not compiled again at load (they are
    # on first use); a bad one is never remembered
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("CLEANER_NO_CACHE", raising=False)
    good = tmp_path / "good.toml"
    good.write_text(RULE_HEADER + rule_toml("junk.good", "^JUNK LINE$"), encoding="utf-8")
    first = load_rules([good], defaults=False)
    assert list((tmp_path / "cache" / "corpus-cleaner").glob("regex-ok-*.txt"))
    second = load_rules([good], defaults=False)
    assert second.rules[0].compiled[0].search("JUNK LINE")
    assert first.rules[0].patterns == second.rules[0].patterns
    bad = tmp_path / "bad.toml"
    bad.write_text(RULE_HEADER + rule_toml("junk.bad-regex", "^(JUNK LINE$"), encoding="utf-8")
    for _ in range(2):
        with pytest.raises(RuleError, match="bad regex"):
            load_rules([bad], defaults=False)
