"""Block rules skip a repeated line (``Config.skip_repeats``): a paragraph that
repeats one the rules kept earlier in the document is removed by duplicate
removal, so a block must neither hinge on it nor end at it, or a second run
over the output would find the block whole (idempotence)."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import parse_jsonl, run_clean

from cleaner import Cleaner, Config

P = ("The council voted on Tuesday to close the old bridge for repairs, and the mayor said the work "
     "would take most of the coming year.")
Q = "Residents who live near the river said that they had waited a long time for the town to act."
MENU = ["Politics", "COLD WAR 2.0", "Politics", "Business", ";"]


def doc(*lines: str) -> str:
    return "".join(x + "\n" for x in lines)


@pytest.mark.parametrize("classifier", [True, False])
def test_a_repeat_inside_a_block_look_ahead_is_skipped(classifier: bool) -> None:
    # the menu starts at "Politics" and needs four more entries; the pasted
    # copy of P between them must not end the look-ahead
    text = doc(P, "Politics", P, *MENU[1:])
    c = Cleaner(Config(classifier=classifier))
    ex = c.explain_text(text, doc_id="d")
    assert ex.text == doc(P)
    assert c.clean_text(ex.text) == ex.text
    why = {d.line: (d.rule, d.first) for d in ex.decisions}
    assert why[3] == ("dedup.repeat", ("d", 1))
    assert {why[n][0] for n in (2, 4, 5, 6, 7)} == {"navigation.section-menu-run"}


def test_a_repeat_inside_a_running_block_does_not_end_it() -> None:
    text = doc(P, "Politics", "Business", "Sports", "World", "Science", P, "Health", "Travel", Q)
    c = Cleaner(Config(classifier=False))
    out = c.clean_text(text)
    assert out == doc(P, Q)
    assert c.clean_text(out) == out


def test_with_dedup_off_a_repeat_is_a_line_like_any_other() -> None:
    text = doc(P, "Politics", P, *MENU[1:])
    c = Cleaner(Config(dedup="off", classifier=False))
    out = c.clean_text(text)
    assert out == text  # the copy of P ends the look-ahead, and is kept
    assert c.clean_text(out) == out
    assert Cleaner(Config(dedup="off", classifier=False, skip_repeats=True)).clean_text(text) == doc(P, P)


def test_a_repeat_of_a_line_the_rules_removed_is_not_skipped() -> None:
    # only lines the rules kept count as first copies: the copy of a removed
    # credit line is judged as any line (the rule removes it, and it ends the
    # look-ahead: the menu entries stay)
    credit = "Photo by John Smith for The New York Times via Getty Images"
    text = doc(P, credit, "Politics", credit, *MENU[1:], Q)
    ex = Cleaner(Config(classifier=False)).explain_text(text, doc_id="d")
    assert ex.text == doc(P, "Politics", *MENU[1:], Q)
    assert [d.rule for d in ex.decisions] == ["captions.credit-line"] * 2


def test_two_processes_skip_the_same_repeats(tmp_path: Path) -> None:
    # -j 2 with cross-file duplicates runs the rules in workers without
    # duplicate removal and the duplicates after: the workers skip the same lines
    (tmp_path / "a.txt").write_text(doc(Q, P))
    (tmp_path / "b.txt").write_text(doc(P, "Politics", P, *MENU[1:], Q, "Politics", Q, *MENU[1:]))
    runs = {}
    for j in ("1", "2"):
        r = run_clean(["-j", j, "--no-classifier", "--dedup", "stream", "--explain", f"e{j}.jsonl",
                       "a.txt", "b.txt"], None, cwd=tmp_path)
        assert r.returncode == 0, r.stderr
        runs[j] = r.stdout, (tmp_path / f"e{j}.jsonl").read_bytes()
    assert runs["1"] == runs["2"]
    assert runs["1"][0] == doc(Q, P).encode()
    rules = {(d["doc"], d["line"]): d["rule"] for d in parse_jsonl(runs["1"][1])}
    assert rules[("b.txt", 3)] == rules[("b.txt", 1)] == "dedup.repeat"
    assert rules[("b.txt", 10)] == "dedup.repeat" and rules[("b.txt", 12)] == "navigation.section-menu-run"


def test_lines_a_block_look_ahead_drops_are_never_first_copies() -> None:
    # the menu's look-ahead holds a repeat of P (skipped) and two entries; when
    # the block is confirmed the repeat is judged, and the duplicate stage must
    # judge it alone: the held entries are dropped, so the entry seen again
    # after the block is a first copy, kept
    from cleaner.rules import load_rules_text
    rules = load_rules_text(
        'version = 1\n[categories]\nmenus = "test"\n[[rule]]\nid = "menus.long-menu"\ncategory = "menus"\n'
        'action = "drop_block"\ndescription = "a menu of long entries"\npattern = \'\'\'^MENU$\'\'\'\n'
        'max_lines = 20\nmin_lines = 2\n[rule.continue_while]\npredicate = "short_headline"\nmax_words = 8\n'
        '[rule.examples]\ndrop = ["MENU"]\nkeep = ["The menu"]\n')
    entry = "Markets Rally As Rates Fall Again Today"
    text = doc(P, "MENU", P, entry, "Storm Season Ends Early In The South", Q, entry)
    for dedup in ("doc", "stream"):
        c = Cleaner(Config(classifier=False, default_rules=False, dedup=dedup), ruleset=rules)  # type: ignore[arg-type]
        ex = c.explain_text(text, doc_id="d")
        assert ex.text == doc(P, Q, entry), dedup
        assert [d.rule for d in ex.decisions] == ["menus.long-menu", "dedup.repeat", "menus.long-menu",
                                                  "menus.long-menu"], dedup
