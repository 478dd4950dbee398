"""The prefilter may report too many rules, never too few: every line a rule's
regex matches must be reported for that rule, whatever Unicode is around."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cleaner import Cleaner, Config
from cleaner.prefilter import Prefilter, Unwidenable, canonical, widen

ENGINE = Cleaner(Config(dedup="off")).engine
RULES = ENGINE.ruleset
EXAMPLES = sorted({ex for r in RULES.rules for ex in (*r.drop_examples, *r.keep_examples)})
NOISE = st.sampled_from([" ", "\xa0", "\u2009", "\u3000", "\t", "É", "é", "’", "—", "1", "A", "a", ".", ""])


@st.composite
def mutated(draw: st.DrawFn) -> str:
    text = draw(st.sampled_from(EXAMPLES))
    for _ in range(draw(st.integers(0, 3))):
        pos = draw(st.integers(0, len(text)))
        text = text[:pos] + draw(NOISE) + text[pos:]
    if draw(st.booleans()):
        text = text.replace(" ", draw(st.sampled_from(["\xa0", "\u2002", "  ", " "])))
    return text


def reported(lines: list[str]) -> dict[int, set[int]]:
    hits = ENGINE.candidates("\n".join(lines).encode("utf-8"))
    return {i: set(hits.get(i, ())) | set(ENGINE.always) for i in range(len(lines))}


@settings(max_examples=400, deadline=None)
@given(st.lists(mutated(), min_size=1, max_size=5))
def test_every_regex_match_is_reported(lines: list[str]) -> None:
    got = reported(lines)
    for i, line in enumerate(lines):
        for idx, rule in enumerate(RULES.rules):
            if any(p.search(line) for p in rule.compiled):
                assert idx in got[i], (rule.id, line, widen(rule.patterns[0]))


def test_all_default_patterns_go_through_hyperscan() -> None:
    pytest.importorskip("hyperscan")
    assert ENGINE.prefilter.uses_hyperscan
    assert ENGINE.always == (), [RULES.rules[i].id for i in ENGINE.always]


def test_canonical_keeps_line_breaks_and_maps_unicode_spaces() -> None:
    buf = "a\xa0b\n\u3000c\u2009\n".encode()
    assert canonical(buf) == b"a b\n c \n"


@pytest.mark.parametrize("pattern", ["[^ ]x", "[^\\x20]", "[^\xa0]", "[^\\xa0]"])
def test_negated_classes_excluding_spaces_are_not_widened(pattern: str) -> None:
    with pytest.raises(Unwidenable):
        widen(pattern)


def test_unwidenable_rule_is_checked_on_every_line() -> None:
    pf = Prefilter([(0, "[^ ]{3}x"), (1, "hello")], 2)
    assert pf.always == (0,)


def test_excluding_line_breaks_is_fine() -> None:
    assert widen("[^\\n]{0,20}x") == "[^\\n]*x"
