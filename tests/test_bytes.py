"""Documents, blank lines, bytes, and in-document repeats."""

from __future__ import annotations

import pytest
from conftest import ARTICLE, DROP_LINE, JUNK, invoke_clean, run_clean, run_main
from hypothesis import given, settings
from hypothesis import strategies as st

from cleaner import Cleaner, Config, stream

A, B, C, D = (s.encode() for s in ARTICLE[:4])
BAD = b"Good sentence with a bad byte \xff in it, long enough to be kept.\n"


def stdin_clean(data: bytes, *args: str) -> bytes:
    """The CLI (``cleaner.cli.main``, in-process) on stdin."""
    r = run_main(list(args), data)
    assert r.returncode == 0, r.stderr.decode()
    return r.stdout


def test_bytes_through_a_real_process() -> None:
    """Form feeds, CRLF, NBSP, invalid UTF-8 and a last line without newline,
    through a real pipe into the real process."""
    nbsp = "The minister arrived in\u00a0Ottawa on Monday for two days of talks with officials.".encode()
    data = (b"\n" + A + b"\r\n" + DROP_LINE.encode() + b"\r\n\r\n" + BAD + b"\f\n"
            + A + b"\n" + nbsp + b"\n" + JUNK.encode() + b"\n" + B + b"\n\f\n" + C)
    expected = A + b"\r\n\r\n" + BAD + b"\f\n" + A + b"\n" + nbsp + b"\n\f\n" + C
    r = run_clean([], data)
    assert r.returncode == 0, r.stderr.decode()
    assert r.stderr == b""
    assert r.stdout == expected
    assert stdin_clean(data) == expected


# -- documents on stdin -----------------------------------------------------------


def test_form_feed_line_separates_documents_and_is_kept() -> None:
    data = A + b"\n" + B + b"\n\f\n" + C + b"\n"
    assert stdin_clean(data) == data


def test_dedup_does_not_cross_form_feed() -> None:
    data = A + b"\n" + B + b"\n\f\n" + A + b"\n" + B + b"\n"
    assert stdin_clean(data) == data


def test_dedup_within_each_document_still_works() -> None:
    data = A + b"\n\f\n" + B + b"\n" + B + b"\n"
    assert stdin_clean(data) == A + b"\n\f\n" + B + b"\n"


def test_truncation_does_not_cross_form_feed() -> None:
    data = A + b"\n" + JUNK.encode() + b"\nName *\nEmail *\n\f\n" + B + b"\n" + C + b"\n"
    assert stdin_clean(data) == A + b"\n\f\n" + B + b"\n" + C + b"\n"


def test_truncation_across_documents_explained_per_document() -> None:
    data = A + b"\n" + JUNK.encode() + b"\n\f\n" + JUNK.encode() + b"\n" + B + b"\n"
    r = run_clean(["--explain", "-"], data)
    assert r.stdout == A + b"\n\f\n"
    assert b"<stdin>#2" in r.stderr


def test_blank_lines_around_form_feed_dropped() -> None:
    data = b"\n" + A + b"\n\n\n\f\n\n\n" + B + b"\n\n"
    assert stdin_clean(data) == A + b"\n\f\n" + B + b"\n"


def test_form_feed_in_library_text_is_one_document() -> None:
    """The library cleans one document per call: a form-feed line does not
    split it, so a repeat after it is still a repeat."""
    text = ARTICLE[0] + "\n\f\n" + ARTICLE[0] + "\n"
    assert Cleaner().clean_text(text).count(ARTICLE[0]) == 1


def test_split_docs_stream() -> None:
    s = Cleaner().stream("x", split_docs=True)
    data = A + b"\n\f\n" + A + b"\n"
    assert s.feed(data) + s.close() == data


# -- blank lines ------------------------------------------------------------------


@pytest.mark.parametrize("eol", [b"\n", b"\r\n"], ids=["lf", "crlf"])
def test_blank_runs_left_by_removals_collapse_to_one(eol: bytes) -> None:
    data = eol.join([A, b"", b"", DROP_LINE.encode(), b"", b"", DROP_LINE.encode(), b"", B, b""])
    expected = eol.join([A, b"", B, b""])
    assert Cleaner().clean_bytes(data) == expected
    assert stdin_clean(data) == expected


def test_no_leading_blank_lines() -> None:
    data = b"\n\n" + DROP_LINE.encode() + b"\n\n" + A + b"\n"
    assert Cleaner().clean_bytes(data) == A + b"\n"
    assert Cleaner().clean_bytes(b"\n \n\t\n" + A + b"\n") == A + b"\n"


def test_no_trailing_blank_lines() -> None:
    data = A + b"\n\n" + DROP_LINE.encode() + b"\n\n\n"
    assert Cleaner().clean_bytes(data) == A + b"\n"
    assert Cleaner().clean_bytes(A + b"\n\n\n") == A + b"\n"


def test_only_blank_or_junk_gives_empty_output() -> None:
    assert Cleaner().clean_bytes(b"\n\n\n") == b""
    assert Cleaner().clean_bytes(DROP_LINE.encode() + b"\n\n") == b""
    assert stdin_clean(b"") == b""


def test_empty_input_holds_no_line() -> None:
    # not one empty line that is then removed: nothing to explain, nothing counted
    c = Cleaner()
    decisions: list[object] = []
    assert c.clean_bytes(b"", sink=decisions.append) == b""
    assert decisions == []
    assert (c.stats.lines_in, c.stats.lines_out, c.stats.docs) == (0, 0, 1)


def test_blank_lines_between_kept_lines_stay() -> None:
    data = A + b"\n\n" + B + b"\n"
    assert Cleaner().clean_bytes(data) == data


def test_blank_lines_explained() -> None:
    data = A + b"\n\n" + DROP_LINE.encode() + b"\n\n" + B + b"\n"
    ex = Cleaner().explain_text(data.decode())
    assert ex.text == (A + b"\n\n" + B + b"\n").decode()
    assert sorted(d.line for d in ex.decisions) == [3, 4]


# -- bytes ------------------------------------------------------------------------


def test_crlf_stays_crlf() -> None:
    data = A + b"\r\n" + DROP_LINE.encode() + b"\r\n" + B + b"\r\n"
    out = Cleaner().clean_bytes(data)
    assert out == A + b"\r\n" + B + b"\r\n"
    assert stdin_clean(data) == out


def test_mixed_line_endings_kept_per_line() -> None:
    data = A + b"\r\n" + B + b"\n" + C + b"\r\n"
    assert Cleaner().clean_bytes(data) == data


def test_crlf_junk_still_matches_rules() -> None:
    data = A + b"\r\n" + JUNK.encode() + b"\r\nName *\r\n"
    assert Cleaner().clean_bytes(data) == A + b"\r\n"


def test_nbsp_stays() -> None:
    line = "The minister arrived in\u00a0Ottawa on Monday for two days of talks with officials.\n".encode()
    data = line + DROP_LINE.encode() + b"\n" + B + b"\n"
    assert Cleaner().clean_bytes(data) == line + B + b"\n"
    assert stdin_clean(data) == line + B + b"\n"


def test_last_line_without_newline_stays_so() -> None:
    data = A + b"\n" + B
    assert Cleaner().clean_bytes(data) == data
    assert stdin_clean(data) == data
    r = invoke_clean([], data)
    assert r.stdout_bytes == data


def test_removed_last_line_leaves_newline_of_kept_line() -> None:
    data = A + b"\n" + DROP_LINE.encode()
    assert Cleaner().clean_bytes(data) == A + b"\n"


def test_invalid_utf8_passes_through() -> None:
    data = A + b"\n" + BAD + DROP_LINE.encode() + b"\n" + B + b"\n"
    expected = A + b"\n" + BAD + B + b"\n"
    assert Cleaner().clean_bytes(data) == expected
    assert stdin_clean(data) == expected


def test_invalid_utf8_line_alone() -> None:
    assert Cleaner().clean_bytes(BAD) == BAD
    assert stdin_clean(BAD) == BAD
    latin1 = "Le ministre a présenté son budget devant les députés mardi soir.\n".encode("latin-1")
    assert Cleaner().clean_bytes(latin1) == latin1


def test_invalid_utf8_in_text_api_round_trips() -> None:
    text = BAD.decode("utf-8", "surrogateescape")
    assert Cleaner().clean_text(text) == text


def test_utf8_bom_and_other_unicode_kept() -> None:
    data = ("\ufeffΗ κυβέρνηση ανακοίνωσε νέα μέτρα για την οικονομία την Τρίτη.\n"
            "日本政府は火曜日に新しい経済対策を発表した。\n").encode()
    assert Cleaner().clean_bytes(data) == data


# -- in-document repeats ----------------------------------------------------------

S = "The committee approved the new budget after a long debate on Tuesday."


@pytest.mark.parametrize("repeat", [
    S,
    S.upper(),
    S.lower(),
    "The  committee approved\tthe new budget after a long debate on Tuesday.",
    "  The committee approved the new budget after a long debate on Tuesday.  ",
    "The committee approved the new budget, after a long debate on Tuesday!",
    "The committee approved the new budget after a long debate on Tuesday",
    "The committee approved the new\u00a0budget after a long debate on Tuesday.",
], ids=["same", "upper", "lower", "spaces-tab", "padding", "punct", "no-period", "nbsp"])
def test_repeat_removed_after_folding(repeat: str) -> None:
    text = f"{S}\n{ARTICLE[1]}\n{repeat}\n{ARTICLE[2]}\n"
    ex = Cleaner().explain_text(text)
    assert ex.text == f"{S}\n{ARTICLE[1]}\n{ARTICLE[2]}\n"
    (d,) = ex.decisions
    assert (d.line, d.rule, d.action, d.first) == (3, "dedup.repeat", "drop_line", ("text", 1))


@pytest.mark.parametrize(("first", "second"), [
    ("He said \u201cthe plan will work out fine in the end\u201d today.",
     'He said "the plan will work out fine in the end" today.'),
    ("The party\u2019s leader didn\u2019t attend the meeting on Monday.",
     "The party's leader didn't attend the meeting on Monday."),
    ("The minister \u2014 who spoke briefly \u2014 left before the vote.",
     "The minister - who spoke briefly - left before the vote."),
], ids=["double-quotes", "apostrophes", "dashes"])
def test_repeat_folds_quote_and_dash_styles(first: str, second: str) -> None:
    for a, b in ((first, second), (second, first)):
        out = Cleaner().clean_text(f"{a}\n{ARTICLE[3]}\n{b}\n")
        assert out == f"{a}\n{ARTICLE[3]}\n", (a, b)


def test_first_copy_stays_and_all_later_copies_go() -> None:
    text = f"{ARTICLE[0]}\n{S.upper()}\n{ARTICLE[1]}\n{S}\n{S.lower()}\n{ARTICLE[2]}\n"
    assert Cleaner().clean_text(text) == f"{ARTICLE[0]}\n{S.upper()}\n{ARTICLE[1]}\n{ARTICLE[2]}\n"
    # a blank line between removed copies stays as the one separator
    text = f"{ARTICLE[0]}\n{S}\n{ARTICLE[1]}\n{S}\n\n{S}\n{ARTICLE[2]}\n"
    assert Cleaner().clean_text(text) == f"{ARTICLE[0]}\n{S}\n{ARTICLE[1]}\n\n{ARTICLE[2]}\n"


@pytest.mark.parametrize("line", ["He said no.", "One two three four", "It was late.", "Yes, he said, again."])
def test_short_lines_not_removed_for_repeating(line: str) -> None:
    text = f"{line}\n{ARTICLE[0]}\n{line}\n{ARTICLE[1]}\n{line}\n"
    assert Cleaner().clean_text(text) == text


def test_five_words_is_enough() -> None:
    # the duplicate stage alone: with the classifier, a line repeated two lines
    # below itself is an echo (a link and its title) and both copies go
    five = "One two three four five."
    rules_and_dedup = Cleaner(Config(classifier=False))
    assert rules_and_dedup.clean_text(f"{five}\n{ARTICLE[0]}\n{five}\n") == f"{five}\n{ARTICLE[0]}\n"


def test_different_lines_not_folded_together() -> None:
    a = "The committee approved the new budget after a long debate on Tuesday."
    b = "The committee approved the plan to close two libraries in the northern district next year."
    text = f"{a}\n{b}\n"
    assert Cleaner().clean_text(text) == text


def test_dedup_options() -> None:
    # the duplicate stage alone: a four-line document has no article for the
    # classifier to find (it would drop the three-word lines)
    text = f"{S}\n{S}\nOne two three\nOne two three\n"
    assert Cleaner(Config(dedup="off", classifier=False)).clean_text(text) == text
    assert Cleaner(Config(dedup_min_words=3, classifier=False)).clean_text(text) == f"{S}\nOne two three\n"
    assert stdin_clean(text.encode(), "--dedup", "off", "--no-classifier") == text.encode()
    assert stdin_clean(text.encode(), "--dedup-min-words", "3", "--no-classifier") == f"{S}\nOne two three\n".encode()


def test_dedup_removal_collapses_blank_lines() -> None:
    text = f"{S}\n\n{ARTICLE[0]}\n\n{S}\n\n{ARTICLE[1]}\n"
    assert Cleaner().clean_text(text) == f"{S}\n\n{ARTICLE[0]}\n\n{ARTICLE[1]}\n"


def test_repeat_with_crlf_and_invalid_bytes() -> None:
    data = BAD + A + b"\r\n" + BAD.rstrip(b"\n") + b"\r\n" + A + b"\n"
    assert Cleaner().clean_bytes(data) == BAD + A + b"\r\n"


# -- the C line splitter ------------------------------------------------------------

_SPLIT_PIECES = [b"a", b"word ", b"\n", b"\f\n", b"\r", b"\r\n", b"\f", b"\xc3\xa9", b"\xe2\x80\x94", b"\xf0\x9f\x98\x80",
                 b"\xff", b"\xc3", b"\xed\xa0\x80", b"\x00", b"\xe2\x80\xa8", b"\x0b", b"\x1c", b"\x85"]


@given(st.lists(st.sampled_from(_SPLIT_PIECES), max_size=40))
@settings(max_examples=500, deadline=None)
def test_c_split_lines_equals_the_python_split(pieces: list[bytes]) -> None:
    """``_speedups.split_lines`` gives ``stream.split_lines``' lines and form
    feeds, or None
    exactly when the chunk is empty, holds a CR or is not valid UTF-8."""
    if stream._c_split_lines is None:
        pytest.skip("C extension not built")
    data = b"".join(pieces)
    raws, texts, feeds, buf = stream.split_lines(data) if data else ([], [], [], data)
    got = stream._c_split_lines(data)
    simple = bool(data) and b"\r" not in data and buf == data
    if data:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            simple = False
    assert (got is not None) == simple
    if got is not None:
        assert got == (raws, texts, feeds)
        assert b"".join(got[0]) == data
