"""The prefilter may report too many rules, never too few: every line a rule's
regex matches must be reported for that rule, whatever Unicode is around."""

from __future__ import annotations

import os
import time
from array import array
from pathlib import Path
from typing import Any

import pytest
import regex
from hypothesis import given, settings
from hypothesis import strategies as st

from cleaner import Cleaner, Config, literals, prefilter
from cleaner.classify import word_count
from cleaner.prefilter import Prefilter, Unwidenable, canonical, widen

ENGINE = Cleaner(Config(dedup="off")).engine
RULES = ENGINE.ruleset
EXAMPLES = sorted({ex for r in RULES.rules for ex in (*r.drop_examples, *r.keep_examples)})
NOISE = st.sampled_from([" ", "\xa0", "\u2009", "\u3000", "\t", "É", "é", "’", "—", "1", "A", "a", ".", "",
                         "ſ", "ı", "İ", "\u212a"])
# letters the regex module's (?i) matches across the ASCII boundary
FOLDS = {"s": "ſ", "S": "ſ", "i": "İ", "I": "ı", "k": "\u212a", "K": "\u212a"}


@st.composite
def mutated(draw: st.DrawFn) -> str:
    text = draw(st.sampled_from(EXAMPLES))
    for _ in range(draw(st.integers(0, 3))):
        pos = draw(st.integers(0, len(text)))
        text = text[:pos] + draw(NOISE) + text[pos:]
    if draw(st.booleans()):
        text = text.replace(" ", draw(st.sampled_from(["\xa0", "\u2002", "  ", " "])))
    if draw(st.booleans()):
        letter = draw(st.sampled_from(sorted(FOLDS)))
        text = text.replace(letter, FOLDS[letter])
    if draw(st.booleans()):
        text = draw(st.sampled_from([text.upper(), text.lower(), text.swapcase()]))
    return text


def reported(lines: list[str]) -> dict[int, set[int]]:
    hits = ENGINE.candidates("\n".join(lines).encode("utf-8"))
    return {i: set(hits.get(i, ())) | set(ENGINE.always) for i in range(len(lines))}


@settings(max_examples=400, deadline=None)
@given(st.lists(mutated(), min_size=1, max_size=5))
def test_every_regex_match_is_reported(lines: list[str]) -> None:
    # (the engine never tries a rule on a line longer than its max_words)
    got = reported(lines)
    for i, line in enumerate(lines):
        for idx, rule in enumerate(RULES.rules):
            if rule.accepts_words(word_count(line)) and any(p.search(line) for p in rule.compiled):
                assert idx in got[i], (rule.id, line, widen(rule.patterns[0]))


# Lines Hyperscan builds were seen to miss (each after the lines before it):
# the regexes match the last line; the prefilter must report it.
MISSED_BEFORE = [
    ["#1 seed Alabama lost to Georgia on Saturday.", " Don't Miss"],
    ["Real Estate Video", "Sections"],
    ["{* loginWidget *}", "Use another account", "Sign In"],
    ["#1 seed Alabama lost to Georgia on Saturday.", " Crédit photo : AFP"],
]


@pytest.mark.parametrize("lines", MISSED_BEFORE)
def test_lines_missed_by_buggy_builds_are_reported(lines: list[str]) -> None:
    last = len(lines) - 1
    matching = {i for i, r in enumerate(RULES.rules) if any(p.search(lines[last]) for p in r.compiled)}
    assert matching, "the case no longer matches any rule: pick another"
    assert matching <= reported(lines)[last]


@pytest.mark.parametrize(("version", "usable"), [("0.7.21", True), ("0.7.13", True), ("0.7.23", False),
                                                 ("0.9.1", False), ("0.7.9", False), ("dev", False)])
def test_known_bad_hyperscan_builds_are_not_used(version: str, usable: bool) -> None:
    assert prefilter._usable_version(version) is usable


def test_all_default_patterns_go_through_hyperscan() -> None:
    hs = pytest.importorskip("hyperscan")
    # the pin in pyproject.toml installs a good build; a bad one means it broke
    assert prefilter._usable_version(hs.__version__), prefilter.hyperscan_status()
    assert ENGINE.prefilter.uses_hyperscan
    assert ENGINE.always == (), [RULES.rules[i].id for i in ENGINE.always]


def test_canonical_keeps_line_breaks_and_maps_unicode_spaces() -> None:
    buf = "a\xa0b\n\u3000c\u2009\n".encode()
    assert canonical(buf) == b"a b\n c \n"


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(["a", " ", "\n", "é", "’", *prefilter._UNICODE_SPACES]), max_size=40))
def test_scan_buffer_is_canonical(text: str) -> None:
    buf = text.encode("utf-8")
    assert (prefilter._c_scan_buffer or prefilter._scan_buffer_py)(buf)[0] == b"\n" + canonical(buf) + b"\n"


@pytest.mark.parametrize("pattern", ["[^ ]x", "[^\\x20]", "[^\xa0]", "[^\\xa0]"])
def test_negated_classes_excluding_spaces_are_not_widened(pattern: str) -> None:
    with pytest.raises(Unwidenable):
        widen(pattern)


def test_unwidenable_rule_is_checked_on_every_line() -> None:
    pf = Prefilter([(0, "[^ ]{3}x"), (1, "hello")])
    assert pf.always == (0,)


@pytest.mark.parametrize(("pattern", "line"), [
    ("^Zo{,2}rblax$", "Zorblax"),  # regex reads {,n} as {0,n}; Hyperscan read it as text
    ("^Zo{,}rblax$", "Zooorblax"),
    ("^Zorblax[[:space:]]quux$", "Zorblax quux"),  # a POSIX class
    ("^Zorblax[[:alpha:][:digit:]]$", "Zorblax7"),
    ("(?V1)^Zorbla[[a-z]--[aeiou]]$", "Zorblax"),  # set operations
])
def test_patterns_widen_knows_little_of_still_report_their_lines(pattern: str, line: str) -> None:
    assert regex.search(pattern, line)
    lines = ["An article line long enough to be prose for the engine here.", line, "Another line."]
    pf = Prefilter([(0, pattern), (1, "hello")])
    hits = pf.scan("\n".join(lines).encode())
    assert 0 in pf.always or 0 in hits.get(1, ()), widen(pattern) if 0 not in pf.always else "always"


def test_counted_repeats_are_widened_as_regex_reads_them() -> None:
    assert widen("xa{,2}b") == "xa{0,2}b"
    assert widen("xa{,}b") == "xa*b"
    assert widen("xa{,9}b") == "xa*b"
    assert widen("xa{1,3}b{2}") == "xa{1,3}b{2}"
    assert Prefilter([(0, "x{}y")]).scan(b"a\nx{}y") == {1: [0]}  # no repeat: literal text, as in regex


def test_excluding_line_breaks_is_fine() -> None:
    assert widen("[^\\n]{0,20}x") == "[^\\n]*x"


def test_database_cache_is_pruned(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # each rule edit makes a new database file: old and least recently used ones go
    if not prefilter._hs_usable:
        pytest.skip("no usable hyperscan")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv("CLEANER_NO_CACHE", raising=False)
    folder = tmp_path / "corpus-cleaner"
    folder.mkdir()
    stale = folder / "hs1-stale.db"
    stale.write_bytes(b"x")
    os.utime(stale, (1, 1))  # unused for decades
    recent = [folder / f"hs1-recent{i}.db" for i in range(3)]
    for i, f in enumerate(recent):
        f.write_bytes(b"y" * 100_000)
        os.utime(f, (time.time() - 100 + i, time.time() - 100 + i))
    monkeypatch.setattr(prefilter, "CACHE_MAX_BYTES", 250_000)  # the new one (a few KB) + two
    pf = Prefilter([(0, "(?i)^pruning test line [0-9]+$")])
    assert pf.uses_hyperscan
    left = {f.name for f in folder.glob("hs1-*.db")}
    assert "hs1-stale.db" not in left
    assert {"hs1-recent2.db", "hs1-recent1.db"} <= left  # the most recent fit the budget
    assert "hs1-recent0.db" not in left
    made = left - {"hs1-recent2.db", "hs1-recent1.db"}  # this run's databases (full, fast, finders)
    assert made and not any(n.startswith("hs1-recent") or n == "hs1-stale.db" for n in made)


def test_fold_letters_are_found_beside_plain_lines() -> None:
    # lines holding ſ ı İ K are scanned with the full automata, the rest with the fast ones
    if not prefilter._hs_usable:
        pytest.skip("no usable hyperscan")
    pf = Prefilter([(0, "(?i)^share this$")])
    lines = ["nothing here", "SHARE THİS", "share this", "ſhare thiſ", "share that", "Share thıs"]
    hits = pf.scan("\n".join(lines).encode("utf-8"))
    assert {1, 2, 3, 5} <= set(hits)  # (Hyperscan's prefilter mode may report more)
    assert 0 not in hits


def test_widened_patterns_are_remembered(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv("CLEANER_NO_CACHE", raising=False)
    pats = ["(?i)^share this$", "^a\\Sb", "[^ ]x"]  # the last is Unwidenable ([^ ] matches a NBSP)
    first = prefilter._widened(pats)
    fast = [widen(p, folds=False) for p in pats[:2]]
    assert first == {pats[0]: (widen(pats[0]), fast[0], True, 2, prefilter.bytewise_form(fast[0])),
                     pats[1]: (widen(pats[1]), fast[1], False, None, prefilter.bytewise_form(fast[1])), pats[2]: None}
    [cached] = (tmp_path / "corpus-cleaner").glob("widen-*.json")
    assert prefilter._read_widened(cached) == first
    cached.write_text('{"(?i)^share this$": ["x"]}')  # not ours: ignored, widened again
    assert prefilter._widened(pats) == first
    cached.write_text("not json")
    assert prefilter._widened(pats) == first


def test_line_start_patterns_are_split_in_two() -> None:
    blanks = f"[{prefilter._ASCII_SPACE}]"
    assert prefilter._split_lead(f"(?i)\\n{blanks}*(?:we|our) site") == [
        "(?i)\\n(?:we|our) site", f"(?i)\\n{blanks}+(?:we|our) site"]
    assert prefilter._split_lead(f"\\n{blanks}*a|b") == ["\\na|b", f"\\n{blanks}+a|b"]
    for kept in (f"\\n{blanks}*?a", f"\\n{blanks}*+a", f"x\\n{blanks}*a", f"(?i)\\n{blanks}a", "(?i)\\na"):
        assert prefilter._split_lead(kept) == [kept]


@pytest.mark.skipif(not prefilter._hs_usable, reason="no usable hyperscan")
def test_split_patterns_report_what_whole_ones_do(monkeypatch: pytest.MonkeyPatch) -> None:
    """The default pack on corpus lines, with and without _split_lead; lines
    that start with blanks are the ones the second half finds. The blank-led
    half scans those lines apart, so the line after one may differ, never
    by a candidate a rule's regex backs (a match that ends at a line break
    also names the next line)."""
    root = Path(__file__).resolve().parent.parent
    paths = sorted((root / "corpus_samples").glob("*.txt"))
    lines = [ln for p in paths for ln in p.read_text("utf-8", "replace").replace("\r\n", "\n").split("\n")]
    lines += [" \t" + ex for ex in EXAMPLES] + ["\u3000" + ex for ex in EXAMPLES] + EXAMPLES
    buf = "\n".join(lines).encode("utf-8")
    engine = Cleaner(Config(dedup="off")).engine
    split = engine.candidates(buf)
    monkeypatch.setattr(prefilter, "_split_lead", lambda expr: [expr])
    whole = Cleaner(Config(dedup="off")).engine.candidates(buf)
    blank_led = {i for i, line in enumerate(lines) if line[:1].isspace()}
    changed = {i for i in set(split) | set(whole) if split.get(i) != whole.get(i)}
    assert changed <= blank_led | {i + 1 for i in blank_led}
    for i in changed:
        for rule in set(whole.get(i, [])) - set(split.get(i, [])):
            assert not any(p.search(lines[i]) for p in engine.rules[rule].compiled), (lines[i], rule)
    assert len(split) > 100 and len(changed) < len(blank_led)


@pytest.mark.skipif(not prefilter._hs_usable, reason="no usable hyperscan")
def test_a_match_at_a_line_end_names_that_line_alone() -> None:
    # "$" becomes the line break that also starts the next line: a pattern
    # whose matches all end at a line's end names that line alone
    pf = Prefilter([(0, "(?i)^share this\\s*$")])
    assert pf.scan(b"share this\nother line\nshare this") == {0: [0], 2: [0]}


def test_match_lines_names_the_next_line_unless_the_pattern_ends_lines() -> None:
    padded, found = b"\nab\ncd\n", bytearray(array("I", (4, 0, 4, 1)).tobytes())  # both end at the break
    for fn in {prefilter._match_lines_py, prefilter._c_match_lines or prefilter._match_lines_py}:
        for ends, want in ((None, [(0, 7), (1, 7), (0, 9), (1, 9)]), (b"\x00\x01", [(0, 7), (1, 7), (0, 9)])):
            pairs = bytearray()
            fn(padded, found, [7, 9], None, pairs, ends)
            values = array("I", pairs)
            assert list(zip(values[::2], values[1::2], strict=True)) == want
        with pytest.raises(ValueError):
            fn(padded, found, [7, 9], None, bytearray(), b"\x00")


def test_ends_lines() -> None:
    for pattern in ("foo$", "(?i)^a\\s*$", "^a$|b\\Z", "(?:x|y$)$", "foo\\z", "(?:^a|b)(?:c$|d$)"):
        assert literals.ends_lines(pattern), pattern
    for pattern in ("foo", "foo$|bar", "foo(?=\\s*$)", "foo$(?:x)?", "(?:c|d$)", "(?x)foo $", "[", "a{e<=1}$"):
        assert not literals.ends_lines(pattern), pattern


def words_of(line: str) -> int:
    """Words as the prefilter's tiers count them."""
    return len(canonical(line.encode("utf-8")).split())


# pieces of patterns and lines for line_words: blanks, letters, classes
ATOMS = st.sampled_from(["a", "B", " ", "\\s", "\\S", "\\w", "\\W", "\\d", "\\D", "[a ]", "[^a]", "[a-c]", "[\\s\\w]",
                         ".", "\\p{Zs}", "\\P{Lu}", "\\p{Lu}", "\\xa0", "\\x{3000}", "(?:a|b c)", "\u3000", "\t",
                         "(?i:k)", "\\b", "(?=a)", "[^\\S]"])
QUANTS = st.sampled_from(["", "", "*", "+", "?", "{0,3}", "{2}", "{1,5}?", "*+"])


@st.composite
def bounded_patterns(draw: st.DrawFn) -> str:
    parts = draw(st.lists(st.tuples(ATOMS, QUANTS), min_size=1, max_size=6))
    body = "".join(a + q for a, q in parts)
    if draw(st.booleans()):
        other = "".join(a + q for a, q in draw(st.lists(st.tuples(ATOMS, QUANTS), min_size=1, max_size=3)))
        body = f"(?:{body}|{other})" if draw(st.booleans()) else f"{body}$|^{other}"
    return f"^{body}$"


@settings(max_examples=300, deadline=None)
@given(bounded_patterns(), st.lists(st.text(st.sampled_from("abBk \xa0\u3000\t-\u212a1"), max_size=12), min_size=1, max_size=30))
def test_line_words_bounds_the_words_of_matched_lines(pattern: str, lines: list[str]) -> None:
    bound = literals.line_words(pattern, prefilter._BLANKS)
    if bound is None:
        return
    compiled = regex.compile(pattern)
    for line in lines:
        if compiled.search(line):
            assert words_of(line) <= bound, (pattern, line, bound)


def test_line_words_of_the_rules_bound_their_examples() -> None:
    for rule in RULES.rules:
        for pat, compiled in zip(rule.patterns, rule.compiled, strict=True):
            bound = literals.line_words(pat, prefilter._BLANKS)
            for ex in (*rule.drop_examples, *rule.keep_examples, *EXAMPLES):
                if bound is not None and compiled.search(ex):
                    assert words_of(ex) <= bound, (rule.id, pat, ex)


@pytest.mark.parametrize(("pattern", "words"), [
    ("^a b$", 2), ("(?i)^\\s*no comments?\\s*$", 2), ("^\\w+\\s\\w+$", 2), ("^a$|^b c d$", 3),
    ("^[\\w.-]{1,80}\\.png\\s*$", 1), ("^(?: \\w+){0,4}$", 4), ("^x{0,7}$", 1), ("^[^a]{0,7}$", 4),
    ("^a\\p{Zs}b$", 3), ("^a\\p{Lu}b$", 1),
    ("^a", None), ("a$", None), ("^\\w+(?: \\w+)*$", None), ("^.*$", None), ("^(a)\\1$", None), ("(?x)^a b$", None),
])
def test_line_words(pattern: str, words: int | None) -> None:
    assert literals.line_words(pattern, prefilter._BLANKS) == words


@pytest.mark.skipif(not prefilter._hs_usable, reason="no usable hyperscan")
def test_fold_letter_lines_meet_the_full_databases_of_their_tiers(monkeypatch: pytest.MonkeyPatch) -> None:
    # "(?i)this" matches "thıs" (only the full automata know: Hyperscan does
    # not fold ı); rule 1 is limited to 12 words, rule 2 to 40, rule 0 to none
    pf = Prefilter([(0, "(?i)this"), (1, "(?i)this"), (2, "(?i)this")], max_words=[None, 12, 40])
    assert pf._limits == (12, 40)
    lines = ["thıs" + " w" * (n - 1) for n in (1, 12, 13, 40, 41, 300)]
    lines += [" ".join(["thıs"] * 5000)]  # words past WORD_COUNT_PREFIX bytes are not counted
    hits = pf.scan("\n".join(lines).encode("utf-8"))
    for i, line in enumerate(lines):
        words = len(line[:prefilter.WORD_COUNT_PREFIX].split())
        want = {0} | ({1} if words <= 12 else set()) | ({2} if words <= 40 else set())
        assert want <= set(hits.get(i, ())), (i, words)
    # a tier's full database is not scanned when no fold-letter line is short enough
    scanned: list[int] = []
    real = prefilter._scan_into
    monkeypatch.setattr(prefilter, "_scan_into", lambda pairs, dbs, *rest: (scanned.extend(id(d[0]) for d in dbs),
                                                                           real(pairs, dbs, *rest)))
    pf.scan(("thıs" + " w" * 20).encode("utf-8"))
    assert id(pf._full[12][0][0]) not in scanned and id(pf._full[40][0][0]) in scanned


@pytest.mark.skipif(not prefilter._hs_usable, reason="no usable hyperscan")
def test_a_rule_goes_to_the_smallest_tier_that_holds_its_limit() -> None:
    # rule k is limited to tier k's words, rule k + len(tiers) to one word more
    tiers = prefilter.WORD_TIERS
    limits = [*tiers, *(t + 1 for t in tiers)]
    pf = Prefilter([(k, "(?i)this") for k in range(len(limits))], max_words=limits)
    assert pf._limits == tiers
    for k, limit in enumerate(limits):
        home = next(t for t in (*tiers, None) if t is None or limit <= t)
        assert [k in rule_of for _, rule_of, _ in pf._fast[home]] == [True], (limit, home)
    # each is reported on lines of as many words as its limit (and the fold-letter lines too)
    for word in ("this", "thıs", "THİS"):
        lines = [word + " w" * (n - 1) for n in sorted(set(limits))]
        hits = pf.scan("\n".join(lines).encode("utf-8"))
        for i, line in enumerate(lines):
            words = len(line.split())
            assert {k for k, limit in enumerate(limits) if words <= limit} <= set(hits.get(i, ())), (word, words)


def test_bytewise_form() -> None:
    cont = prefilter._CONTINUATION
    word = "[\\x{61}-\\x{7a}\\x{80}-\\x{10FFFF}]"
    # a one-character class that holds non-ASCII characters, a negated one, "." and \\S take
    # the rest of their character; repeated by * or + they need not
    assert prefilter.bytewise_form(f"\\n{word}x[^\\x{{61}}].\\S\\n") == (
        f"\\n(?:[\\x{{61}}-\\x{{7a}}\\x{{80}}-\\x{{ff}}]{cont})x(?:[^\\x{{61}}]{cont})(?:.{cont})"
        f"(?:[^\\x{{9}}-\\x{{d}}\\x{{20}}]{cont})\\n")
    assert prefilter.bytewise_form(f"(?i){word}+[^\\n]*.*?\\S+[\\x{{61}}]\\t") == (
        "(?i)[\\x{61}-\\x{7a}\\x{80}-\\x{ff}]+[^\\n]*.*?[^\\x{9}-\\x{d}\\x{20}]+[\\x{61}]\\t")
    assert prefilter.bytewise_form(f"{word}{{1,3}}") == f"(?:[\\x{{61}}-\\x{{7a}}\\x{{80}}-\\x{{ff}}]{cont}){{1,3}}"
    for unknown in ("[\\x{130}]", "\\x{e9}", "\u00e9", "a\\Wb", "\\p{L}"):
        assert prefilter.bytewise_form(unknown) is None, unknown



@pytest.mark.skipif(not prefilter._hs_usable, reason="no usable hyperscan")
def test_bytewise_class_escapes_take_their_whole_character() -> None:
    """A class holding \\S, \\W or \\D (which widen leaves as they are) holds
    non-ASCII characters: in byte mode it takes their continuation bytes
    (it matched only the first byte of "é" and missed the line)."""
    pats = ["^zq[\\S]zq$", "^wv[\\W]wv$", "^jh[\\D]jh$", "^ab[x\\S]+cd$"]
    forms = [prefilter.bytewise_form(prefilter.widen(p, folds=False)) for p in pats]
    assert all(f is not None for f in forms), forms
    assert prefilter.bytewise_form("x[\\w]y") is None and prefilter.bytewise_form("x[\\p{L}]y") is None
    db = prefilter._load_or_compile([f for f in forms if f is not None], False)
    lines = ["zq\u00e9zq", "wv\u2014wv", "jh\u0416jh", "ab\u00e9x\U0001f600cd", "zqazq"]
    buf = b"\n" + "\n".join(lines).encode("utf-8") + b"\n"
    found: set[tuple[int, int]] = set()
    db.scan(buf, match_event_handler=lambda pid, _s, end, _f, _c: found.update(  # (a match may end in a \n)
        {(buf.count(b"\n", 0, end - 1) - 1, pid), (buf.count(b"\n", 0, end) - 1, pid)}))
    for k, line in enumerate(lines):
        for pid, pat in enumerate(pats):
            if regex.search(pat, line):
                assert (k, pid) in found, (pat, line)

WIDENED = prefilter._widened([p for r in RULES.rules for p in r.patterns])
BYTEWISE = sorted((p, w[4]) for p, w in WIDENED.items() if w is not None and w[4] is not None)


@st.composite
def plain_lines(draw: st.DrawFn) -> str:
    # the fast databases are for lines without the letters of _FOLD_TO_ASCII
    return draw(mutated()).translate({ord(c): "x" for c in prefilter._FOLD_TO_ASCII})


@pytest.mark.skipif(not prefilter._hs_usable, reason="no usable hyperscan")
@settings(max_examples=200, deadline=None)
@given(st.lists(plain_lines(), min_size=1, max_size=5),
       st.lists(st.sampled_from(["é", "€", "\U0001f600", "Ж", "·", "\u00bf", "\u0100", "ab", " "]), max_size=6))
def test_bytewise_forms_report_every_regex_match(lines: list[str], noise: list[str]) -> None:
    """In byte mode, the default pack's fast patterns (all of them, not only
    those of the all-lines database) report every line their regex matches."""
    lines = [*lines, *("".join(noise[:k]) + line + "".join(noise[k:]) for k, line in enumerate(lines))]
    buf = b"\n" + canonical("\n".join(lines).encode("utf-8")) + b"\n"
    found: set[tuple[int, int]] = set()  # (line, pattern)
    _bytewise_db().scan(buf, match_event_handler=lambda pid, _s, end, _f, _c: found.update(
        {(buf.count(b"\n", 0, end - 1) - 1, pid), (buf.count(b"\n", 0, end) - 1, pid)}))
    for k, line in enumerate(lines):
        for pid, (pat, _) in enumerate(BYTEWISE):
            if regex.search(pat, line):
                assert (k, pid) in found, (pat, line)


_BYTEWISE_DB: list[object] = []


def _bytewise_db() -> Any:
    if not _BYTEWISE_DB:
        _BYTEWISE_DB.append(prefilter._load_or_compile([b for _, b in BYTEWISE], False))
    return _BYTEWISE_DB[0]
