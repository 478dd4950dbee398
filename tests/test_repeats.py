"""Short repeats in the context classifier: a short line identical to the
line kept right above it, and the short lines left over from a copied block
whose paragraphs the duplicate index removed (``cleaner/context.py``,
comment above ``REPEAT_MAX_CHARS``)."""

from __future__ import annotations

from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st

from cleaner import Cleaner, Config
from cleaner.context import (
    DEDUP_RULE,
    NEIGHBOR_MAX,
    REPEAT_ABOVE,
    REPEAT_BLOCK,
    REPEAT_BLOCK_SPAN,
    ContextClassifier,
    ContextParams,
)

P = [
    "The city council voted on Tuesday evening to approve a new riverside park, ending a debate that has "
    "divided the town for almost a decade.",
    "The plan turns the old freight yard along the river into eleven acres of meadow, walking paths and a "
    "small harbour for rowing boats.",
    "Supporters said that the park would give the crowded east side of the town its first large green space, "
    "and that it would help to protect the houses near the river from floods.",
    "Opponents argued that the money should have been spent on the schools and the roads, and several of them "
    "said that they did not trust the estimates for the cost of cleaning up the soil.",
    "The mayor said after the vote that she was grateful to the residents who had come to the meetings and "
    "that the work would begin in the spring.",
    "Construction is expected to take about three years, and the first part of the park could open to the "
    "public as early as next summer, the city's planners said on Wednesday.",
]
CARD_BLURB = ("This comfortable pair stays in place and sounds great, and the voice control works with any phone, "
              "but the battery life is short.")


def verdicts(lines: list[str], fixed: list[str | None] | None = None, **params: object) -> list:
    clf = ContextClassifier(ContextParams(**params))  # type: ignore[arg-type]
    return clf.classify(lines, fixed or [None] * len(lines))


def reasons(lines: list[str], fixed: list[str | None] | None = None, **params: object) -> dict[int, str]:
    return {v.line: v.reason for v in verdicts(lines, fixed, **params) if not v.keep}


def test_span_fits_the_decided_lines_kept_above_the_window() -> None:
    # the block test looks REPEAT_BLOCK_SPAN lines up, into the decided lines
    assert REPEAT_BLOCK_SPAN <= NEIGHBOR_MAX


def test_a_heading_repeated_right_below_itself_loses_its_copy() -> None:
    lines = [P[0], P[1], "Polestar 4", "Polestar 4", P[2], P[3], "Kia EV6", "", "Kia EV6", P[4], P[5]]
    vs = verdicts(lines)
    assert [v.line for v in vs if not v.keep] == [3, 8]
    assert vs[3].reason == vs[8].reason == REPEAT_ABOVE
    assert vs[2].keep and vs[6].keep  # the first copy stays
    assert vs[3].explain()["class"] == "short"


def test_the_line_above_is_the_line_kept_above() -> None:
    # a line a rule removed between the copies does not separate them
    lines = [P[0], P[1], "Polestar 4", "Advertisement", "Polestar 4", P[2], P[3]]
    assert reasons(lines, [None, None, None, "ads.label", None, None, None]) == {
        3: "ads.label", 4: REPEAT_ABOVE}
    # other kept text between them does
    lines = [P[0], P[1], "Polestar 4", "Electric cars", "Polestar 4", P[2], P[3]]
    assert reasons(lines) == {}


def test_a_repeat_above_needs_its_first_copy_kept() -> None:
    # the first copy was removed (here by a rule): the second one stays, or
    # the text would be lost
    lines = [P[0], P[1], "Polestar 4", "Polestar 4", P[2], P[3]]
    assert reasons(lines, [None, None, "navigation.test", None, None, None]) == {2: "navigation.test"}


def test_repeated_prose_and_list_items_are_not_short_repeats() -> None:
    # long lines are the duplicate index's business; list items repeat in lists
    lines = [P[0], P[0], P[1], "- Yes", "- Yes", P[2]]
    assert reasons(lines) == {}


def test_short_lines_left_over_from_a_copied_block_go() -> None:
    card = ["Top pick", "Sony LinkBuds Fit", CARD_BLURB, "$228 from Amazon"]
    lines = [P[0], *card, P[1], P[2], P[3], *card, P[4], P[5]]
    fixed: list[str | None] = [None] * len(lines)
    copy = lines.index(CARD_BLURB, 4)
    fixed[copy] = DEDUP_RULE  # what the duplicate index does with the copied paragraph
    got = reasons(lines, fixed)
    assert got == {copy - 2: REPEAT_BLOCK, copy - 1: REPEAT_BLOCK, copy: DEDUP_RULE, copy + 1: REPEAT_BLOCK}
    # the first card stays whole
    assert not any(i < copy - 2 for i in got)


def test_a_template_is_not_a_copied_block() -> None:
    # entries sharing labels and short items, with only a short line removed
    # as a repeat: a list of entries, not a copy
    entry = ["Pros", "Efficient service", "Polite and careful staff here", "Cons"]
    lines = [P[0], *entry, P[1], P[2], *entry, P[3], P[4]]
    fixed: list[str | None] = [None] * len(lines)
    fixed[lines.index(entry[2], 6)] = DEDUP_RULE
    assert set(reasons(lines, fixed).values()) == {DEDUP_RULE}


def test_a_copied_block_is_found_only_within_its_span() -> None:
    far = ["Top pick", *(f"Label {i}" for i in range(REPEAT_BLOCK_SPAN + 2))]
    lines = [P[0], *far, CARD_BLURB, P[1], P[2], *far, CARD_BLURB, P[3], P[4]]
    fixed: list[str | None] = [None] * len(lines)
    fixed[len(lines) - 3] = DEDUP_RULE
    got = reasons(lines, fixed)
    top = len(far) + 4  # the second "Top pick"
    assert top not in got  # more than REPEAT_BLOCK_SPAN lines above the removed paragraph
    assert got.get(len(lines) - 4) == REPEAT_BLOCK  # the label right above it


def test_switched_off_nothing_changes() -> None:
    lines = [P[0], P[1], "Polestar 4", "Polestar 4", P[2], P[3]]
    assert reasons(lines, use_repeats=False) == {}


def test_engine_drops_the_copy_with_duplicates_on_and_keeps_it_with_dedup_off() -> None:
    text = "\n".join([P[0], P[1], "Polestar 4", "Polestar 4", P[2], P[3]]) + "\n"
    decisions: list = []
    out = Cleaner().clean_text(text, sink=decisions.append)
    assert out.count("Polestar 4\n") == 1
    assert [(d.line, d.rule, d.category) for d in decisions] == [(4, REPEAT_ABOVE, "classifier")]
    assert decisions[0].features["class"] == "short"
    assert Cleaner(Config(dedup="off")).clean_text(text).count("Polestar 4\n") == 2


SHORT = st.sampled_from(["Top pick", "Polestar 4", "Kia EV6", "Pros", "$35 from Amazon", "- Yes", ""])
LINE = st.one_of(SHORT, st.sampled_from(P), st.just(CARD_BLURB))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(LINE, st.booleans()), max_size=160), st.sampled_from([16, 64, None]))
def test_output_has_no_short_line_twice_in_a_row_and_loses_no_text(rows, window) -> None:
    lines = [t for t, _ in rows]
    # lines marked True that repeat an earlier paragraph play the duplicate index
    seen: set[str] = set()
    fixed: list[str | None] = []
    for t, dup in rows:
        fixed.append(DEDUP_RULE if dup and len(t) > 40 and t in seen else None)
        seen.add(t)
    vs = verdicts(lines, fixed, window=window)
    kept = [lines[v.line].strip() for v in vs if v.keep and lines[v.line].strip()]
    for a, b in pairwise(kept):
        assert not (a == b and len(a.split()) < 5 and not a.startswith("- ")), (a, kept)
    # a line dropped as a copy of the line above left that line's text in the output
    for v in vs:
        if v.reason == REPEAT_ABOVE:
            assert lines[v.line].strip() in kept
        if v.reason in (REPEAT_ABOVE, REPEAT_BLOCK):
            assert len(lines[v.line].split()) < 5 and fixed[v.line] is None
