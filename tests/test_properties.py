"""Properties over generated documents: idempotence, kept lines are input
lines in order, chunking does not matter, nothing crashes."""

from __future__ import annotations

from functools import cache

from conftest import (
    CORPUS,
    assert_chunking_invariant,
    invoke_clean,
    output_explained,
    run_clean,
    sample_names,
    sample_paths,
    split_lines,
)
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from cleaner import Cleaner, Config

SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _corpus_lines() -> tuple[list[bytes], list[bytes]]:
    article: set[bytes] = set()
    junk: set[bytes] = set()
    for name in sample_names():
        src, expected = sample_paths(name)
        kept = {line.rstrip(b"\r\n") for line in split_lines(expected.read_bytes())}
        article |= kept
        junk |= {line.rstrip(b"\r\n") for line in split_lines(src.read_bytes())} - kept
    article.discard(b"")
    junk.discard(b"")
    return sorted(article), sorted(junk)


ARTICLE_LINES, JUNK_LINES = _corpus_lines()
assert ARTICLE_LINES and JUNK_LINES, f"no corpus lines found in {CORPUS}"


@cache
def cleaner() -> Cleaner:
    return Cleaner()


@cache
def cleaner_without_prefilter() -> Cleaner:
    return Cleaner(Config(use_hyperscan=False))


text_line = st.text(st.characters(exclude_characters="\n", exclude_categories=["Cs"]), max_size=80).map(
    lambda s: s.encode("utf-8"))
byte_line = st.binary(max_size=40).map(lambda b: b.replace(b"\n", b" "))
line = st.one_of(
    st.sampled_from(ARTICLE_LINES),
    st.sampled_from(ARTICLE_LINES),
    st.sampled_from(JUNK_LINES),
    st.sampled_from(JUNK_LINES),
    text_line,
    st.sampled_from([b"", b"", b" ", b"\t", b"\f", b"\xc2\xa0"]),
    byte_line,
)
MUTATIONS = [str.upper, str.lower, str.title, lambda t: " " + t, lambda t: t + " ",
             lambda t: t.replace("e", "\u00e9"), lambda t: t.replace(" ", "\u00a0"), lambda t: "\u00c9" + t]
mutated_junk = st.tuples(st.sampled_from(JUNK_LINES), st.sampled_from(MUTATIONS)).map(
    lambda jm: jm[1](jm[0].decode("utf-8", "surrogateescape")).encode("utf-8", "surrogateescape"))
ending = st.sampled_from([b"\n", b"\n", b"\n", b"\r\n"])


@st.composite
def documents(draw: st.DrawFn) -> bytes:
    lines = draw(st.lists(st.tuples(line, ending), max_size=40))
    data = b"".join(text + end for text, end in lines)
    if lines and draw(st.booleans()):
        data = data.rstrip(b"\r\n")  # last line without newline
    return data


def _with_form_feeds(data: bytes, positions: list[int]) -> bytes:
    lines = split_lines(data)
    for p in sorted(positions, reverse=True):
        if p <= len(lines) and (p == 0 or lines[p - 1].endswith(b"\n")):
            lines.insert(p, b"\f\n")
    return b"".join(lines)


def _is_blank(raw: bytes) -> bool:
    text = raw.decode("utf-8", "surrogateescape").rstrip("\n")
    return not text or text.isspace()


@SETTINGS
@given(documents())
def test_idempotent(data: bytes) -> None:
    once = cleaner().clean_bytes(data)
    assert cleaner().clean_bytes(once) == once


@SETTINGS
@given(documents(), st.lists(st.integers(0, 40), max_size=3))
def test_idempotent_with_documents(data: bytes, ff: list[int]) -> None:
    data = _with_form_feeds(data, ff)

    def run(b: bytes) -> bytes:
        s = cleaner().stream("stdin", split_docs=True)
        return s.feed(b) + s.close()

    once = run(data)
    assert run(once) == once


@SETTINGS
@given(documents())
def test_output_is_input_minus_explained_lines(data: bytes) -> None:
    decisions: list = []
    out = cleaner().clean_bytes(data, sink=decisions.append)
    assert output_explained(out, data, decisions)
    assert len({d.line for d in decisions if d.action != "strip"}) == len(
        [d for d in decisions if d.action != "strip"]), "a line was removed twice"
    if not any(d.action == "strip" for d in decisions):
        # every output line is an input line, in input order
        it = iter(split_lines(data))
        for out_line in split_lines(out):
            assert any(out_line == in_line for in_line in it), out_line


@SETTINGS
@given(documents())
def test_no_leading_trailing_blanks_and_no_kept_repeats(data: bytes) -> None:
    out = cleaner().clean_bytes(data)
    lines = split_lines(out)
    if lines:
        assert not _is_blank(lines[0])
        assert not _is_blank(lines[-1])
    long_lines = [ln.rstrip(b"\r\n") for ln in lines if len(ln.split()) >= 5]
    assert len(long_lines) == len(set(long_lines)), "a repeated line was kept"


@SETTINGS
@given(documents(), st.data())
def test_chunking_does_not_change_output(data: bytes, draw: st.DataObject) -> None:
    got, split_docs = assert_chunking_invariant(cleaner, data, draw)
    if not split_docs:
        assert got == cleaner().clean_bytes(data, doc_id="doc")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.one_of(line, mutated_junk, mutated_junk), ending), max_size=25))
@example([(b"Officials said the plan would work.", b"\n"),
          (b" In this pool photograph distributed by Sputnik.", b"\n")])
def test_prefilter_does_not_change_output(lines: list[tuple[bytes, bytes]]) -> None:
    """The prefilter only saves time: with or without it the output is the same."""
    data = b"".join(text + end for text, end in lines)
    assert cleaner().clean_bytes(data) == cleaner_without_prefilter().clean_bytes(data)


@SETTINGS
@given(st.text())
def test_any_text_is_cleaned_without_error(text: str) -> None:
    out = cleaner().clean_text(text)
    assert isinstance(out, str)
    assert cleaner().clean_text(out) == out


@SETTINGS
@given(st.lists(line, max_size=20))
def test_clean_lines_matches_clean_bytes(lines: list[bytes]) -> None:
    text_lines = [ln.decode("utf-8", "surrogateescape") + "\n" for ln in lines]
    got = "".join(cleaner().clean_lines(text_lines))
    data = b"".join(ln + b"\n" for ln in lines)
    assert got.encode("utf-8", "surrogateescape") == cleaner().clean_bytes(data, doc_id="lines")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.binary(max_size=400), documents()))
def test_cli_never_crashes_on_bytes(data: bytes) -> None:
    r = invoke_clean([], data)
    assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)
    assert r.exit_code == 0, r.output
    assert "Traceback" not in r.stderr
    s = cleaner().stream("<stdin>", split_docs=True)
    assert r.stdout_bytes == s.feed(data) + s.close()


@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(min_size=1, max_size=300))
def test_real_cli_process_never_crashes_on_bytes(data: bytes) -> None:
    r = run_clean(["--explain", "-", "--stats"], data, timeout=60)
    assert r.returncode == 0
    assert b"Traceback" not in r.stderr


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab \t\n\u2003\u00a0é")), max_size=80), st.integers(1, 9))
def test_word_count_in_pieces_equals_split(text: str, piece: int) -> None:
    import cleaner.classify as classify
    old = classify.WORD_COUNT_PIECE
    classify.WORD_COUNT_PIECE = piece  # pieces far shorter than the text: many cut words
    try:
        assert classify.word_count(text) == len(text.split())
    finally:
        classify.WORD_COUNT_PIECE = old
