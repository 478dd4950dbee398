"""The optional C extension (cleaner/_speedups.c) against the Python reference
(cleaner/dedup.py, cleaner/context.py): XXH3-64, the per-paragraph fingerprints,
the classifier's pass 1, and the whole CLI.

Tests of the extension skip when it is not built (an install without a
compiler, or a plain ``pip install .`` while the tests use the checkout), except
``test_extension_is_built_where_required``: with CLEANER_REQUIRE_SPEEDUPS=1 (set
by .ci/run) a missing extension fails.
"""

from __future__ import annotations

import contextlib
import math
import os
import random
import re
import struct
import subprocess
import sys
import unicodedata
from array import array
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from fractions import Fraction
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import xxhash
from conftest import CLEAN, CORPUS, ROOT, c_in_use, clean_env
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from cleaner import context, dedup, index, matcher, prefilter

SPEEDUPS = dedup.load_speedups()
needs_c = pytest.mark.skipif(SPEEDUPS is None, reason="cleaner._speedups is not built")
BENCH = Path("/work/shared/bench")
SPECIAL = "’“”‘—–\xa0…"  # dedup._COMMON_PUNCT


def c_mod() -> ModuleType:
    assert SPEEDUPS is not None
    return SPEEDUPS


def key_table(key_bytes: int, items: dict[int, int] | None = None) -> Any:
    """A _speedups.KeyTable holding items, in their order."""
    table = c_mod().KeyTable(key_bytes)
    for k, p in (items or {}).items():
        table[k] = p
    return table


def test_extension_is_built_where_required() -> None:
    if os.environ.get("CLEANER_REQUIRE_SPEEDUPS") != "1":
        pytest.skip("CLEANER_REQUIRE_SPEEDUPS is not 1")
    assert SPEEDUPS is not None, "cleaner._speedups did not build (setup.py marks it optional)"
    assert dedup._c_near is not None or os.environ.get("CLEANER_SPEEDUPS") == "0"


@needs_c
def test_cli_uses_the_extension_unless_disabled() -> None:
    code = ("import cleaner.dedup as d, cleaner.context as c; "
            "print(d._c_near is not None, d._c_exact is not None, c._c_see is not None)")
    env = clean_env()
    env.pop("CLEANER_SPEEDUPS", None)
    on = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    env["CLEANER_SPEEDUPS"] = "0"
    off = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert (on.stdout.split(), off.stdout.split()) == (["True"] * 3, ["False"] * 3)


# -- XXH3-64 -----------------------------------------------------------------------
@needs_c
def test_xxh3_every_length_to_300() -> None:
    rng = random.Random(3)
    for n in range(301):
        for data in (bytes(rng.randrange(256) for _ in range(n)), b"\xff" * n, b"\0" * n,
                     bytes(rng.choice(b"abc ") for _ in range(n))):
            assert c_mod().xxh3_64(data) == xxhash.xxh3_64_intdigest(data), (n, data)


@needs_c
@given(st.binary(max_size=400))
@example(b"")
def test_xxh3_random_bytes(data: bytes) -> None:
    assert c_mod().xxh3_64(data) == xxhash.xxh3_64_intdigest(data)


@needs_c
def test_xxh3_long_inputs_around_stripes_and_blocks() -> None:
    # over 240 bytes: 64-byte stripes, 1024-byte blocks, the last stripe overlapping
    rng = random.Random(5)
    lengths = {n for b in range(0, 9000, 64) for n in (b - 1, b, b + 1) if n > 240} | {241, 256, 1023, 1024, 1025}
    for n in sorted(lengths):
        for data in (rng.randbytes(n), b"\xff" * n, bytes(rng.choice(b"abc ") for _ in range(n))):
            assert c_mod().xxh3_64(data) == xxhash.xxh3_64_intdigest(data), n


@needs_c
@settings(max_examples=300)
@given(st.integers(0, 5000), st.randoms(use_true_random=False))
def test_xxh3_random_lengths(n: int, rng: random.Random) -> None:
    data = rng.randbytes(n)
    assert c_mod().xxh3_64(data) == xxhash.xxh3_64_intdigest(data)


# -- fingerprints of one paragraph ------------------------------------------------
def fast(text: str) -> bool:
    return all(dedup.speedups_fast(c) for c in text)


@contextmanager
def simd_level(level: int) -> Iterator[None]:
    """The C fingerprints with only the vector steps of ``level`` (0: the
    portable paths, 1: no AVX2)."""
    c_mod().simd(level)
    try:
        yield
    finally:
        c_mod().simd(2)


def check_same(text: str, ngram: int = 4, k: int = 8, near_min_words: int = 10) -> bool:
    """C == Python for both entry points, None exactly when the text holds a
    character outside the fast set; True when C computed them. C at each
    level of its vector steps."""
    raw = text.encode("utf-8", "surrogateescape")
    got = c_mod().near_fingerprints(text, ngram, k, near_min_words)
    for level in (0, 1):
        with simd_level(level):
            assert c_mod().near_fingerprints(text, ngram, k, near_min_words) == got, (level, text)
    exact = c_mod().exact_fingerprint(text)
    if not fast(text):
        assert got is None and exact is None
        return False
    assert got == dedup.near_fingerprints_py(raw, text, ngram, k, near_min_words), text
    assert exact == dedup.key_hash(dedup.exact_key(raw, text)), text
    return True


WHITESPACE = "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u2003\u2028\u3000"
OTHER = ("éÉßİıſŉĲǅǰÆæØøÞþŠšŁłőȘșȚțƏə×÷«»¡¿©®°±²¹¼½µªº¨´¸¯\xad\x85"  # Latin-1, Latin Extended-A and -B
         "\u2002\u200b\u200d\u2011\u2017\u2022\u2030\u2039\u203a\u203e\u2044\u2060\u2070"  # General Punctuation
         "ʼΣσςЖж€™ⅫＡ\u0301\u0308\u3000\U0001f600\udc80")  # beyond: Python only
ALPHABET = st.sampled_from(
    list("AaBbMmZzQqXx019") + list("\"'()[].,!?:;-_%$&/@#*+=<>|") + list(WHITESPACE) + list(SPECIAL) + list(OTHER))
TOKENS = st.sampled_from([
    "Apple", "iPhone", "McDonald", "ABC", "X", "A1", "U.S.", "3,000", "2.5%", "1990s", "$5bn", "Trump’s", "O’Neil",
    "“Hello", "‘World’", "(Reuters)", "[Kyiv]", "(“Oslo", "Paris.", "Monday:", "Sasse;", "end!", "why?", "the", "and",
    "of", "a", "said", "—", "–", "…", "x…y", "7…9", "1—2", "4–5", "«Bonjour»", "Éric", "Zoë", "MÜNCHEN", "naïve",
    "straße", "İstanbul", "_Under_", "snake_case", "ʼn", "R2-D2", "\"Quote\"", "'Single'", "9am", "v2.0-rc1",
    "Łódź", "Ærø", "ŠKODA", "São", "Nguyễn", "Ĳmuiden", "ǅemal", "1½", "5µm", "3×4", "¿Qué?", "‹Oui›", "Δelta",
])
SEPARATORS = st.sampled_from([" ", "  ", ". ", ", ", ": ", "; ", "! ", "? ", " — ", "\xa0", "\t", "\n", " “", "” ",
                              " ‘", "’ ", "\x1c", "\x85", "\u2028", "", " (", ") ", " [", " \"", "\" ", "… "])


@st.composite
def paragraphs(draw: st.DrawFn) -> str:
    parts = draw(st.lists(st.one_of(TOKENS, st.text(ALPHABET, max_size=8)), max_size=40))
    out = []
    for p in parts:
        out.append(p)
        out.append(draw(SEPARATORS))
    return "".join(out)


@needs_c
@settings(max_examples=1500, suppress_health_check=[HealthCheck.too_slow])
@given(paragraphs(), st.integers(1, 5), st.integers(1, 12), st.integers(0, 16))
def test_near_fingerprints_match_python(text: str, ngram: int, k: int, extra: int) -> None:
    check_same(text, ngram, k, ngram + extra)


@needs_c
@settings(max_examples=1500)
@given(st.text(ALPHABET, max_size=80))
def test_near_fingerprints_match_python_on_raw_characters(text: str) -> None:
    check_same(text, 2, 3, 2)


@needs_c
@settings(max_examples=1000)
@given(st.text(st.characters(max_codepoint=dedup.SPEEDUPS_TABLE_SIZE + 20), max_size=60))
def test_near_fingerprints_match_python_on_any_character_of_the_table(text: str) -> None:
    check_same(text, 1, 4, 1)


@needs_c
@given(paragraphs().map(lambda t: "".join(c for c in t if dedup.speedups_fast(c))))
def test_fast_texts_are_computed_in_c(text: str) -> None:
    assert check_same(text)


def test_fast_characters_normalize_alone() -> None:
    """NFKC of two fast characters is NFKC of each, for every pair: what lets the
    C code fold a text character by character (no fast character or its NFKC
    form holds a combining mark, so only neighbours could compose)."""
    chars = [chr(c) for c in range(dedup.SPEEDUPS_TABLE_SIZE) if dedup.speedups_fast(chr(c))]
    nfkc = {c: unicodedata.normalize("NFKC", c) for c in chars}
    for a in chars:
        for b in chars:
            assert unicodedata.normalize("NFKC", a + b) == nfkc[a] + nfkc[b], (a, b)
    assert all(unicodedata.combining(x) == 0 for c in chars for x in c + nfkc[c])


@needs_c
def test_every_fast_character_in_context() -> None:
    """Each character the table marks fast, alone and around names, numbers
    and sentence ends (the facts rules look at neighbours)."""
    chars = [chr(c) for c in range(dedup.SPEEDUPS_TABLE_SIZE) if dedup.speedups_fast(chr(c))]
    assert len(chars) >= 600 and set(SPECIAL) <= set(chars)
    for c in chars:
        for t in (c, f"A{c}Bc", f"x {c}Name 1{c}2 said{c} Paris. {c}Oslo", f"end.{c} {c}Kyiv{c} and ({c}Rome",
                  f"{c}9{c} the Big{c}Apple met Anna {c}{c} Bob in{c}Lagos on Monday word word word"):
            assert check_same(t, 2, 4, 3), repr(t)


@needs_c
def test_long_inputs() -> None:
    """Keys and n-grams over 240 bytes (XXH3's long path), keys over the
    stack buffers (the exact key grows on the heap at a multi-byte fold)."""
    word = "Supercalifragilistic" * 15
    text = f"The {word} and 9{word} met {word.lower()} in the city of Lagos on a Monday, said {word}."
    assert check_same(text, 4, 8, 10)
    assert check_same(text, 1, 50, 1)
    assert check_same(" ".join(["word", "Name", "12"] * 40_000))
    for n in (1000, 2040, 2049, 4090, 4100, 9000):
        for text in ("ß" * n, "a" * n + "ß" * n, "ǅ" * n + "’", "½ " * n, "x" * (4096 - 17) + "ß" * n,
                     "Straße “a” " * (n // 8), "a—b " * n + "€"):
            assert check_same(text, 4, 8, 10) == fast(text)


# the fold pass's paths (prints_of): ASCII read byte by byte with no sizing
# pass; Latin-1 and 2-byte texts folded into room for n + n/4 + 16 key bytes,
# counted and folded again when longer folds overflow it (ß, é, ǅ: 2 to 4
# bytes); words of one-byte folds copied in a run, the digits and capitals
# noted for the facts scan
ASCII_WORDS = st.sampled_from(["the", "a", "Paris", "iPhone", "U.S.", "3,000", "x9", "McDonald", "ABC", "said.",
                               "(Reuters)", "\"Quote\"", "end!", "_a_", "9am", "Oslo;", "w-w", "'s", "Z"])
WIDE_WORDS = st.sampled_from(["ß", "Straße", "éé", "ǅemal", "Ĳ", "İ", "ŉ", "½", "Zoë", "MÜNCHEN", "a’b", "—", "…",
                              "\xa0", "\u2003", "Łódź", "\u0301", "\udc80", "ʼ", "Σ", "\U0001f600", "€"])


@st.composite
def fold_texts(draw: st.DrawFn) -> str:
    words = draw(st.lists(st.one_of(ASCII_WORDS, WIDE_WORDS) if draw(st.booleans()) else ASCII_WORDS, max_size=60))
    seps = st.sampled_from([" ", "  ", "\t", ", ", ". ", "", "\n", " — "])
    text = "".join(w + draw(seps) for w in words)
    return text * draw(st.sampled_from([1, 1, 1, 3, 40]))  # 40: past the stack buffers, > 2048 characters


@needs_c
@settings(max_examples=1500, suppress_health_check=[HealthCheck.too_slow])
@given(fold_texts(), st.integers(1, 5), st.integers(1, 10), st.integers(-2, 2))
@example("", 4, 8, 0)
@example("one", 4, 8, 1)
@example("a b c d", 4, 8, 4)
@example("ß" * 3000, 1, 8, 1)
@example("ßé " * 700 + "Paris 9", 2, 8, 2)
def test_fold_pass_matches_python(text: str, ngram: int, k: int, off: int) -> None:
    """near_min_words at the word count and around it; texts ASCII, Latin-1,
    2-byte, with or without characters the table leaves to Python."""
    n_words = len(dedup.fold_words(text.encode("utf-8", "surrogateescape"), text))
    for near_min_words in (max(0, n_words + off), ngram):
        check_same(text, ngram, k, near_min_words)


# the vector steps: the fold takes runs of ASCII 16 or 32 characters a step
# (the text's last ones from a padded copy), a step cut at the first character
# past ASCII; the sketch inserts into b[] without a branch
@needs_c
def test_vector_fold_every_alignment() -> None:
    """Runs of a-z of each length at each offset, ending the text or cut by a
    split, a capital or a character past ASCII (1-byte: Latin-1; 2-byte)."""
    for tail in ("", " ", "é", "’", "ß", "ǅ", ". Zed 9", "\xa0x"):
        for lead in range(18):
            for run in range(70):
                text = "x " * (lead // 2) + "Q" * (lead % 2) + "a" * run + tail
                assert check_same(text, 2, 8, 1)
                assert check_same("é" + text + "’", 1, 8, 1)


@needs_c
def test_vector_facts_capitalised_words() -> None:
    """The facts' capitalised words read 16 characters at once: words of each
    length around that, ending the text or cut by a character past ASCII."""
    for tail in ("", " ", ".", "é", "’s", "ǅ", "_x", "9"):
        for run in range(20):
            word = "Q" + "ab1"[run % 3] * run
            for text in (f"we met {word}{tail}", f"é {word}{tail} and {word.upper()}{tail}", f"x ’{word}{tail}"):
                assert check_same(text, 1, 8, 1)


@needs_c
def test_simd_levels() -> None:
    assert c_mod().simd(2) in (0, 1, 2)
    with simd_level(0):
        assert c_mod().simd(0) == 0
        assert check_same("The Quick brown fox, 42 times")
    assert c_mod().simd(1) in (0, 1)
    c_mod().simd(2)
    with pytest.raises(ValueError):
        c_mod().simd(3)


VECTOR_CHARS = st.sampled_from([*"abzAMZ059 .,_-'@[`{\t\n\x00\x7f", "é", "É", "’", "“", "ß", "\xa0", "Σ", "ǅ", "ﬁ"])


@needs_c
@settings(max_examples=1500)
@given(st.text(VECTOR_CHARS, max_size=120), st.integers(1, 5), st.integers(1, 9))
def test_vector_fold_mixed_text(text: str, ngram: int, k: int) -> None:
    check_same(text, ngram, k, ngram)
    check_same(text * 5, ngram, k, ngram)


@needs_c
@settings(max_examples=300)
@given(st.lists(st.sampled_from(["aa", "bb", "cc", "dd", "Ee"]), max_size=80), st.integers(1, 3), st.integers(1, 8))
def test_sketch_with_repeated_ngrams(words: list[str], ngram: int, k: int) -> None:
    """Few distinct n-grams, many repeats: b[] part filled, repeats skipped."""
    check_same(" ".join(words), ngram, k, ngram)


@needs_c
def test_fold_pass_overflow_of_its_first_guess() -> None:
    """Key bytes just under and over the first guess (n + n/4 + 16)."""
    for n in (0, 1, 4, 63, 64, 65, 200, 3000):
        for extra in range(-3, 4):
            wide = max(0, (n // 4 + 16) + extra)  # ß: two key bytes for one character
            for text in ("a" * max(0, n - wide) + "ß" * wide, "ß" * wide + " x" * (n // 2), "Aß9 " * wide):
                assert check_same(text, 1, 8, 1) and check_same(text, 4, 8, 10)


@needs_c
def test_sketch_size_far_past_the_words() -> None:
    """k bounds the sketch, the words bound it too: a huge k (Settings.sketch_k
    is the caller's) sizes nothing after it (2**61 * 8 bytes wrapped to 0)."""
    for text in ("one two three four five six seven", "x " * 100):
        for k in (65, 2**40, 2**61, 2**61 + 1, sys.maxsize):
            assert check_same(text, 1, k, 1), k


@needs_c
def test_repeated_ngrams_count_once_and_sketch_is_bottom_k() -> None:
    text = "one two three four " * 30 + "five six seven eight nine ten eleven twelve"
    assert check_same(text, 4, 8, 10)
    for k in (1, 3, 8, 64, 100):
        got = c_mod().near_fingerprints(text, 4, k, 10)
        assert got is not None and len(got[1]) == min(k, 4 + 8)


@needs_c
def test_bad_arguments() -> None:
    with pytest.raises(TypeError):
        c_mod().near_fingerprints(b"bytes", 4, 8, 10)
    with pytest.raises(ValueError):
        c_mod().near_fingerprints("text", 0, 8, 10)
    with pytest.raises(ValueError):
        c_mod().setup(b"short")


# -- the classifier's cross-document counter ------------------------------------
@contextmanager
def python_counter() -> Iterator[None]:
    """CrossDocCounter's Python code for the duration."""
    from cleaner import context

    saved = context._c_see, context._c_count_doc
    assert None not in saved
    context._c_see = context._c_count_doc = None
    try:
        yield
    finally:
        context._c_see, context._c_count_doc = saved


def counters_agree(texts: list[str], depth: int, halve: int | None, every: int) -> None:
    """A counter run by the C code and one run by the Python code give the
    same counts, pending keys and rows."""
    from cleaner.context import CrossDocCounter

    a, b = CrossDocCounter(1024, depth, halve), CrossDocCounter(1024, depth, halve)
    for i, t in enumerate(texts):
        if i % every == every - 1:
            a.end_doc()
            with python_counter():
                b.end_doc()
            assert a.rows == b.rows
        add = i % 3 != 2
        got = a.see(t, add)
        with python_counter():
            want = b.see(t, add)
        assert got == want, t
        assert list(a._pending) == list(b._pending)  # the same keys, in the same order
    assert a.rows == b.rows


CROSSDOC_TEXT = st.one_of(st.text(max_size=260), st.text(alphabet=" \t\x0b\x0c\r\x1c\x1f\x85\xa0AbZİßſ’é", max_size=30),
                          st.binary(max_size=300).map(lambda b: b.decode("utf-8", "surrogateescape")),
                          # mostly ASCII lines past the 200 characters keyed, 1- and 2-byte (C reads each kind)
                          st.text(alphabet="AaMZz@[`{09 \t\x85\xa0ÀÞßàÿ×µ", min_size=190, max_size=260),
                          st.text(alphabet="AaMZz@[`{ \xa0ßÀ’Ā\u2028", min_size=190, max_size=260),
                          st.text(alphabet="AaMZz@[`{ ’ΣİĀ", min_size=190, max_size=260))


@c_in_use
@settings(max_examples=200, deadline=None)
@given(st.lists(CROSSDOC_TEXT, max_size=40), st.integers(1, 3), st.sampled_from([None, 1, 3]), st.integers(1, 6))
def test_crossdoc_see_matches_python(texts: list[str], depth: int, halve: int | None, every: int) -> None:
    # few distinct texts so that counts rise: each one several times
    counters_agree(texts * 3, depth, halve, every)


class _PyLine:
    """A line of another type than _speedups.Line (classify_lines reads it by getattr)."""

    def __init__(self, index: int, text: str, fixed: str | None) -> None:
        self.index, self.text, self.fixed, self.why, self.rep = index, text, fixed, "", False


# the edges a line's keyed text is stripped of (its kind may then narrow: "\u3000a" keys as "a")
CROSSDOC_EDGE = st.sampled_from(["", " ", "\t", "\xa0", "\u3000", "\U0001f600 ", "\u2028"])


@c_in_use
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(st.tuples(CROSSDOC_TEXT, CROSSDOC_EDGE, CROSSDOC_EDGE,
                                   st.sampled_from([None, None, None, "dedup.repeat", "ads.x"]),
                                   st.integers(0, 9)), max_size=30), min_size=1, max_size=5),
       st.integers(1, 3))
def test_classify_lines_crossdoc_matches_see(docs: list[list[tuple[str, str, str, str | None, int]]],
                                             depth: int) -> None:
    """classify_lines takes the cross-document keys of the next lines ahead of
    their turn: each line gets the count, and the counter the pending keys and
    rows, that CrossDocCounter.see one line at a time gives (the Python code),
    whatever the line's type and whether its str is another line's too."""
    clf = context.ContextClassifier(crossdoc=context.CrossDocCounter(1024, depth), stopwords=STOPWORDS)
    ref = context.CrossDocCounter(1024, depth)
    a = clf.crossdoc
    assert a is not None and clf.classify_lines is not None
    shared: list[str] = []
    for doc in docs:
        lines: list[Any] = []
        for j, (t, lead, trail, fixed, kind) in enumerate(doc):
            text = lead + t + trail
            if kind == 0 and shared:
                text = shared[-1]  # the very str of an earlier line
            shared.append(text)
            lines.append((_PyLine if kind == 1 else c_mod().Line)(j, text, fixed))
        want = []
        with python_counter():
            for ln in lines:
                if ln.fixed is None and ln.text.strip():
                    want.append(ref.see(ln.text.strip()))
        got = []
        see = (a.rows, a.bits, a._pending, context.CROSSDOC_MAX_KEYS_PER_DOC)
        i = 0
        while i < len(lines):
            stop, xdocs, _ = clf.classify_lines(clf.c_line, lines, i, None, see, set(), clf.pass1_consts)
            got += [ln.feat.xdocs for ln in lines[i:stop] if ln.fixed is None and ln.text.strip()]
            if stop < len(lines):
                got.append(xdocs)  # left to Python, counted
            i = stop + 1
        assert got == want
        assert list(a._pending) == list(ref._pending)
        a.end_doc()
        with python_counter():
            ref.end_doc()
        assert a.rows == ref.rows


@needs_c
def test_crossdoc_key_every_bmp_character() -> None:
    """crossdoc_see's key (str.strip().lower() by character in C) on each
    code point alone, at an edge, and repeated past the 200 characters taken."""
    from array import array

    from cleaner.context import CrossDocCounter

    rows = [array("H", bytes(2 * 1024))]
    for c in range(0x10000):
        ch = chr(c)
        for text in (f" \t{ch}Ab{ch} ", ch, f"{ch}\u0130x", ch * 250, f"é{ch}" * 120):
            pending = key_table(8)
            try:
                want = CrossDocCounter.key(text)
            except UnicodeEncodeError:
                with pytest.raises(UnicodeEncodeError):
                    c_mod().crossdoc_see(text, rows, 10, pending, 10)
                continue
            c_mod().crossdoc_see(text, rows, 10, pending, 10)
            assert list(pending) == [want], hex(c)


@c_in_use
def test_crossdoc_see_on_corpus_lines() -> None:
    texts = lines_of(sorted(CORPUS.glob("*.txt")))
    if BENCH.is_dir():
        texts += lines_of(sorted((BENCH / "dirty").glob("*.txt"))[:20])
    counters_agree(texts * 2, 2, None, 25)


@needs_c
def test_crossdoc_see_bad_arguments() -> None:
    from array import array

    see = c_mod().crossdoc_see
    rows = [array("H", bytes(2048))]
    assert see("x", rows, 10, None, 5) == 0
    with pytest.raises(TypeError):
        see(b"x", rows, 10, None, 5)
    with pytest.raises(TypeError):
        see("x", rows, 10, [], 5)
    with pytest.raises(TypeError):
        see("x", rows, 10, set(), 5)  # pending keys: a KeyTable(8)
    with pytest.raises(TypeError):
        see("x", rows, 10, key_table(4), 5)
    pending = key_table(8)
    for text in ("a", "b", "a", "c"):
        see(text, rows, 10, pending, 2)
    assert list(pending) == [context.CrossDocCounter.key(t) for t in "ab"]  # first seen first, at most 2
    with pytest.raises(ValueError):
        see("x", rows, 11, None, 5)  # the row holds 2**10 counters
    with pytest.raises(ValueError):
        see("x", rows * 3, 30, None, 5)  # 90 bits of key
    count = c_mod().crossdoc_count_doc
    count(rows, 10, key_table(8, {1: 0, 2: 0, 1 << 40: 0}))
    assert sum(rows[0]) == 3
    with pytest.raises(ValueError):
        count(rows, 11, key_table(8, {1: 0}))
    with pytest.raises(TypeError):
        count(rows, 10, [1])
    with pytest.raises(TypeError):
        count(rows, 10, {1})  # a set: pending keys are a KeyTable(8)
    with pytest.raises(TypeError):
        count(rows, 10, None)


def lines_of(paths: list[Path]) -> list[str]:
    out = []
    for p in paths:
        data = p.read_bytes().replace(b"\r\n", b"\n")
        out += data.decode("utf-8", "surrogateescape").split("\n")
    return out


@needs_c
def test_corpus_sample_lines() -> None:
    done = sum(check_same(t) for t in lines_of(sorted(CORPUS.glob("*.txt"))))
    assert done > 200


@needs_c
@pytest.mark.skipif(not BENCH.is_dir(), reason="no bench pages at /work/shared/bench")
@pytest.mark.parametrize("kind", ["dirty", "gold", "extracted"])
def test_bench_page_lines(kind: str) -> None:
    done = sum(check_same(t) for t in lines_of(sorted((BENCH / kind).glob("*.txt"))))
    assert done > 1000


# -- prefilter helpers (scan_buffer, select_tiers, on_match, match_lines, group_pairs) ------
# Bytes that bytes.split() splits at, some that only str.split() does, the
# Unicode spaces and fold letters, and pieces of their UTF-8.
TIER_ALPHABET = [" ", "  ", "\t", "\x0b", "\x0c", "\r", "\x1c", "\x1f", "\x85", "\xa0", "\u3000", "\u2028",
                 "a", "bc", "é", "’", "\udcff", "\udc80"]
SCAN_ALPHABET = [*TIER_ALPHABET, "\n", *prefilter._UNICODE_SPACES, *prefilter._FOLD_TO_ASCII, "\u2030", "\u200b",
                 "\u0132", "\u212b", "\udcc2", "\udce2", "\udc80", "\udce1\udc9a"]


def utf8(text: str) -> bytes:
    """Undecodable bytes as surrogateescape keeps them (the engine's buffer
    holds U+FFFD there: the C code must not care)."""
    return text.encode("utf-8", "surrogateescape")


@needs_c
@settings(max_examples=1500)
@given(st.lists(st.sampled_from(SCAN_ALPHABET), max_size=40).map("".join).map(utf8))
@example(b"")
@example("\u3000\n\u0131".encode())
def test_scan_buffer_matches_python(buf: bytes) -> None:
    want = prefilter._scan_buffer_py(buf)
    assert want[0] == b"\n" + prefilter.canonical(buf) + b"\n"
    assert c_mod().scan_buffer(buf) == want, buf


@needs_c
@given(st.binary(max_size=300))
def test_scan_buffer_on_any_bytes(buf: bytes) -> None:
    assert c_mod().scan_buffer(buf) == prefilter._scan_buffer_py(buf)
    # every 8-byte alignment of the ASCII fast path
    for cut in range(1, 9):
        assert c_mod().scan_buffer(buf[cut:]) == prefilter._scan_buffer_py(buf[cut:])


@needs_c
def test_scan_buffer_on_corpus() -> None:
    paths = sorted(CORPUS.glob("*.txt")) + (sorted((BENCH / "dirty").glob("*.txt")) if BENCH.is_dir() else [])
    buf = b"\n".join(p.read_bytes() for p in paths)
    assert c_mod().scan_buffer(buf) == prefilter._scan_buffer_py(buf)
    assert c_mod().scan_buffer(memoryview(buf)[3:]) == prefilter._scan_buffer_py(buf[3:])
    with pytest.raises(TypeError):
        c_mod().scan_buffer("text")


def same_selection(buf: bytes, limits: tuple[int, ...], prefix: int) -> None:
    want = prefilter._select_tiers_py(buf, limits, prefix)
    assert c_mod().select_tiers(buf, limits, prefix) == want, (buf, limits, prefix)


@st.composite
def tier_buffers(draw: st.DrawFn) -> bytes:
    lines = draw(st.lists(st.lists(st.sampled_from(TIER_ALPHABET), max_size=30).map("".join), max_size=8))
    return utf8("\n".join(lines))


@needs_c
@settings(max_examples=1500)
@given(tier_buffers(), st.lists(st.integers(0, 14), max_size=3).map(tuple),
       st.sampled_from([0, 1, 3, 7, 20, prefilter.WORD_COUNT_PREFIX]))
@example(b"", (0,), 4096)
@example(b"\n", (0, 1), 4096)
@example(b" \t\x0b\x0c\r \n\x1c\n\xc2\x85 x", (0, 2), 4096)
def test_select_tiers_matches_python(buf: bytes, limits: tuple[int, ...], prefix: int) -> None:
    same_selection(buf, limits, prefix)


@needs_c
@given(st.binary(max_size=300), st.integers(0, 50), st.integers(0, 60))
def test_select_tiers_on_any_bytes(buf: bytes, limit: int, prefix: int) -> None:
    same_selection(buf, (limit, limit // 2), prefix)


@needs_c
def test_select_tiers_on_long_lines() -> None:
    """Words cut by WORD_COUNT_PREFIX, and lines far longer than it."""
    prefix = prefilter.WORD_COUNT_PREFIX
    lines = [b"a " * 3000, b"x" * (prefix - 1) + b" y z", b"x" * prefix + b" y", b" " * prefix + b"w",
             b"\t" * (prefix + 5), b"ab " * 12 + b"c" * 10_000, b"w " * 40 + b"v", b"w " * 41]
    for limits in ((0,), (1, 2), (12, 40), (41,), (5000, 0)):
        same_selection(b"\n".join(lines), limits, prefix)
        for line in lines:
            same_selection(line, limits, prefix)


@needs_c
def test_select_tiers_on_corpus_lines() -> None:
    paths = sorted(CORPUS.glob("*.txt")) + (sorted((BENCH / "dirty").glob("*.txt")) if BENCH.is_dir() else [])
    buf = b"\n".join(p.read_bytes().replace(b"\r\n", b"\n") for p in paths)
    same_selection(buf, (*prefilter.WORD_TIERS, 0, 3), prefilter.WORD_COUNT_PREFIX)
    same_selection(memoryview(buf)[1:-1], prefilter.WORD_TIERS, prefilter.WORD_COUNT_PREFIX)


@needs_c
def test_select_tiers_bad_arguments() -> None:
    with pytest.raises(TypeError):
        c_mod().select_tiers("text", (1,), 10)
    with pytest.raises(TypeError):
        c_mod().select_tiers(b"text", [1], 10)
    with pytest.raises(TypeError):
        c_mod().select_tiers(b"text", tuple(range(9)), 10)
    with pytest.raises(ValueError):
        c_mod().select_tiers(b"text", (-1,), 10)
    with pytest.raises(ValueError):
        c_mod().select_tiers(b"text", (1,), -1)
    with pytest.raises(TypeError):
        c_mod().select_tiers(b"text", (1,))
    assert c_mod().select_tiers(b"a\nb", (), 10) == []


@needs_c
@given(tier_buffers())
@example(b"")
@example(b" \n\t\nx\n\x0b y\n\r")
def test_blank_led_matches_python(buf: bytes) -> None:
    want = prefilter._blank_led_py(buf)
    assert c_mod().blank_led(buf) == want
    assert c_mod().blank_led(memoryview(b"-" + buf + b"-")[1:-1]) == want
    lines = buf.split(b"\n")
    assert list(struct.unpack(f"={len(want[1]) // 4}I", want[1])) == [
        i for i, line in enumerate(lines) if line[:1] in (b" ", b"\t", b"\x0b", b"\x0c", b"\r")]


@needs_c
@given(st.binary(max_size=300))
def test_blank_led_on_any_bytes(buf: bytes) -> None:
    assert c_mod().blank_led(buf) == prefilter._blank_led_py(buf)
    with pytest.raises(TypeError):
        c_mod().blank_led("text")


def u32(*values: int) -> bytes:
    return struct.pack(f"={len(values)}I", *values)


@needs_c
def test_on_match_appends_end_and_id() -> None:
    found_c, found_py = bytearray(), bytearray()
    for pid, start, end in ((3, 0, 7), (0, 2, 2**32 - 1), (2**32 - 1, 1, 1)):
        c_mod().on_match(pid, start, end, 0, found_c)
        prefilter._on_match_py(pid, start, end, 0, found_py)
    assert found_c == found_py == bytearray(u32(7, 3, 2**32 - 1, 0, 1, 2**32 - 1))
    with pytest.raises(TypeError):
        c_mod().on_match(1, 2, 3, 0, [])
    with pytest.raises(OverflowError):
        c_mod().on_match(1, 2, 2**32, 0, bytearray())
    with pytest.raises(TypeError):
        c_mod().on_match(1, 2, 3, bytearray())


def same_lines(padded: bytes, found: bytes, rule_of: list[int], line_map: bytes | None,
               ends: bytes | None = None) -> None:
    want, got = bytearray(b"xxxx"), bytearray(b"xxxx")  # appended to
    prefilter._match_lines_py(padded, bytearray(found), rule_of, line_map, want, ends)
    c_mod().match_lines(padded, bytearray(found), rule_of, line_map, got, ends)
    assert got == want, (padded, found, rule_of, line_map, ends)


@st.composite
def match_cases(draw: st.DrawFn) -> tuple[bytes, bytes, list[int], bytes | None, bytes | None]:
    padded = b"\n" + draw(st.binary(max_size=60).map(lambda b: b.replace(b"\x00", b"\n"))) + b"\n"
    rule_of = draw(st.lists(st.integers(0, 2**32 - 1), min_size=1, max_size=4))
    ends = draw(st.lists(st.integers(1, len(padded)), max_size=12))
    if draw(st.booleans()):
        ends.sort()
    found = u32(*[x for end in ends for x in (end, draw(st.integers(0, len(rule_of) - 1)))])
    n_lines = padded.count(b"\n") - 1
    line_map = draw(st.none() | st.lists(st.integers(0, 2**32 - 1), min_size=n_lines, max_size=n_lines)
                    .map(lambda m: u32(*m)))
    ends = draw(st.none() | st.binary(min_size=len(rule_of), max_size=len(rule_of)))
    return padded, found, rule_of, line_map, ends


@needs_c
@settings(max_examples=1000)
@given(match_cases())
@example((b"\n\n", u32(1, 0, 2, 0), [5], None, None))
@example((b"\nab\ncd\n", u32(4, 0, 1, 0, 7, 0, 3, 0), [9], u32(10, 20), None))
@example((b"\nab\ncd\n", u32(4, 0, 1, 1, 7, 0, 3, 1), [9, 8], u32(10, 20), b"\x00\x01"))
def test_match_lines_matches_python(case: tuple[bytes, bytes, list[int], bytes | None, bytes | None]) -> None:
    same_lines(*case)


@needs_c
@given(st.binary(max_size=40), st.lists(st.integers(1, 41), max_size=8))
def test_match_lines_on_any_bytes(buf: bytes, ends: list[int]) -> None:
    """Unpadded buffers too: text before the first line break is no line."""
    ends = [e for e in ends if e <= len(buf)]
    same_lines(buf, u32(*[x for e in ends for x in (e, 0)]), [1], None)


@needs_c
def test_match_lines_bad_arguments() -> None:
    def both(*args: object) -> list[type[BaseException]]:
        raised = []
        for fn in (c_mod().match_lines, prefilter._match_lines_py):
            with pytest.raises(Exception) as info:
                fn(*args)
            raised.append(info.type)
        return raised

    pairs = bytearray()
    assert both(b"\na\n", bytearray(u32(0, 0)), [1], None, pairs) == [ValueError, ValueError]
    assert both(b"\na\n", bytearray(u32(4, 0)), [1], None, pairs) == [ValueError, ValueError]
    assert both(b"\na\n", bytearray(u32(2, 1)), [1], None, pairs) == [IndexError, IndexError]
    assert both(b"\na\nb\n", bytearray(u32(2, 0)), [1], u32(), pairs) == [IndexError, IndexError]
    assert pairs == bytearray()
    with pytest.raises(ValueError):
        c_mod().match_lines(b"\na\n", bytearray(b"abc"), [1], None, pairs)
    with pytest.raises(TypeError):
        c_mod().match_lines(b"\na\n", bytearray(), (1,), None, pairs)
    with pytest.raises(TypeError):
        c_mod().match_lines(b"\na\n", bytearray(), [1], None, [])
    assert both(b"\na\n", bytearray(u32(2, 0)), [1], None, pairs, b"") == [ValueError, ValueError]
    with pytest.raises(TypeError):
        c_mod().match_lines(b"\na\n", bytearray(), [1], None, pairs, b"\x00", None)


@needs_c
@given(st.lists(st.tuples(st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1)), max_size=30)
       | st.lists(st.tuples(st.integers(0, 5), st.integers(0, 5)), max_size=30))
def test_group_pairs_matches_python(pairs: list[tuple[int, int]]) -> None:
    buf = bytearray(u32(*[x for pair in pairs for x in pair]))
    want = prefilter._group_pairs_py(buf)
    assert list(want.items()) == sorted((line, sorted({r for ln, r in pairs if ln == line})) for line in {ln for ln, _ in pairs})
    got = c_mod().group_pairs(buf)
    assert got == want and list(got) == list(want)
    with pytest.raises(ValueError):
        c_mod().group_pairs(buf + u32(1))
    with pytest.raises(ValueError):
        prefilter._group_pairs_py(buf + u32(1))


@needs_c
@pytest.mark.skipif(not prefilter.Prefilter([(0, "x")]).uses_hyperscan, reason="Hyperscan is not used here")
def test_prefilter_scan_same_with_and_without_c(monkeypatch: pytest.MonkeyPatch) -> None:
    """The default pack's Prefilter.scan, C helpers or Python, on corpus and bench batches."""
    from cleaner.config import Config
    from cleaner.engine import Engine
    from cleaner.rules import load_rules

    pf = Engine(load_rules(), Config()).prefilter
    paths = sorted(CORPUS.glob("*.txt")) + (sorted((BENCH / "dirty").glob("*.txt")) if BENCH.is_dir() else [])
    bufs = [p.read_bytes().replace(b"\r\n", b"\n").decode("utf-8", "replace").encode("utf-8") for p in paths]
    bufs.append(b"\n".join(bufs))
    bufs.append("x\u0131 Related stories\nplain\n\u017fhare this\n".encode())  # fold letters: the full databases
    bufs.append(b"  Related stories\n\tShare this\n Advertisement\nAdvertisement\n")  # blank-led lines
    names = ("scan_buffer", "select_tiers", "blank_led", "on_match", "match_lines", "group_pairs")
    for name in names:
        monkeypatch.setattr(prefilter, f"_c_{name}", getattr(c_mod(), name))
    with_c = [pf.scan(b) for b in bufs]
    for name in names:
        monkeypatch.setattr(prefilter, f"_c_{name}", None)
    assert [pf.scan(b) for b in bufs] == with_c
    assert sum(len(h) for h in with_c) > 100


# -- the CLI, with and without the extension ------------------------------------------
@pytest.fixture(scope="module")
def stream(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from test_benchmarks_smoke import load_benchmark

    data, _ = load_benchmark("throughput").build_stream(4_000_000)
    path = tmp_path_factory.mktemp("speedups") / "stream.txt"
    path.write_bytes(data)
    return path


def run_cli(args: list[str], stdin: Path, speedups: bool) -> bytes:
    env = clean_env()
    env["CLEANER_SPEEDUPS"] = "1" if speedups else "0"
    with open(stdin, "rb") as f:
        got = subprocess.run([*CLEAN, *args], stdin=f, capture_output=True, env=env, cwd=ROOT, timeout=300,
                             check=True)
    return got.stdout


@needs_c
@pytest.mark.parametrize("args", [["--dedup", "stream"], ["--dedup", "stream", "--near-threshold", "0.3"],
                                  ["--dedup", "stream", "--unit", "block"],
                                  ["--dedup", "stream", "--unit", "block", "--no-near"], [],
                                  ["--dedup", "stream", "--max-index-mb", "0.2"],
                                  ["--repeated-boilerplate", "3"]])
def test_cli_output_and_explain_identical(stream: Path, tmp_path: Path, args: list[str]) -> None:
    """The same bytes out and the same --explain records (matches, scores) either way."""
    outs = []
    for on in (True, False):
        explain = tmp_path / f"explain-{on}.jsonl"
        outs.append((run_cli([*args, "--explain", str(explain)], stream, on), explain.read_bytes()))
    assert outs[0] == outs[1]
    assert b'"match": "exact"' in outs[0][1]
    if "stream" in args and "block" not in args:  # the stream's near copies are single lines
        assert b'"match": "near"' in outs[0][1]


# -- the classifier's pass 1 (context.line_class) ------------------------------------
STOPWORDS = context.load_stopwords()
DEFAULT = context.ContextParams()
# every switch line_class reads, off, and numbers moved (an int score must come back an int)
PARAMS = [
    DEFAULT,
    replace(DEFAULT, use_data=False),
    replace(DEFAULT, use_glue=False),
    replace(DEFAULT, use_arrows=False),
    replace(DEFAULT, short_units=3, long_units=8, very_long_units=20, stop_low=0.3, stop_high=0.3),
    replace(DEFAULT, bad_score=-1, data_score=-0.25, title_score=0, prose_cap=7, prose_norm=3, prose_no_end=1),
    replace(DEFAULT, crossdoc_min_docs=1, short_units=0, neargood_score=0.1),
]


def same(a: object, b: object) -> bool:
    """Equal, of the same types, floats bit for bit, but any NaN as any other
    (which of two NaN operands a sum passes on, and so its sign, depends on
    the order of the operands, not on a difference in the steps)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, tuple):
        assert isinstance(b, tuple)
        return len(a) == len(b) and all(map(same, a, b))
    if isinstance(a, float):
        assert isinstance(b, float)
        return (math.isnan(a) and math.isnan(b)) or struct.pack("<d", a) == struct.pack("<d", b)
    return a == b


# lang "custom": words whose lower case the C code cannot follow per character
CUSTOM = frozenset({"ός", "σ", "i̇", "i", "und", "the"})
_LINE_C: dict[context.ContextParams, object] = {}
_STOP_C: dict[frozenset[str], object] = {}


def check_line(text: str, lang: str | None = "en", params: context.ContextParams = DEFAULT,
               xdocs: int = 0) -> tuple[str, str, float, context.LineFeatures, bool] | None:
    """C == Python on one line (as _classify gives it: stripped, not empty);
    what C gave, or None when it left the line to Python (only where it must:
    see _speedups.c)."""
    t = text.strip()
    if not t:
        return None
    line = _LINE_C.get(params)
    if line is None:
        line = _LINE_C[params] = context.c_line_class(params)
    assert line is not None
    sw = STOPWORDS.get(lang, CUSTOM) if lang else None
    csw = None
    if sw is not None:
        csw = _STOP_C.get(sw)
        if csw is None:
            csw = _STOP_C[sw] = c_mod().StopSet(sw)
    got = line.classify(t, csw, xdocs)  # type: ignore[attr-defined]
    try:
        want = context.line_class(t, sw, xdocs, params)
    except UnicodeEncodeError:  # a lone surrogate surrogateescape cannot encode
        assert got is None
        return None
    if got is None:
        assert ("\u0130" in t[:200] or "\u03a3" in t[:200]) and sw is not None, t
        return None
    assert same(got, want), (t, lang, params, got, want)
    return want


def test_c_line_class_is_used_unless_disabled() -> None:
    code = "import cleaner.context as c; print(c.ContextClassifier().c_line is not None)"
    env = clean_env()
    env.pop("CLEANER_SPEEDUPS", None)
    on = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    env["CLEANER_SPEEDUPS"] = "0"
    off = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert (on.stdout.split(), off.stdout.split()) == (["True" if SPEEDUPS else "False"], ["False"])


def test_what_the_c_line_class_relies_on() -> None:
    """The Python facts the C code is written against."""
    # _GLUE, scanned by hand in glue_in
    assert context._GLUE.pattern == r"(?<=[a-z]{3})[A-Z](?=[a-z]|$)|(?<=[a-z][.?!:])[A-Z]"
    assert context._GLUE.flags == re.UNICODE
    # the quick test before counting separators holds the middle of each one
    assert {s[1] for s in context.MENU_SEPARATORS} == set("|•·»›¦")
    assert all(s[0] == s[2] == " " != s[1] for s in context.MENU_SEPARATORS)
    # str.lower is per character, one to one and keeping white space, except for
    # U+0130 (two code points) and U+03A3 (final sigma): C gives those to Python
    for cp in range(0x110000):
        c = chr(cp)
        low = c.lower()
        assert low.isspace() == c.isspace()
        if cp != 0x130:
            assert len(low) == 1, hex(cp)
    assert "AΣ".lower() == "aς" and "AΣA".lower() == "aσa"


@c_in_use
def test_c_line_class_rejects_parameters_it_cannot_follow() -> None:
    assert context.c_line_class(replace(DEFAULT, bad_score=1 << 60)) is None
    assert context.c_line_class(replace(DEFAULT, prose_norm=0.0)) is None
    assert context.c_line_class(replace(DEFAULT, bad_score=Fraction(1, 3))) is None  # type: ignore[arg-type]
    assert context.c_line_class(replace(DEFAULT, bad_score=-1)) is not None


@needs_c
def test_stopset() -> None:
    s = c_mod().StopSet(["the", "über", "и", "", "the", "\U0001f600x"])
    assert all(s.has(w) for w in ("the", "über", "и", "", "\U0001f600x"))
    assert not any(s.has(w) for w in ("th", "thee", "The", "uber", "\U0001f600"))
    big = c_mod().StopSet(STOPWORDS["de"])
    assert all(big.has(w) for w in STOPWORDS["de"])
    with pytest.raises(TypeError):
        c_mod().StopSet([b"bytes"])


@c_in_use
def test_line_class_examples() -> None:
    glued = "Detroit Area Mayor Won't StandWarren Mayor Jim Fouts says it was time for him to go and he would not run"
    assert context.line_class(glued, STOPWORDS["en"], 0, DEFAULT)[1] == context.WHY_GLUE
    typo = "Café résumé naïve — “typographic” quotes ‘and’ dashes – in an English sentence that goes on and on."
    # digits count as capitals; the 37th piece of the split is the rest of the line
    digit_title = "5 7 Things Know 9 AboutWarren mayor jim fouts says it was time for him to go and he would not"
    rest = "Detroit Area Mayor Won't StandWarren " + " ".join(["Name"] * 12 + ["word"] * 19) + " {} and so on"
    other_digits = digit_title.replace("5", "٣").replace("7", "²").replace("9", "𝟡")  # str.isdigit all
    assert context.line_class(digit_title, None, 0, DEFAULT)[1] == context.WHY_GLUE
    assert context.line_class(other_digits, None, 0, DEFAULT)[1] == context.WHY_GLUE
    assert context.line_class(rest.format("Final"), None, 0, DEFAULT)[1] == ""
    assert context.line_class(rest.format("final"), None, 0, DEFAULT)[1] == context.WHY_GLUE
    lines = [
        digit_title, other_digits, rest.format("Final"), rest.format("final"), glued, glued.replace("StandWarren", "Stand.Warren"), glued.replace("StandWarren", "Stand?Warren"),
        "Big Rise In Crime Rates?Violence is up in the city and the police say it will go on",
        "Home | News | Sport | Weather | About", "News • Sport · Weather", "a | b | c | d",
        "| 2019 | 45 | 3.2 |", "- item one two three four five", "• 12 34 56 78", "» Next story",
        "› More videos", "→ 3 4", "Hello world.", "“Quoted sentence.”", "The end…)”", "x", "ab", "a b",
        typo,
        "ΣΊΣΥΦΟΣ the of and to in", "İstanbul is the and of a city in the of and to", "1 2 3 4 5 6 7 8",
        "東京は日本の首都であり、人口は非常に多い。" * 3, "a\u2003b\u3000c d e f g h i j k l m n o p",
        "12 ⁵ ٣ 𝟠 digits ½ 2", "\ud800 12 34 56 78", "of the \udfff 1 2 3 4", "\udc80 12 34 56 78", "||", "|x|", "the the the the the the the the the the the the the",
    ]
    for t in lines:
        for lang in (None, "en", "de", "ru"):
            for p in PARAMS:
                for xdocs in (0, 2, 3, 70000):
                    check_line(t, lang, p, xdocs)
    assert all(check_line(t) is not None for t in (glued, typo, lines[-1]))
    for t in ("ΌΣ Σ İ the und a b c", "a b c d e f ΌΣ", "x y z w v u İ", "x y z w v u ΣΑ"):
        assert check_line(t, "custom") is None
        assert check_line(t, None) is not None
        assert check_line("s" * 200 + " " + t, "custom") is not None  # beyond the prefix


WORDS = st.sampled_from([
    "the", "and", "of", "a", "to", "in", "The", "AND", "der", "die", "und", "и", "в", "не", "le", "la", "de",
    "Mayor", "Won't", "StandWarren", "Rise?Violence", "AthleteA", "abc.D", "abcD", "xyzQr", "aaaAb", "Stand:Up",
    "Paris", "iPhone", "3,000", "2019", "45%", "$5", "Éric", "ÉCOLE", "naïve", "Zoë", "straße", "Łódź", "Ærø",
    "İstanbul", "ΣΟΦΙΑ", "σοφία", "Москва", "東京", "x", "|", "•", "·", "»", "›", "¦", "→", "▸", "-", "*",
    "–", "▪", "◦", "…", ".", "!", "?", "。", "”", "’", ")", "]", "\"", "'", "“", "‘", "—", "(", "½", "٣",
    "\udc80", "a" * 15, "Supercalifragilisticexpialidocious",
])
GAPS = st.sampled_from([" ", " ", " ", "  ", "\t", "\xa0", "\u2003", "\u3000", "", " | ", " • ", " · ", " » ",
                        " › ", " ¦ ", ". ", ", ", "! ", "? "])
ENDS = st.sampled_from(["", ".", "!", "?", "…", ".”", "!)", "?’*", "。", ".]", ".\"'"])


@st.composite
def lines(draw: st.DrawFn) -> str:
    head = draw(st.sampled_from(["", "", "", "- ", "* ", "• ", "· ", "– ", "▪ ", "◦ ", "» ", "› ", "→ ", "| ",
                                 "|", "1. "]))
    parts = draw(st.lists(st.tuples(WORDS, GAPS), max_size=45))
    tail = draw(st.sampled_from(["", "", "|", " |"]))
    return head + "".join(w + g for w, g in parts) + draw(ENDS) + tail


@c_in_use
@settings(max_examples=3000, suppress_health_check=[HealthCheck.too_slow])
@given(lines(), st.sampled_from([None, "en", "de", "ru", "fr"]), st.sampled_from(PARAMS), st.sampled_from([0, 1, 3]))
@example("Detroit Area Mayor Won't StandWarren Mayor Jim Fouts says it was time for him to go and he would not run", "en",
         DEFAULT, 0)
def test_line_class_matches_python(text: str, lang: str | None, params: context.ContextParams, xdocs: int) -> None:
    check_line(text, lang, params, xdocs)


@c_in_use
@settings(max_examples=1500)
@given(st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=120),
       st.sampled_from([None, "en", "ru"]), st.sampled_from(PARAMS))
def test_line_class_matches_python_on_any_characters(text: str, lang: str | None,
                                                     params: context.ContextParams) -> None:
    check_line(text, lang, params)


# -- the language guess and word counts (StopSet.tally, word_count) -----------------
SPACES = "".join(chr(c) for c in range(0x110000) if chr(c).isspace())
LANGS_OF = context.langs_by_word(STOPWORDS)
# characters around the edges of what C follows: every white space, Latin-1
# (1-byte strings), U+0130 and U+03A3 (C leaves those to Python), surrogates
ODD = st.sampled_from([*SPACES, "\u0130", "\u03a3", "\u03c3", "\u00b5", "\u00df", "\u00ff", "\u00c0", "I", "\ud800",
                       "\udc80", "\U0001f600", "\u1e9e", "\u2126", "\u212a"])


def guesses(texts: list[str]) -> tuple[context.LanguageGuess, context.LanguageGuess, list[bool]]:
    """The same lines fed to a guess counting in C and one counting in Python:
    the two, and whether C left a sampled line to Python."""
    c_langs = context.c_langs_by_word(LANGS_OF)
    assert c_langs is not None
    gc = context.LanguageGuess(STOPWORDS, LANGS_OF, c_langs)
    gp = context.LanguageGuess(STOPWORDS, LANGS_OF)
    left = []
    for t in texts:
        left.append(c_langs.tally(t, context.STOP_PREFIX_CHARS, 0, [0] * len(STOPWORDS)) < 0)
        assert gc.feed(t) == gp.feed(t), t
        assert (gc.counts, gc.words, gc.lines) == (gp.counts, gp.words, gp.lines), t
    assert gc.best() == gp.best()
    return gc, gp, left


@c_in_use
@settings(max_examples=500, deadline=None)
@given(st.lists(st.one_of(lines(), st.lists(st.one_of(WORDS, GAPS, ODD, st.characters()), max_size=80).map("".join),
                          st.lists(st.one_of(WORDS, ODD), max_size=60).map(" ".join)), max_size=40))
def test_language_guess_tally_matches_python(texts: list[str]) -> None:
    _, _, left = guesses(texts)
    for t, py in zip(texts, left, strict=True):
        # C leaves a line to Python only for a character whose lower case is not its own
        assert py == ("\u0130" in t[:context.STOP_PREFIX_CHARS] or "\u03a3" in t[:context.STOP_PREFIX_CHARS]), t


@c_in_use
def test_language_guess_tally_examples() -> None:
    texts = ["The cat and the dog are in the garden of the house", "Der Hund und die Katze sind im Garten",
             "ΣΟΦΙΑ the and of the in a to", "İstanbul is the city of the and of a", "le chat et le chien " * 30,
             " the\u2003of\u3000and\x85in\xa0a\x1cto ", "THE AND OF IN A TO", "x " * 300 + "the and of in a to"]
    gc, gp, left = guesses(texts * 3)
    assert left == [False, False, True, True, False, False, False, False] * 3
    assert gc.counts[list(STOPWORDS).index("en")] > 20
    assert dict(gc.hits) == dict(gp.hits)
    c_langs = context.c_langs_by_word(LANGS_OF)
    assert c_langs is not None
    counts = [0] * len(STOPWORDS)
    assert c_langs.tally("the and of", 200, 4, counts) == 3 and counts == [0] * len(STOPWORDS)  # too few words
    assert c_langs.tally("the and of", 2, 1, counts) == 1 and sum(counts) == 0  # "th"
    assert c_langs.tally("", 200, 0, counts) == 0
    with pytest.raises(ValueError):
        c_langs.tally("the", 200, 0, [0])  # shorter than the languages
    with pytest.raises(TypeError):
        c_langs.tally(b"the", 200, 0, counts)  # type: ignore[arg-type]


@needs_c
def test_stopset_values() -> None:
    s = c_mod().StopSet(["the", "die", "the", "и"], [1, 2, 4, 1 << 63])
    assert [s.get(w) for w in ("the", "die", "и", "The", "x")] == [5, 2, 1 << 63, 0, 0]
    counts = [0] * 64
    assert s.tally("The DIE the x И", 200, 0, counts) == 5
    assert counts[:3] == [2, 1, 2] and counts[63] == 1 and sum(counts) == 6
    for bad in ([1, 2, 3], [1, 2, 0, 1], [1, 2, -1, 1]):
        with pytest.raises((ValueError, OverflowError)):
            c_mod().StopSet(["the", "die", "the", "и"], bad)


def py_split_count(text: str) -> int:
    return len(text.split())


@needs_c
@settings(max_examples=1500, deadline=None)
@given(st.text(st.one_of(ODD, st.characters(), st.sampled_from(["a", "b", " "])), max_size=200))
def test_word_count_matches_str_split(text: str) -> None:
    from cleaner import classify
    assert c_mod().word_count(text) == py_split_count(text) == classify.py_word_count(text)


@c_in_use
def test_word_count_examples() -> None:
    from cleaner import classify
    assert classify._c_word_count is not None
    long = ("word " * 20000 + "x" * 70000 + SPACES) * 3
    for t in ("", " ", "a", " a b ", SPACES, "a".join(SPACES), "\ud800 \udc80", "é\xa0ü\x85ß", long, long[1:-7]):
        assert classify.word_count(t) == py_split_count(t) == classify.py_word_count(t), t[:40]
    with pytest.raises(TypeError):
        c_mod().word_count(b"a b")


# -- the article region's Viterbi steps (context.viterbi_forward, viterbi_trace) --
SCORES = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-(1 << 53), 1 << 53),
                   st.sampled_from([0.0, -0.5, -2.0, 4.0, -0.2, 1, -1]))


@needs_c
@settings(max_examples=500, deadline=None)
@given(st.lists(SCORES, max_size=60), SCORES, SCORES, st.one_of(st.floats(0, 10), st.integers(0, 5)),
       st.binary(max_size=5), st.booleans())
def test_viterbi_matches_python(scores: list[float], va: float, vj: float, switch: float, start: bytes,
                                state: bool) -> None:
    va, vj = float(va), float(vj)
    back_c, back_py = bytearray(start), bytearray(start)
    got = c_mod().viterbi_forward(scores, va, vj, switch, back_c)
    want = context.viterbi_forward(scores, va, vj, switch, back_py)
    assert same(got, want) and back_c == back_py
    for n in {0, len(back_py) // 2, len(back_py)}:
        assert c_mod().viterbi_trace(back_c, n, state) == context.viterbi_trace(back_py, n, state)


@needs_c
def test_viterbi_bad_arguments() -> None:
    back = bytearray(b"\x01")
    bad: list[tuple[object, ...]] = [((1.0,), 0.0, 0.0, 2.0, b""), ([1.0], 0.0, 0.0, 2.0, [])]
    for args in bad:
        with pytest.raises(TypeError):
            c_mod().viterbi_forward(*args)
    with pytest.raises(TypeError):
        c_mod().viterbi_forward([1.0, "x"], 0.0, 0.0, 2.0, back)
    assert back == bytearray(b"\x01")  # nothing appended
    with pytest.raises(IndexError):
        c_mod().viterbi_trace(back, 2, True)
    with pytest.raises(TypeError):
        c_mod().viterbi_trace(b"\x01", 1, True)


@c_in_use
def test_viterbi_in_c_only_for_exact_scores() -> None:
    from fractions import Fraction as F
    clf = context.ContextClassifier(replace(DEFAULT, switch_cost=F(3, 2)), stopwords={})  # type: ignore[arg-type]
    assert clf.forward is context.viterbi_forward and clf.trace is context.viterbi_trace
    if SPEEDUPS is not None:
        clf = context.ContextClassifier(replace(DEFAULT, switch_cost=3), stopwords={})
        assert clf.forward is c_mod().viterbi_forward and clf.trace is c_mod().viterbi_trace


# -- the classifier's window in C (classify_lines, verdict_lines) against Python ---
# each switch that turns a part off, and the window's edges
DOC_PARAMS = [
    DEFAULT, replace(DEFAULT, window=None), replace(DEFAULT, window=12), replace(DEFAULT, use_stopwords=False),
    replace(DEFAULT, use_context=False), replace(DEFAULT, use_rule_weights=False), replace(DEFAULT, use_data=False),
    replace(DEFAULT, use_region=False), replace(DEFAULT, use_run_filter=False),
    replace(DEFAULT, use_weak_article=False), replace(DEFAULT, use_crossdoc=False),
    replace(DEFAULT, use_repeats=False), replace(DEFAULT, use_glue=False, use_arrows=False),
    replace(DEFAULT, use_weak_neighbors=False),
    replace(DEFAULT, drop_bad_in_article=True, bad_score=0.5, title_score=0.5),  # junk in the article, dropped by why
    replace(DEFAULT, drop_short_in_article=True, window=16), replace(DEFAULT, crossdoc_min_docs=1, weak_article=60.0),
    replace(DEFAULT, bad_score=-1, data_score=-0.25, title_score=0, prose_cap=7, switch_cost=1),
    # numbers C does not add: pass 1 and the Viterbi steps in Python, the rest in C
    replace(DEFAULT, bad_score=Fraction(-1, 3), isolated_factor=Fraction(1, 2)),  # type: ignore[arg-type]
]
# a few short lines and paragraphs that recur (repeats, echoes, cross-document counts)
POOL = ["Top pick", "Pros", "$35 from Amazon", "- Careful handling", "Share this", "Read more »", "Home | News | Sport",
        "The committee met on Tuesday and agreed that the new budget would be published in the spring.",
        "She said the plan was the best of the options they had and that the city would go on with it."]
FIXED = st.sampled_from([None] * 6 + ["dedup.repeat", "dedup.repeat", "ads.more", "captions.alt", "social.share",
                                      "chrome.byline", "layout.blank-lines"])
# a document's line: (text, fixed), or for a repeat (text, fixed, held): whether the engine holds it
DocLine = tuple[str, str | None] | tuple[str, str | None, bool]
DOC_LINE = st.tuples(st.one_of(lines(), st.sampled_from(POOL), st.sampled_from(["", " ", "\t", "\xa0"]),
                               st.sampled_from(POOL).map(lambda t: f" {t.upper()} ")), FIXED)
DOC_TEXTS = st.lists(DOC_LINE, max_size=130)


@st.composite
def doc_lines(draw: st.DrawFn, texts: st.SearchStrategy[list[tuple[str, str | None]]] = DOC_TEXTS,
              ) -> list[DocLine]:
    """Lines of a document, some followed by their copy as a repeat the
    duplicate index removed (an echo), one or two lines below, held by the
    engine (its verdict's own_keep judged: a third item True) or not."""
    out: list[DocLine] = []
    for text, fixed in draw(texts):
        out.append((text, fixed))
        echo = draw(st.sampled_from([0, 0, 0, 1, 2]))
        if echo == 2:
            out.append((draw(st.sampled_from(["", "Pros"])), None))
        if echo:
            copy = draw(st.sampled_from([text, f" {text.upper()}", text + "x"]))
            out.append((copy, "dedup.repeat", draw(st.booleans())))
    return out


DOC_LINES = doc_lines()


@contextmanager
def python_classifier() -> Iterator[None]:
    """Classifiers made inside take every Python path of context.py."""
    names = ("_C_LINE", "_C_STOP", "_c_see", "_c_count_doc", "_c_forward", "_c_trace", "_c_classify_lines",
             "_c_verdict_lines", "_c_context_lines", "_c_line_type")
    saved = {k: getattr(context, k) for k in names}
    try:
        for k in names:
            setattr(context, k, None)
        yield
    finally:
        for k, v in saved.items():
            setattr(context, k, v)


def classify_docs(docs: list[list[DocLine]], params: context.ContextParams) -> list[object]:
    clf = context.ContextClassifier(params, crossdoc=context.CrossDocCounter(width=1024, depth=2),
                                    stopwords=STOPWORDS)
    out: list[object] = []
    for doc in docs:
        ctx = clf.document()
        for text, fixed, *held in doc:
            out.extend(ctx.push(text, fixed, bool(held and held[0])))
        out.extend(ctx.finish())
        out.append(len(ctx.left))
    return out


def assert_window_matches_python(docs: list[list[DocLine]], params: context.ContextParams) -> None:
    """The classifier window in C gives what the Python one gives on ``docs``."""
    got = classify_docs(docs, params)
    with python_classifier():
        want = classify_docs(docs, params)
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        assert same(g, w), (g, w)


@needs_c
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(DOC_LINES, min_size=1, max_size=4), st.sampled_from(DOC_PARAMS))
@example([[(POOL[7], None), ("Top pick", None), (" top PICK", "dedup.repeat"), (POOL[8], None)]],
         DOC_PARAMS[14])  # an echo in the article, dropped for its why
def test_classifier_window_matches_python(docs: list[list[DocLine]],
                                          params: context.ContextParams) -> None:
    assert_window_matches_python(docs, params)


@needs_c
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(doc_lines(st.lists(DOC_LINE, min_size=20, max_size=60)), min_size=1, max_size=2))
def test_weak_article_at_window_edge_matches_python(docs: list[list[DocLine]]) -> None:
    """No clear article, decided at the end of a short window: _near (for
    _weak_company, of lines and of repeats' own verdicts) walks on into the
    lines decided before (DocumentContext.left)."""
    params = replace(DEFAULT, window=12, weak_article=60.0)
    assert_window_matches_python(docs, params)


@needs_c
def test_own_keep_is_judged_only_for_a_repeat_held() -> None:
    """A repeat pushed ``held`` gets the verdict's own_keep it would have as
    any other line; one not held (the engine removed it outright and reads no
    verdict of it) gets False, and is otherwise judged alike. In C and in Python."""
    def third(held: bool) -> context.Verdict:
        clf = context.ContextClassifier(DEFAULT, stopwords=STOPWORDS)
        ctx = clf.document()
        out = [*ctx.push(POOL[7]), *ctx.push(POOL[8]), *ctx.push(POOL[7], "dedup.repeat", held), *ctx.push(POOL[8])]
        return [*out, *ctx.finish()][2]

    for in_c in (True, False):
        with contextlib.nullcontext() if in_c else python_classifier():
            held, removed = third(True), third(False)
        assert held.own_keep and not removed.own_keep, in_c
        assert held._replace(own_keep=False) == removed, in_c


@c_in_use
def test_classifier_window_in_c_by_default() -> None:
    clf = context.ContextClassifier(stopwords=STOPWORDS)
    assert clf.classify_lines is c_mod().classify_lines and clf.verdict_lines is c_mod().verdict_lines
    assert clf.context_lines is c_mod().context_lines and clf.line_type is c_mod().Line
    with python_classifier():
        clf = context.ContextClassifier(stopwords=STOPWORDS)
    assert clf.classify_lines is None and clf.verdict_lines is None and clf.context_lines is None
    assert clf.line_type is context._Line


@needs_c
def test_line_type_is_the_python_line() -> None:
    """_speedups.Line holds what context._Line holds, unset attributes raising alike."""
    for make in (c_mod().Line, context._Line):
        ln = make(3, " text ", None)
        assert (ln.index, ln.text, ln.fixed, ln.why, ln.rep) == (3, " text ", None, "", False)
        for name in ("art", "feat", "kind", "score"):
            with pytest.raises(AttributeError):
                getattr(ln, name)
        ln.kind, ln.score, ln.art, ln.fixed = "good", 1.5, True, "ads.x"
        assert (ln.kind, ln.score, ln.art, ln.fixed) == ("good", 1.5, True, "ads.x")
        with pytest.raises(AttributeError):
            ln.other = 1  # type: ignore[attr-defined]
    with pytest.raises(TypeError):
        c_mod().Line(1, "x")
    with pytest.raises(TypeError):
        c_mod().Line(1, "x", None, index=2)



@needs_c
@pytest.mark.parametrize("attr", ["kind", "fixed", "score", "text", "index", "feat"])
def test_window_functions_survive_lines_that_change_the_list(attr: str) -> None:
    """Any line object works through getattr, and its getattr may run code
    that empties the list being walked: the C functions hold each line they
    read and check the list's length (this crashed: a line freed mid-call)."""
    lines: list[object] = []

    class Shrinking:
        def __init__(self, i: int) -> None:
            self.index, self.text, self.fixed, self.score, self.why = i, "a few words here", None, 1.0, ""
            self.rep, self.feat, self.kind = False, context._NO_FEATURES, "good"
            delattr(self, attr)

        def __getattr__(self, name: str) -> object:
            if name != attr:
                raise AttributeError(name)
            lines.clear()
            return {"kind": "good", "fixed": None, "text": "a few words here", "index": 0}.get(name, 1.0)

    clf = context.ContextClassifier(stopwords=STOPWORDS)
    calls = (
        lambda: c_mod().context_lines(lines, 0, 3, None, clf.context_consts),
        lambda: c_mod().classify_lines(clf.c_line, lines, 0, None, None, set(), clf.pass1_consts),
        lambda: c_mod().verdict_lines(lines, [True] * 3, 3, clf.verdict_consts, clf.verdict_flags, None,
                                       lines),
        # outside the article of a weak one: _near walks lines and left
        lambda: c_mod().verdict_lines(lines, [False] * 3, 3, clf.verdict_consts, clf.verdict_flags | 2, None,
                                       lines),
    )
    for call in calls:
        lines[:] = [Shrinking(i) for i in range(3)]
        with contextlib.suppress(RuntimeError, AttributeError, TypeError):  # an error is fine; a crash is not
            call()

def class_lines(paths: list[Path]) -> Counter[str]:
    """C == Python on every line, with several languages and parameters: the
    classes and reasons seen."""
    kinds: Counter[str] = Counter()
    for lang in (None, "en", "de", "fr", "ru"):
        for p in PARAMS:
            done = 0
            for t in lines_of(paths):
                got = check_line(t, lang, p, 0 if len(t) % 7 else 4)
                if got is not None:
                    done += 1
                    kinds[got[0]] += 1
                    kinds[got[1]] += 1
            assert done > 100
    return kinds


@c_in_use
def test_line_class_corpus_sample_lines() -> None:
    seen = class_lines(sorted(CORPUS.glob("*.txt")))
    assert {"good", "neargood", "short", "title", "bad", "data"} <= set(seen)


@c_in_use
@pytest.mark.skipif(not BENCH.is_dir(), reason="no bench pages at /work/shared/bench")
@pytest.mark.parametrize("kind", ["dirty", "extracted"])
def test_line_class_bench_page_lines(kind: str) -> None:
    seen = class_lines(sorted((BENCH / kind).glob("*.txt")))
    assert {"good", "neargood", "short", "title", "bad", "data"} <= set(seen)
    if kind == "dirty":
        assert {context.WHY_MENU, context.WHY_FEW_STOPWORDS, context.WHY_CROSSDOC, context.WHY_ARROW,
                context.WHY_GLUE} <= set(seen), seen


@needs_c
@pytest.mark.skipif(not BENCH.is_dir(), reason="no bench pages at /work/shared/bench")
@pytest.mark.parametrize("args", [[], ["--dedup", "stream"]])
def test_cli_on_bench_pages_identical(tmp_path: Path, args: list[str]) -> None:
    """Real pages (several languages) through --out-dir and --explain, either way."""
    pages = sorted(str(p) for p in (BENCH / "dirty").glob("*.txt"))
    outs = []
    for on in (True, False):
        out = tmp_path / f"out-{on}"
        explain = tmp_path / f"explain-{on}.jsonl"
        env = clean_env()
        env["CLEANER_SPEEDUPS"] = "1" if on else "0"
        subprocess.run([*CLEAN, *args, "--out-dir", str(out), "--explain", str(explain), *pages], env=env,
                       cwd=ROOT, timeout=300, check=True, capture_output=True)
        outs.append(([(p.name, p.read_bytes()) for p in sorted(out.rglob("*.txt"))], explain.read_bytes()))
    assert outs[0] == outs[1]
    assert len(outs[0][0]) == len(pages) and b"classifier:" in outs[0][1]


# -- the duplicate index: lookups, the matcher's common path, spills -----------------
def filled_table(bits: int, keys: list[int], pid_step: int, spill_every: int) -> index.FingerprintTable:
    """A table holding keys (ids pid_step apart) in several runs and its recent dict."""
    table = index.FingerprintTable(bits)
    for n, key in enumerate(keys):
        table.add(key, n * pid_step)
        if n % spill_every == spill_every - 1:
            table.spill(force=True)
    return table


@c_in_use
@settings(max_examples=60, deadline=None)
@given(st.sampled_from([64, 32]), st.lists(st.integers(0, 2**64 - 1), max_size=300),
       st.sampled_from([1, 3, 1 << 16]), st.integers(1, 120), st.lists(st.integers(-5, 2**65), max_size=30))
def test_run_set_finds_what_find_many_finds(bits: int, keys: list[int], pid_step: int, spill_every: int,
                                            queries: list[int]) -> None:
    keys = [k % (1 << bits) for k in keys]
    table = filled_table(bits, keys, pid_step, spill_every)
    runs = table.run_set()
    assert runs is not None
    asked = keys + [q for q in queries if 0 <= q < 1 << bits]
    found = table.find_many(asked)
    assert [runs.get(k) for k in asked] == [found.get(k) for k in asked]
    assert [runs.get(q, "no") for q in queries] == [found.get(q, "no") for q in queries]
    assert runs.get("x") is None and runs.get(1.5) is None
    assert runs.owners(asked, None) == [found[k] for k in asked if k in found]
    recent = {k: 2**32 - 1 for k in asked[::3]}
    want = [recent.get(k, found.get(k)) for k in asked]
    assert runs.owners(asked, key_table(bits // 8, recent)) == [p for p in want if p is not None]


@c_in_use
@pytest.mark.parametrize("bits", [64, 32])
def test_run_set_search_on_skewed_keys(bits: int) -> None:
    """Keys far from uniform hashes (clustered, consecutive, powers of two,
    the extremes) are found, and their neighbours not."""
    rng = random.Random(11)
    top = (1 << bits) - 1
    spreads = [
        [rng.getrandbits(bits) for _ in range(3000)],
        list(range(2000)) + [top - i for i in range(50)],
        [1 << i for i in range(bits)] + [(1 << i) - 1 for i in range(1, bits)] + [top],
        [rng.getrandbits(bits // 4) for _ in range(1000)] + [top - rng.getrandbits(8) for _ in range(500)]
        + [rng.getrandbits(bits) for _ in range(40)],
        [7 * i * i for i in range(1500)],
    ]
    for keys in spreads:
        table = filled_table(bits, [k % (top + 1) for k in keys], 1, 700)
        runs = table.run_set()
        asked = sorted({q for k in keys for q in (k - 1, k, k + 1) if 0 <= q <= top} | {0, top})
        found = table.find_many(asked)
        assert [runs.get(q) for q in asked] == [found.get(q) for q in asked]


@c_in_use
def test_run_set_with_wide_ids_full_filter_and_no_runs() -> None:
    rng = random.Random(5)
    keys = [rng.getrandbits(64) for _ in range(5000)]
    table = filled_table(64, keys, 1 << 13, 700)  # ids span over 2**24: uint32 columns
    assert any(r.width == 4 for r in table.runs)
    runs = table.run_set()
    assert [runs.get(k) for k in keys] == [table.find_many([k]).get(k) for k in keys]
    assert table.run_set() is runs  # kept while the runs stay
    table._filter().count = 10**9  # a filter too full to consult is not passed
    assert table._filter().full
    table._run_set = None
    assert [table.run_set().get(k) for k in keys[:50]] == [table.find_many([k]).get(k) for k in keys[:50]]
    empty = index.FingerprintTable(32).run_set()
    assert empty.get(5) is None and empty.owners([5, 6], key_table(4, {6: 1})) == [1]


@c_in_use
@pytest.mark.parametrize("bits", [64, 32])
def test_run_set_on_large_spilled_and_sampled_tables(bits: int) -> None:
    """Interpolated, batched lookups in many merged runs of up to 2**17 keys
    (and after sampling halves the hash space) == numpy's searchsorted, for
    present keys, their neighbours and random keys, one by one and in owners
    batches longer than one C batch."""
    import numpy as np
    rng = np.random.default_rng(bits)
    dtype = np.uint64 if bits == 64 else np.uint32
    keys = np.unique(rng.integers(0, 2**bits - 1, 300_000, dtype=np.uint64, endpoint=True).astype(dtype))
    rng.shuffle(keys)
    table = index.FingerprintTable(bits)
    for lo in range(0, len(keys), 9_000):
        table.add_many(keys[lo:lo + 9_000].tolist(), lo)
        table.spill(force=True)
    assert len(table.runs) > 3 and max(len(r.keys) for r in table.runs) > 1 << 16
    for sampled in (False, True):
        if sampled:
            table.sample(1 << (bits - 1))
        asked = np.concatenate([keys[:3000], keys[:1000] + 1, keys[:1000] - 1,
                                rng.integers(0, 2**bits - 1, 3000, dtype=np.uint64, endpoint=True).astype(dtype)])
        want = table.find_many(asked.tolist())
        runs = table.run_set()
        assert [runs.get(int(k)) for k in asked] == [want.get(int(k)) for k in asked]
        assert runs.owners(asked.tolist(), None) == [want[int(k)] for k in asked if int(k) in want]
        assert len(want) > 1000


@needs_c
@settings(max_examples=60, deadline=None)
@given(st.sampled_from([64, 32]), st.lists(st.integers(0, 2**64 - 1), max_size=400, unique=True),
       st.integers(0, 400), st.sampled_from([1, 1 << 16]), st.integers(0, 2**31))
def test_merge_runs_places_as_numpy(bits: int, keys: list[int], split: int, pid_step: int, base: int) -> None:
    """_merge with merge_runs == its numpy placement, for 3- and 4-byte ids and both key widths."""
    import numpy as np
    dtype = np.uint64 if bits == 64 else np.uint32
    keys = list(dict.fromkeys(k % (1 << bits) for k in keys))
    a_keys, b_keys = sorted(keys[:split]), sorted(keys[split:])
    a = index.Run.of(np.array(a_keys, dtype), np.arange(len(a_keys), dtype=np.uint32) * pid_step + base % 1000)
    b = index.Run.of(np.array(b_keys, dtype), np.arange(len(b_keys), dtype=np.uint32) + base % 2**20)
    with_c = index._merge(a, b)
    saved = index._merge_runs
    index._merge_runs = None
    try:
        without = index._merge(a, b)
    finally:
        index._merge_runs = saved
    wc = with_c.arrays()  # the C path's columns are memoryviews
    assert wc.keys.dtype == without.keys.dtype and wc.pids.dtype == without.pids.dtype
    assert (with_c.base, with_c.top) == (without.base, without.top)
    assert with_c.keys.tolist() == without.keys.tolist() == sorted(keys)
    assert with_c.ids().tolist() == without.ids().tolist()


@needs_c
def test_merge_runs_bad_arguments() -> None:
    import numpy as np
    merge = c_mod().merge_runs
    k, p = np.array([1, 5], np.uint64), np.array([7, 8], np.uint32)
    keys, pids = np.empty(4, np.uint64), np.empty(4, np.uint32)
    merge(k, p, 0, k + np.uint64(1), p, 0, keys, pids, 0)
    assert keys.tolist() == [1, 2, 5, 6] and pids.tolist() == [7, 7, 8, 8]
    with pytest.raises(ValueError):
        merge(k, p, 0, k, p[:1], 0, keys, pids, 0)
    with pytest.raises(ValueError):
        merge(k, p, 0, k, p, 0, keys[:3], pids[:3], 0)
    with pytest.raises(OverflowError):
        merge(k, p, 2**32, k, p, 0, keys, pids, 0)
    with pytest.raises(TypeError):
        merge(k, p, 0, k, p, 0, keys, pids)


@needs_c
@settings(max_examples=60, deadline=None)
@given(st.sampled_from([64, 32]), st.lists(st.integers(0, 2**64 - 1), max_size=300), st.integers(0, 6))
def test_filter_set_and_member_match_numpy(bits: int, keys: list[int], extra: int) -> None:
    """filter_set == np.bitwise_or.at at index.filter_slots; RunSet.member == the _member loop over the runs."""
    import numpy as np
    dtype = np.uint64 if bits == 64 else np.uint32
    q = np.array([k % (1 << bits) for k in keys], dtype)
    size = index.filter_bits(len(q) + extra)
    shift = bits - size.bit_length() + 1
    got = np.zeros(size // 8, np.uint8)
    c_mod().filter_set(got, q, shift)
    want = np.zeros(size // 8, np.uint8)
    for slot in index.filter_slots(q, shift):
        np.bitwise_or.at(want, slot >> 3, np.left_shift(1, slot & 7).astype(np.uint8))
    assert got.tobytes() == want.tobytes()
    table = filled_table(bits, [int(k) for k in q[::2]], 1, 1 + extra * 7)
    table.spill(force=True)
    runs = [(r.keys, r.pids, r.base) for r in table.runs]
    for bitmap, sh in ((None, 0), (table._filter().bytes, table._filter().shift)):
        member = c_mod().RunSet(bits // 8, bitmap, sh, runs).member(q)
        hit = np.zeros(len(q), bool)
        for r in table.runs:
            hit |= index._member(r.keys, q)[0]
        assert list(member) == hit.tolist()
    for bad_keys, bad_shift in ((np.array([2**64 - 1], np.uint64), 1), (q, 99), (q.astype(np.uint16), 1)):
        with pytest.raises(ValueError):
            c_mod().filter_set(np.zeros(1, np.uint8), bad_keys, bad_shift)


@needs_c
@pytest.mark.parametrize("bits", [64, 32])
def test_table_spills_same_with_and_without_c(monkeypatch: pytest.MonkeyPatch, bits: int) -> None:
    """Many spills, merges, repeated keys (the older id wins), a filter grown
    past the bool-array size and sampling: the same runs and filter whether
    add_run, _merge and KeyFilter use the C helpers or numpy."""
    import numpy as np
    monkeypatch.setattr(index, "FILTER_BUILD_BOOL_BITS", 1 << 13)
    rng = random.Random(bits)
    keys = [rng.getrandbits(bits) for _ in range(40_000)]
    keys += keys[:5000]  # repeats: already in older runs

    def build() -> tuple[object, ...]:
        table = index.FingerprintTable(bits)
        for n, key in enumerate(keys):
            table.add(key, n)
            if n % 1500 == 1499:
                table.spill(force=True)
                table._filter()  # lookups between spills: the filter is kept and grown
        table.spill(force=True)
        out: tuple[object, ...] = ([(r.keys.tolist(), r.ids().tolist(), r.base, r.top) for r in table.runs],
                                   table._filter().bytes.tobytes(), table.nbytes())
        table.sample(1 << (bits - 2))
        table.add_run(np.array(sorted(set(keys[:300])), table.dtype), np.arange(len(set(keys[:300])), dtype=np.uint32))
        return (*out, [(r.keys.tolist(), r.ids().tolist()) for r in table.runs], table._filter().bytes.tobytes())

    with_c = build()
    for name in ("_RunSet", "_merge_runs", "_filter_set", "_sorted_columns", "_dict_columns", "_narrow_ids"):
        monkeypatch.setattr(index, name, None)
    monkeypatch.setattr(dedup, "_KeyTable", None)  # recent tables: dicts (dedup.key_table)
    assert build() == with_c


@needs_c
def test_run_set_bad_arguments() -> None:
    import numpy as np
    RunSet = c_mod().RunSet
    keys, pids = np.array([1, 2], np.uint64), np.array([3, 4], np.uint32)
    assert RunSet(8, None, 0, [(keys, pids, 0)]).get(2) == 4
    with pytest.raises(ValueError):
        RunSet(6, None, 0, [])
    with pytest.raises(ValueError):
        RunSet(8, None, 0, [(keys, pids[:1], 0)])
    with pytest.raises(ValueError):
        RunSet(8, np.zeros(4, np.uint8), 50, [])  # 2**14 slots, 32 bits
    with pytest.raises(TypeError):
        RunSet(8, None, 0, [(keys, pids)])
    with pytest.raises(TypeError):
        RunSet(8, None, 0, ())
    with pytest.raises(TypeError):
        RunSet(8, None, 0, [(keys, pids, 0)]).owners((1,), None)
    with pytest.raises(TypeError):
        RunSet(8, None, 0, [(keys, pids, 0)]).owners([1], {})  # recent: a KeyTable


@needs_c
@settings(max_examples=40, deadline=None)
@given(st.dictionaries(st.integers(0, 2**64 - 1), st.integers(0, 2**32 - 1), max_size=200), st.sampled_from([8, 4]),
       st.booleans())
def test_dict_columns_match_fromiter(recent: dict[int, int], key_bytes: int, table: bool) -> None:
    import numpy as np
    if key_bytes == 4:
        recent = {k >> 32: p for k, p in recent.items()}
    dtype = np.uint64 if key_bytes == 8 else np.uint32
    kb, pb = c_mod().dict_columns(key_table(key_bytes, recent) if table else recent, key_bytes)
    assert np.frombuffer(kb, dtype).tolist() == list(recent)
    assert np.frombuffer(pb, np.uint32).tolist() == list(recent.values())


@needs_c
@settings(max_examples=60, deadline=None)
@given(st.dictionaries(st.integers(0, 2**64 - 1), st.integers(0, 2**32 - 1), max_size=700), st.sampled_from([8, 4]),
       st.integers(0, 60), st.booleans())
def test_sorted_columns_match_argsort(recent: dict[int, int], key_bytes: int, drop: int, table: bool) -> None:
    """sorted_columns == dict_columns ordered by numpy's argsort (keys of every
    width, including ones whose high bytes are all zero)."""
    import numpy as np
    recent = {k >> (drop if key_bytes == 8 else 32 + drop % 32): p for k, p in recent.items()}
    dtype = np.uint64 if key_bytes == 8 else np.uint32
    kb, pb = c_mod().dict_columns(recent, key_bytes)
    keys, pids = np.frombuffer(kb, dtype), np.frombuffer(pb, np.uint32)
    order = np.argsort(keys)
    skb, spb = c_mod().sorted_columns(key_table(key_bytes, recent) if table else recent, key_bytes)
    assert np.frombuffer(skb, dtype).tolist() == keys[order].tolist()
    assert np.frombuffer(spb, np.uint32).tolist() == pids[order].tolist()
    with pytest.raises(TypeError):
        c_mod().sorted_columns([], key_bytes)


@needs_c
@pytest.mark.parametrize("key_bytes", [8, 4])
@pytest.mark.parametrize("spread", [0, 8, 30])
def test_sorted_columns_keys_that_tie_on_their_top_bits(key_bytes: int, spread: int) -> None:
    """The radix passes sort on the keys' top bits only (enough for hashes);
    keys that share those bits (all of them with spread 0) are still sorted,
    by the insertion pass or past its budget by qsort."""
    import numpy as np
    rng = random.Random(spread)
    width = 8 * key_bytes
    high = 1 << (width - 1)
    recent = {high | (rng.getrandbits(20) << spread | rng.getrandbits(spread)) & (high - 1): p for p in range(3000)}
    dtype = np.uint64 if key_bytes == 8 else np.uint32
    for table in (recent, key_table(key_bytes, recent)):
        kb, pb = c_mod().sorted_columns(table, key_bytes)
        assert np.frombuffer(kb, dtype).tolist() == sorted(recent)
        assert np.frombuffer(pb, np.uint32).tolist() == [recent[k] for k in sorted(recent)]


@c_in_use
@settings(max_examples=40, deadline=None)
@given(st.sampled_from([8, 4]), st.lists(st.integers(0, 2**64 - 1), max_size=400, unique=True),
       st.integers(1, 150), st.booleans())
def test_sorted_columns_drop_keys_in_runs(key_bytes: int, keys: list[int], spill_every: int, table: bool) -> None:
    """sorted_columns(recent, key_bytes, runs) == sorted_columns(recent,
    key_bytes) without the keys runs holds, for recent a dict or a KeyTable."""
    import numpy as np
    bits = 8 * key_bytes
    keys = list(dict.fromkeys(k >> (64 - bits) for k in keys))
    older = filled_table(bits, keys[::2], 1, spill_every)
    older.spill(force=True)
    runs = older.run_set()
    recent = {k: n for n, k in enumerate(keys[len(keys) // 3:])}
    dtype = np.uint64 if key_bytes == 8 else np.uint32
    kb, pb = c_mod().sorted_columns(key_table(key_bytes, recent) if table else recent, key_bytes, runs)
    want = sorted((k, p) for k, p in recent.items() if runs.get(k) is None)
    assert list(zip(np.frombuffer(kb, dtype).tolist(), np.frombuffer(pb, np.uint32).tolist(), strict=True)) == want
    assert c_mod().sorted_columns(recent, key_bytes, None) == c_mod().sorted_columns(recent, key_bytes)
    with pytest.raises(ValueError):
        c_mod().sorted_columns(recent, 12 - key_bytes, runs)  # the runs' keys are of the other width
    with pytest.raises(TypeError):
        c_mod().sorted_columns(recent, key_bytes, {})


@c_in_use
@pytest.mark.parametrize("seed", range(3))
def test_spills_trust_check_lines_notes_only_for_their_runs(seed: int) -> None:
    """check_lines notes whether the keys it puts are in the runs it searched;
    sorted_columns trusts the notes for those runs only: with other runs (a
    RunSet of other keys, or of the same runs made again) it searches them."""
    import numpy as np
    rng = random.Random(seed)
    words = [f"w{i}" for i in range(60)]
    base = [[rng.choice(words) for _ in range(rng.randrange(12, 40))] for _ in range(50)]
    texts = []
    for _ in range(400):
        ws = list(rng.choice(base))
        for _ in range(rng.randrange(0, len(ws))):  # edited copies: some values shared, most not
            ws[rng.randrange(len(ws))] = rng.choice(words)
        texts.append(" ".join(ws))
    exact, near = index.FingerprintTable(64), index.FingerprintTable(32)
    found = 0
    for n, text in enumerate(texts):
        r = c_mod().check_lines([text], 0, 1, n, n, exact.recent, exact.run_set(), near.recent, near.run_set(),
                                None, params(4, 8, 10, 0.5, 0))
        found += r[1] is not None or r[4] is not None
        if n % 90 == 89:
            near.spill(force=True)
            exact.spill(force=True)
    assert found and near.runs and len(near.recent) > 100
    for t in (exact, near):
        kb = t.bits // 8
        dtype = np.uint64 if kb == 8 else np.uint32
        items = t.recent.items()
        other = filled_table(t.bits, [k for k, _ in items[::3]], 1, 50)
        other.spill(force=True)
        again = index.FingerprintTable(t.bits)
        again.runs = list(t.runs)
        for runs in (t.run_set(), again.run_set(), other.run_set()):
            got = c_mod().sorted_columns(t.recent, kb, runs)
            want = sorted((k, p) for k, p in items if runs.get(k) is None)
            assert list(zip(np.frombuffer(got[0], dtype).tolist(), np.frombuffer(got[1], np.uint32).tolist(),
                            strict=True)) == want
        assert len(want) < len(items)


@needs_c
@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 2**24 - 1), max_size=300), st.integers(0, 2**32 - 2**24))
def test_narrow_ids_match_numpy(offsets: list[int], base: int) -> None:
    import numpy as np
    pids = np.array(offsets, np.uint32) + np.uint32(base)
    got = index._narrow(pids, base)
    saved, index._narrow_ids = index._narrow_ids, None
    try:
        want = index._narrow(pids, base)
    finally:
        index._narrow_ids = saved
    assert got.dtype == want.dtype and got.tobytes() == want.tobytes()
    with pytest.raises(ValueError):
        c_mod().narrow_ids(np.array([base + 2**24], np.uint64).astype(np.uint32), base)  # out of reach
    with pytest.raises(ValueError):
        c_mod().narrow_ids(np.array([1], np.uint64), 0)  # not uint32


@needs_c
def test_dict_columns_bad_arguments() -> None:
    f = c_mod().dict_columns
    for bad in ({2**32: 1}, {1: 2**32}, {-1: 0}, {1: -1}, {"a": 1}):
        with pytest.raises((OverflowError, TypeError)):
            f(bad, 4)
    with pytest.raises(TypeError):
        f([], 8)
    with pytest.raises(TypeError):
        f({}, 2)
    with pytest.raises(OverflowError):
        f(key_table(8, {2**32: 1}), 4)


def matcher_paragraphs(seed: int, n: int) -> list[str]:
    """Paragraphs from a small vocabulary, many of them edited copies of earlier
    ones (exact and near repeats, shared sketch values), with numbers and names."""
    rng = random.Random(seed)
    words = ["the", "a", "of", "bank", "rate", "cut", "said", "Tuesday", "Paris", "2024", "12%", "market", "stocks", "fell", "rose", "quietly"]
    out: list[str] = []
    for _ in range(n):
        if out and rng.random() < 0.5:
            ws = rng.choice(out).split()
            for _ in range(rng.randrange(4)):
                ws[rng.randrange(len(ws))] = rng.choice(words)
            if rng.random() < 0.3:
                ws = ws[rng.randrange(len(ws) // 2):]
        else:
            ws = [rng.choice(words) for _ in range(rng.randrange(3, 40))]
        out.append(" ".join(ws))
    return out


def run_matcher(paragraphs: list[str], settings_: object, max_bytes: int | None, chunk: int) -> tuple[object, ...]:
    m = matcher.Matcher(settings_, index.Index(index.IndexParams(), max_bytes))  # type: ignore[arg-type]
    got: list[object] = []
    for d in range(0, len(paragraphs), chunk * 3):
        m.start_doc(f"doc{d}")
        for lo in range(d, min(d + chunk * 3, len(paragraphs)), chunk):
            texts = paragraphs[lo:lo + chunk]
            raws = [t.encode() for t in texts]
            m.prepare(raws, texts)
            got += [m.check(raws[i], t, lo + i, i) for i, t in enumerate(texts)]
            m.end_chunk()
    live = m.live
    live.spill()
    return (got, list(live.para_line), list(live.para_facts), list(live.exact.recent.items()),
            list(live.near.recent.items()),
            [(r.keys.tolist(), r.ids().tolist()) for t in (live.exact, live.near) for r in t.runs], live.sample_shift)


@needs_c
@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("max_bytes", [None, 30_000])
def test_matcher_same_with_and_without_c(monkeypatch: pytest.MonkeyPatch, seed: int, max_bytes: int | None) -> None:
    """Matcher.check with RunSet lookups, probe, KeyTables and dict_columns == the
    numpy batch path with dicts."""
    monkeypatch.setattr(index, "SPILL_AT", 40)  # many runs, merged
    paragraphs = matcher_paragraphs(seed, 1500)
    for near, threshold in ((True, 0.5), (True, 0.3), (False, 0.5)):
        s = matcher.MatchSettings(min_words=4, near=near, near_threshold=threshold, near_min_words=10,
                                  ngram=4, sketch_k=8)
        with_c = run_matcher(paragraphs, s, max_bytes, 37)
        for mod, name in ((matcher, "_RunSet"), (matcher, "_probe"), (index, "_RunSet"), (index, "_dict_columns"),
                          (index, "_merge_runs"), (index, "_filter_set"), (index, "_sorted_columns"),
                          (index, "_narrow_ids"),
                          (dedup, "_KeyTable")):
            monkeypatch.setattr(mod, name, None)
        without = run_matcher(paragraphs, s, max_bytes, 37)
        monkeypatch.undo()
        monkeypatch.setattr(index, "SPILL_AT", 40)
        assert with_c == without
        got = with_c[0]
        assert isinstance(got, list) and any(g is not None and g.kind == "exact" for g in got)
        if near:
            assert any(g is not None and g.kind == "near" for g in got)
        if max_bytes and near:
            assert with_c[-1] > 0  # sampled: the Python path took over


@c_in_use
def test_probe_sketch_changed_by_python_code() -> None:
    """probe reads a sketch value that is no int through its __index__, which
    may empty the list: the values left are read from the list as it is now."""
    code = """if 1:
        from cleaner import index
        from cleaner._speedups import KeyTable, probe
        class Value:
            def __index__(self):
                sk.clear()
                return 1
        sk = [Value()] + [2**20 + i for i in range(200)]
        runs = index.FingerprintTable(64).run_set()
        exact, near = KeyTable(8), KeyTable(4)
        assert probe(7, sk, 0.5, 3, exact, runs, near, runs) is None
        assert near == {1: 3}, near
        print("ok")
    """
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert (r.returncode, r.stdout) == (0, "ok\n"), r.stderr[-2000:]


@c_in_use
def test_probe_bad_arguments() -> None:
    probe = c_mod().probe
    runs = index.FingerprintTable(64).run_set()
    kt8, kt4 = key_table(8), key_table(4)
    with pytest.raises(TypeError):
        probe(1, [], 0.5, 0, kt8, runs, kt4)
    with pytest.raises(TypeError):
        probe(1, (), 0.5, 0, kt8, runs, kt4, runs)
    with pytest.raises(TypeError):
        probe(1, [], 0.5, 0, kt8, {}, kt4, runs)
    with pytest.raises(TypeError):
        probe(1, [], 0.5, 0, {}, runs, kt4, runs)  # recent: KeyTables
    with pytest.raises(OverflowError):
        probe(1, [2**32], 0.5, 0, kt8, runs, kt4, runs)  # a near key past 4 bytes
    exact, near = key_table(8), key_table(4)
    assert probe(7, [1, 2], 0.5, 3, exact, runs, near, runs) is None
    assert exact == {7: 3} and near == {1: 3, 2: 3}
    assert probe(7, [1, 2], 0.5, 4, exact, runs, near, runs) == 3
    assert probe(8, [1, 2], 0.5, 4, exact, runs, near, runs) == [3, 3]
    assert probe(9, [1, 5, 6, 7], 0.75, 5, exact, runs, near, runs) is None  # one of four: cannot reach 3


def probe_reference(key: int, sk: list[int], threshold: float, pid: int, exact_recent: Any,
                    exact_runs: object, near_recent: Any, near_runs: object) -> object:
    """What _speedups.probe returns and indexes, in Python (Matcher.check's path)."""
    owner = exact_recent.get(key, exact_runs.get(key))  # type: ignore[attr-defined]
    if owner is not None:
        return owner
    owners = [p for p in (near_recent.get(h, near_runs.get(h)) for h in sk) if p is not None]  # type: ignore[attr-defined]
    if owners and len(owners) - len(set(owners)) + 1 >= threshold * len(sk) - 1:
        return owners
    exact_recent.setdefault(key, pid)
    for h in sk:
        near_recent.setdefault(h, pid)
    return None


@c_in_use
@settings(max_examples=150, deadline=None)
@given(st.integers(0, 2**32), st.lists(st.integers(0, 2**32 - 1), min_size=1, max_size=40),
       st.lists(st.integers(0, 10**6), min_size=1, max_size=12), st.sampled_from([0.0, 0.3, 0.5, 0.75, 1.0]),
       st.integers(0, 3))
def test_probe_matches_its_reference(seed: int, known: list[int], picks: list[int], threshold: float,
                                     n_recent: int) -> None:
    """probe (which skips the runs' search when too few sketch values pass the
    filter or sit in recent to reach the threshold) == the plain Python path."""
    rng = random.Random(seed)
    near = filled_table(32, known + [rng.getrandbits(32) for _ in range(rng.randrange(3000))], 1, 500)
    exact = filled_table(64, [rng.getrandbits(64) for _ in range(50)], 1, 20)
    sk = [known[p % len(known)] if p % 3 else rng.getrandbits(32) for p in picks]
    key = rng.getrandbits(64)
    exact_runs, near_runs = exact.run_set(), near.run_set()
    got_recent = (key_table(8), key_table(4, {k: 7 for k in known[:n_recent]}))
    want_recent: tuple[dict[int, int], dict[int, int]] = ({}, {k: 7 for k in known[:n_recent]})
    got = c_mod().probe(key, sk, threshold, 10**6, got_recent[0], exact_runs, got_recent[1], near_runs)
    want = probe_reference(key, sk, threshold, 10**6, want_recent[0], exact_runs, want_recent[1], near_runs)
    assert got == want
    assert [list(t.items()) for t in got_recent] == [list(t.items()) for t in want_recent]


@c_in_use
@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("max_bytes", [None, 30_000])
def test_matcher_check_lines_same_as_probe(monkeypatch: pytest.MonkeyPatch, seed: int, max_bytes: int | None) -> None:
    """Matcher.check through check_lines (one call per paragraph, or per run of
    paragraphs judged ahead) == through near_fingerprints and probe: the same
    decisions and the same index."""
    monkeypatch.setattr(index, "SPILL_AT", 40)
    paragraphs = matcher_paragraphs(seed, 1200)
    # a few texts the C fingerprints refuse (the Python path takes them), and
    # a few too short to judge or for near matching
    paragraphs = [p + " \U0001f600" if n % 17 == 5 else "  " if n % 23 == 3 else p[:15] if n % 29 == 7 else p
                  for n, p in enumerate(paragraphs)]
    for near, threshold in ((True, 0.5), (True, 0.3), (False, 0.5)):
        s = matcher.MatchSettings(min_words=4, near=near, near_threshold=threshold, near_min_words=10,
                                  ngram=4, sketch_k=8)
        calls: Counter[str] = Counter()

        def counted(*args: Any, calls: Counter[str] = calls) -> object:
            r = c_mod().check_lines(*args)
            calls["found" if r[1] is not None else "none" if r[0] == args[1] else "new"] += 1
            calls["ahead"] += r[0] - args[1] > 1
            calls["repeats"] += r[4] is not None
            return r

        for keys in (False, True):
            monkeypatch.setattr(matcher, "_check_lines", counted)
            one = run_matcher_keys(paragraphs, s, max_bytes, keys)
            ahead = run_matcher_keys(paragraphs, s, max_bytes, keys, ahead=True)
            monkeypatch.setattr(matcher, "_check_lines", None)
            without = run_matcher_keys(paragraphs, s, max_bytes, keys)
            assert one == without
            assert ahead == without
        assert calls["none"] and calls["new"] and calls["ahead"] and calls["repeats"]
        assert calls["found"] or not near


def run_matcher_keys(paragraphs: list[str], settings_: object, max_bytes: int | None,
                     keys: bool, ahead: bool = False) -> tuple[object, ...]:
    """run_matcher, with the documents' keys noted (``start_doc(keys=True)``) or
    not, and a few paragraphs checked outside the chunk (``--unit block``).
    ``ahead``: as the engine's fast path, each check may judge the chunk's
    lines ahead up to the next one checked outside it (``new_until``; the
    exact repeats among them are asked for again, as the engine does)."""
    m = matcher.Matcher(settings_, index.Index(index.IndexParams(), max_bytes))  # type: ignore[arg-type]
    got: list[object] = []
    chunk = 37
    for d in range(0, len(paragraphs), chunk * 3):
        m.start_doc(f"doc{d}", keys=keys)
        for lo in range(d, min(d + chunk * 3, len(paragraphs)), chunk):
            texts = paragraphs[lo:lo + chunk]
            raws = [t.encode() for t in texts]
            m.prepare(raws, texts)
            new_until = -1
            for i, t in enumerate(texts):
                if i % 5 == 0:
                    got.append(m.check(raws[i], t, lo + i, -1))
                elif not ahead:
                    got.append(m.check(raws[i], t, lo + i, i))
                elif i < new_until:  # judged ahead: new, or an exact repeat
                    got.append(m.check(raws[i], t, lo + i, i) if i in m.repeats else None)
                elif t.isspace() or len(t) < m.short:
                    got.append(None)
                else:
                    got.append(m.check(raws[i], t, lo + i, i, min(len(texts), i + 5 - i % 5)))
                    new_until = m.new_until
            m.end_chunk()
        got.append(None if m.doc_keys is None else sorted(m.doc_keys))
    live = m.live
    live.spill()
    return (got, list(live.para_line), list(live.para_facts), list(live.para_doc.starts), list(live.para_doc.docs),
            list(live.exact.recent.items()), list(live.near.recent.items()),
            [(r.keys.tolist(), r.ids().tolist()) for t in (live.exact, live.near) for r in t.runs], live.sample_shift)


def check_lines_reference(text: str, k: int, threshold: float, pid: int,
                          recent: tuple[Any, Any], runs: tuple[object, object],
                          keys: dedup.KeyIds) -> object:
    """check_lines of one text, in two calls: near_fingerprints, then probe (an
    exact repeat: the copy's id)."""
    fp = c_mod().near_fingerprints(text, 4, k, 10 if len(text) >= 20 else 10**9)
    if fp is None:
        return None
    key, sk, facts = fp
    if len(keys) < 5:
        keys.setdefault(key, 0)
    found = c_mod().probe(key, sk, threshold, pid, recent[0], runs[0], recent[1], runs[1])
    return facts if found is None else found if isinstance(found, int) else (key, sk, facts, found)


LIMITS = (5, 20, 100_000, 10**6, 0)  # check_lines' short, near_from, max_chars, spill_at, min_words


def params(ngram: int, k: int, near_min_words: int, threshold: float, max_keys: int,
           limits: tuple[int, ...] = LIMITS) -> tuple[Any, ...]:
    """check_lines' last argument."""
    return (ngram, k, near_min_words, threshold, max_keys, *limits)


@c_in_use
@settings(max_examples=150, deadline=None)
@given(st.integers(0, 2**32), st.lists(st.integers(0, 39), min_size=1, max_size=8),
       st.sampled_from([0.0, 0.3, 0.5, 0.75, 1.0]), st.booleans(), st.sampled_from([8, 40, 70]))
def test_check_lines_matches_near_fingerprints_and_probe(seed: int, picks: list[int], threshold: float,
                                                          spill: bool, k: int) -> None:
    """Texts built from earlier ones (exact copies, edited copies), indexed
    one at a time through check_lines and through its reference: same
    results, same dicts."""
    rng = random.Random(seed)
    words = ["the", "bank", "rate", "Paris", "2024", "fell", "rose", "é", "Straße", "\U0001f600", "of", "a"]
    base = [" ".join(rng.choice(words) for _ in range(rng.randrange(2, 100))) for _ in range(40)]
    tables = [(index.FingerprintTable(64), index.FingerprintTable(32)) for _ in range(2)]
    keys = [key_table(8), key_table(8)]
    for n, p in enumerate(picks):
        ws = base[p].split()
        if n % 2:
            ws[rng.randrange(len(ws))] = rng.choice(words)
        text = " ".join(ws)
        c = tables[0]
        stop, found, lines, facts, repeats = c_mod().check_lines([text], 0, 1, 7, n, c[0].recent, c[0].run_set(),
                                                                 c[1].recent, c[1].run_set(), keys[0],
                                                                 params(4, k, 10, threshold, 5))
        if len(text) < LIMITS[0]:  # too short to judge: skipped
            assert (stop, found, lines, repeats) == (1, None, b"", None)
            continue
        if repeats is not None:  # an exact repeat (min_words 0: whatever its words): judged, the copy's id
            assert stop == 1 and found is None and lines == b"" and list(repeats) == [0]
            got: object = repeats[0]
        else:
            got = found if found is not None or stop == 0 else array("I", facts)[0]
        assert lines in (b"", array("I", [7]).tobytes())
        t = tables[1]
        want = check_lines_reference(text, k, threshold, n, (t[0].recent, t[1].recent),
                                     (t[0].run_set(), t[1].run_set()), keys[1])
        assert got == want and list(keys[0]) == list(keys[1])
        assert [list(t.recent.items()) for t in tables[0]] == [list(t.recent.items()) for t in tables[1]]
        if spill and n % 3 == 2:
            for t in tables:
                t[0].spill(force=True)
                t[1].spill(force=True)


@c_in_use
@settings(max_examples=100, deadline=None)
@given(st.integers(0, 2**32), st.lists(st.integers(0, 59), min_size=1, max_size=30),
       st.sampled_from([0.3, 0.5]), st.sampled_from([3, 10, 10**6]), st.sampled_from([100_000, 60]))
def test_check_lines_in_one_call_as_one_at_a_time(seed: int, picks: list[int], threshold: float,
                                                  spill_at: int, max_chars: int) -> None:
    """A run of texts through one check_lines call (resumed where it stops)
    and one text per call: the same results, rows and tables (a call takes
    each paragraph's prints before judging the one before it: stops there
    must not change what it judged; ``max_chars`` 60 makes some texts
    Python's, as an emoji does)."""
    rng = random.Random(seed)
    words = ["the", "bank", "rate", "Paris", "2024", "fell", "rose", "é", "of", "a", "\U0001f600"]
    base = [" ".join(rng.choice(words) for _ in range(rng.randrange(0, 40))) for _ in range(30)]
    for t in base[:30]:  # near copies (a word changed, one added): near candidates
        w = t.split() or ["the"]
        w[rng.randrange(len(w))] = rng.choice(words)
        base.append(" ".join([*w, rng.choice(words)]))
    texts = [base[p] for p in picks]
    limits = (*LIMITS[:2], max_chars, spill_at, 4)

    def run(step: int) -> tuple[object, ...]:
        """Each text's result (None: new or skipped; an exact repeat's copy;
        the near candidates found; "py": left to Python, here dropped as a
        found one is), the rows and the tables."""
        exact, near = c_mod().KeyTable(8), c_mod().KeyTable(4)
        runs = index.FingerprintTable(64).run_set()
        out: list[object] = []
        rows = [b"", b""]
        j = 0
        while j < len(texts):
            hi = min(len(texts), j + step)
            stop, found, lines, facts, repeats = c_mod().check_lines(texts, j, hi, 100 + j, len(rows[0]) // 4,
                                                                     exact, runs, near, runs, None,
                                                                     params(4, 8, 10, threshold, 0, limits))
            repeats = repeats or {}
            out += [repeats.get(i) for i in range(j, stop)]
            rows = [rows[0] + lines, rows[1] + facts]
            if found is not None:
                out.append(found)
                stop += 1
            elif stop < hi and (stop == j or (len(exact) < spill_at and len(near) < spill_at)):
                out.append("py")
                stop += 1
            j = stop
        return out, rows, list(exact.items()), list(near.items())

    assert run(1) == run(len(texts))


@c_in_use
def test_check_lines_bad_arguments() -> None:
    f = c_mod().check_lines
    runs = index.FingerprintTable(64).run_set()
    e, n = key_table(8), key_table(4)
    args = (["text"], 0, 1, 1, 0, e, runs, n, runs, None, params(4, 8, 10, 0.5, 0))

    def bad(**at: object) -> tuple[object, ...]:
        a = list(args)
        for i, v in at.items():
            a[int(i[1:])] = v
        return tuple(a)

    with pytest.raises(TypeError):
        f(*args[:-1])
    with pytest.raises(TypeError):
        f(*bad(a6={}))  # runs: RunSets
    with pytest.raises(TypeError):
        f(*bad(a9=[]))  # keys: a KeyTable(8) or None
    with pytest.raises(TypeError):
        f(*bad(a9=set()))
    with pytest.raises(TypeError):
        f(*bad(a9=key_table(4)))
    with pytest.raises(TypeError):
        f(*bad(a0=[b"text"]))
    with pytest.raises(TypeError):
        f(*bad(a0=("text",)))
    with pytest.raises(TypeError):
        f(*bad(a10=params(4, 8, 10, 0.5, 0)[:-1]))
    with pytest.raises(TypeError):
        f(*bad(a10=[*params(4, 8, 10, 0.5, 0)]))
    with pytest.raises(ValueError):
        f(*bad(a10=params(0, 8, 10, 0.5, 0)))  # ngram 0
    with pytest.raises(ValueError):
        f(*bad(a1=1, a2=2))  # lo past the list
    with pytest.raises(ValueError):
        f(*bad(a1=-1))
    with pytest.raises(ValueError):
        f(*bad(a3=2**32))
    with pytest.raises(TypeError):
        f(*bad(a5={}))  # recent: KeyTables
    with pytest.raises(TypeError):
        f(*bad(a5=n))  # exact keys: 8 bytes
    exact, near = key_table(8), key_table(4)
    keys = key_table(8)
    text = "one two three four five six seven eight nine ten eleven twelve"

    def call(texts: list[str], pid: int, keys: dedup.KeyIds | None, max_keys: int, min_words: int = 0,
             limit: int | None = None) -> tuple[Any, ...]:
        return f(texts, 0, len(texts) if limit is None else limit, 5, pid,  # type: ignore[no-any-return]
                 exact, runs, near, runs, keys, params(4, 8, 10, 0.5, max_keys, (*LIMITS[:4], min_words)))

    stop, found, lines, facts, repeats = call([text], 3, keys, 1)
    assert (stop, found, array("I", lines).tolist(), len(facts), repeats) == (1, None, [5], 4, None)
    assert set(exact.values()) == {3} and len(near) == 8 and set(near.values()) == {3}
    assert list(keys) == list(exact)
    assert call([text], 4, None, 0) == (1, None, b"", b"", {0: 3})  # an exact repeat: judged, the copy's id
    assert call([text], 4, None, 0, min_words=13) == (1, None, b"", b"", None)  # too short to be a repeat
    found = call([text + " thirteen"], 4, keys, 1)[1][3]  # near candidates
    assert isinstance(found, list) and set(found) == {3} and len(found) >= 4
    assert len(keys) == 1  # full
    assert call([text + " \U0001f600"], 4, None, 0)[:2] == (0, None)  # left to Python
    # skipped (short, blank), new, an exact repeat, new, then stopped at near
    # candidates: rows for the new ones only
    stop, found, lines, facts, repeats = call(["abc", "   \t", "a b c d e f", text, "g h i j k l m",
                                               text + " thirteen", "x"], 4, None, 0)
    assert stop == 5 and set(found[3]) == {3} and array("I", lines).tolist() == [5 + 2, 5 + 4]
    assert repeats == {3: 3}
    # the limit: past the list, the list's end; at or before lo, texts[lo] alone
    fresh = ["p q r s t u v", "u v w x y z a", "b c d e f g h"]
    for limit, stop in ((99, 3), (0, 1), (-1, 1), (2, 2)):
        exact, near = key_table(8), key_table(4)
        assert call(fresh, 4, None, 0, limit=limit)[0] == stop
        assert len(exact) == stop
    exact, near = key_table(8), key_table(4)
    assert f(fresh, 1, 1, 5, 4, exact, runs, near, runs, None, params(4, 8, 10, 0.5, 0, LIMITS))[0] == 2


@needs_c
def test_matcher_line_index_past_the_chunk(monkeypatch: pytest.MonkeyPatch) -> None:
    """A line held across chunks keeps its old index (a block rule's look-ahead):
    past the new chunk's end it is fingerprinted from its own text, both ways."""
    text = "a paragraph long enough to be judged for near copies of itself here"
    s = matcher.MatchSettings(min_words=4, near=True, near_threshold=0.5, near_min_words=10, ngram=4, sketch_k=8)
    got = []
    for c in (True, False):
        if not c:
            monkeypatch.setattr(matcher, "_RunSet", None)
            monkeypatch.setattr(matcher, "_probe", None)
        m = matcher.Matcher(s, index.Index(index.IndexParams()))
        m.start_doc("d")
        m.prepare([b"short"], ["short"])
        got.append([m.check(text.encode(), text, 1, 7), m.check(text.encode(), text, 2, 9)])
    assert got[0] == got[1] and got[0][0] is None and got[0][1] is not None


# -- the table's cache ------------------------------------------------------------
def test_speedups_table_cache_gives_the_built_table(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The cached table is the one built, read back without building it again;
    a damaged cache file is built again (and rewritten), never used."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv("CLEANER_NO_CACHE", raising=False)
    fold_max, record_size = 8, 2 + 2 + 2 * 8
    built = dedup.speedups_table(fold_max, record_size)
    assert dedup.cached_speedups_table(fold_max, record_size) == built  # built, then written
    [path] = (tmp_path / "corpus-cleaner").glob("speedups-*.bin")

    def no_build(*_: object) -> bytes:
        raise AssertionError("built again")

    monkeypatch.setattr(dedup, "speedups_table", no_build)
    assert dedup.cached_speedups_table(fold_max, record_size) == built  # read back
    data = bytearray(path.read_bytes())
    data[100] ^= 1
    path.write_bytes(bytes(data))
    with pytest.raises(AssertionError, match="built again"):
        dedup.cached_speedups_table(fold_max, record_size)
    path.write_bytes(built)  # no checksum: not the cache's own file
    with pytest.raises(AssertionError, match="built again"):
        dedup.cached_speedups_table(fold_max, record_size)
