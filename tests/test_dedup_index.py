"""Duplicate index: exact and near matching, scopes, index files, budget, boilerplate."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import c_in_use, run_clean
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cleaner import Cleaner, Config
from cleaner.dedup import (
    IN_A,
    NOT_IN_A,
    UNKNOWN,
    _unicode_key,
    exact_key,
    facts_mask,
    fold_words,
    is_excerpt,
    near_accept,
    ngram_hashes,
    shared_facts,
    sketch,
)
from cleaner.index import Index, IndexError_, IndexParams, locked
from cleaner.rules import RuleSet

NO_RULES = RuleSet((), {}, ())
A1 = "The Kremlin on Tuesday said that Russia's cooperation with China in the Arctic was not aimed against any other country."
A1_NEAR = "The Kremlin on Monday said that Russia’s cooperation with China in the Arctic was not aimed at any other country!"
A2 = "Beijing and Moscow have been working together to develop Arctic shipping routes as Russia seeks to deliver more oil."
B1 = "A brand new paragraph about something entirely different happening in the southern hemisphere this week."


def cleaner(**kw: object) -> Cleaner:
    """The duplicate stage alone: no rules and no classifier (which would judge
    these few-line documents as pages; the classifier has its own tests)."""
    kw.setdefault("classifier", False)
    return Cleaner(Config(default_rules=False, **kw), ruleset=NO_RULES)  # type: ignore[arg-type]


def lines(*xs: str) -> str:
    return "".join(x + "\n" for x in xs)


# -- normalization -------------------------------------------------------------

# news text: ASCII with curly quotes, dashes and a few accents (the byte paths)
NEWSY = st.text(alphabet=st.sampled_from([*"aZ09 .,'\"-\t", *"’“”‘—–…\xa0é\u2009«"]), max_size=60)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=60), NEWSY))
def test_fast_exact_key_equals_unicode_path(text: str) -> None:
    raw = text.encode("utf-8")
    assert exact_key(raw, text) == _unicode_key(text)
    assert b"".join(fold_words(raw, text)) == exact_key(raw, text)


def test_folding_covers_case_quotes_dashes_and_spaces() -> None:
    a = "“Don’t stop — now,” she said.\xa0"
    b = '"don\'t STOP - now"   she said'
    assert exact_key(a.encode(), a) == exact_key(b.encode(), b)


# -- scopes ----------------------------------------------------------------------

def test_doc_scope_is_per_document_stream_scope_is_across() -> None:
    doc = cleaner()
    assert doc.clean_text(lines(A1)) == lines(A1)
    assert doc.clean_text(lines(A1)) == lines(A1)  # a new document
    stream = cleaner(dedup="stream")
    assert stream.clean_text(lines(A1, A2)) == lines(A1, A2)
    assert stream.clean_text(lines(A2, B1)) == lines(B1)


def test_near_duplicate_is_removed_and_explained_with_first_copy_and_score() -> None:
    c = cleaner(dedup="stream")
    c.clean_text(lines(A1), doc_id="a")
    res = c.explain_text(lines(A1_NEAR, B1), doc_id="b")
    assert res.text == lines(B1)
    (d,) = res.decisions
    assert (d.rule, d.match, d.first) == ("dedup.repeat", "near", ("a", 1))
    assert d.score is not None and 0.5 <= d.score < 1
    js = json.loads(d.to_json())
    assert js["first"] == {"doc": "a", "line": 1} and js["match"] == "near"


def test_no_near_and_threshold() -> None:
    c = cleaner(dedup="stream", near=False)
    c.clean_text(lines(A1))
    assert c.clean_text(lines(A1_NEAR)) == lines(A1_NEAR)
    strict = cleaner(dedup="stream", near_threshold=1.0)
    strict.clean_text(lines(A1))
    assert strict.clean_text(lines(A1_NEAR)) == lines(A1_NEAR)


BUDGET = ("The committee met for the second time this year and agreed after a long debate that the new budget "
          "of {} million would cover {} schools and {} teachers until {}.")
T_A = BUDGET.format("4.2", "37", "1,250", "2026")
T_OTHER = BUDGET.format("5.5", "29", "980", "2030")  # same template, other numbers
T_EDIT = T_A.replace("a long", "a very long")  # an edited copy, same numbers


def test_facts_guard_template_with_other_numbers_is_not_a_near_duplicate(tmp_path: Path) -> None:
    a, other = fold_words(T_A.encode(), T_A), fold_words(T_OTHER.encode(), T_OTHER)
    assert len(set(sketch(a)) & set(sketch(other))) >= 4  # the sketch alone would call it a repeat
    assert facts_mask(T_A) and not facts_mask(T_A) & facts_mask(T_OTHER)
    c = cleaner(dedup="stream")
    c.clean_text(lines(T_A), doc_id="a")
    assert c.clean_text(lines(T_OTHER), doc_id="b") == lines(T_OTHER)
    res = c.explain_text(lines(T_EDIT), doc_id="c")
    assert res.text == ""
    assert [(d.match, d.first) for d in res.decisions] == [("near", ("a", 1))]
    # exact copies are never guarded; the facts travel with an index file
    assert c.clean_text(lines(T_A.upper()), doc_id="d") == ""
    idx = str(tmp_path / "f.idx")
    with cleaner(index_path=idx) as c2:
        c2.clean_text(lines(T_A), doc_id="a")
    with cleaner(index_path=idx, index_readonly=True) as c3:
        assert c3.clean_text(lines(T_OTHER, T_EDIT), doc_id="b") == lines(T_OTHER)


def test_near_accept_weighs_the_sketch_with_the_facts() -> None:
    three, four = 0b0111, 0b1111
    assert near_accept(4, 8, 0.5, 0, four) and near_accept(4, 8, 0.5, four, 0)  # no facts on one side
    assert near_accept(4, 8, 0.5, three, four)  # facts agree
    assert not near_accept(8, 8, 0.5, 0b110000, 0b000011)  # facts disagree: refused whatever the sketch
    assert near_accept(3, 8, 0.5, four, four | 0b100000)  # one value short, facts confirm (4 shared of 5: 80%)
    assert not near_accept(3, 8, 0.5, three, four)  # 3 of 4: not enough
    assert near_accept(3, 8, 0.5, four, four)
    assert not near_accept(3, 8, 0.5, 0b11, 0b11111)  # 2 shared of 5: no confirmation
    assert not near_accept(3, 8, 0.5, 0, 0) and not near_accept(2, 8, 0.5, four, four)
    assert not near_accept(7, 8, 1.0, four, four)  # a strict threshold of 1 gets no relief


# a listing dense with names and numbers, and the same listing with every one
# replaced but "GB": 13 facts each, of which 1 is shared, but 5 of the 9 bits
# of one mask fall on set bits of the other (a fuller mask catches more by chance)
L_REVIEW = ("costs {} dollars in {} shops, and our reviewers used this machine for two weeks of ordinary office work "
            "and found that it stayed quiet and cool through long days of writing, browsing and video calls, which is "
            "more than most rivals manage.")
L_A = "The Akoya Honor 998 with Vaio Microsoft 533, 507 GB and Aspire Intel 424 " + L_REVIEW.format("950", "812")
L_OTHER = "The Razer Teclast 526 with Toshiba Samsung 152, 298 GB and Matebook Asus 153 " + L_REVIEW.format("783", "107")
L_EDIT = L_A.replace("two weeks of ordinary", "three weeks of")


def test_facts_guard_discounts_chance_overlap_of_dense_masks() -> None:
    fa, fo = facts_mask(L_A), facts_mask(L_OTHER)
    sa = set(sketch(fold_words(L_A.encode(), L_A)))
    assert sum(h in sa for h in sketch(fold_words(L_OTHER.encode(), L_OTHER))) >= 4  # the sketch calls it a copy
    n_small = min(fa.bit_count(), fo.bit_count())
    assert (fa & fo).bit_count() >= 0.51 * n_small  # the plain overlap of the masks too
    assert shared_facts(fo, fa) < 0.51 * n_small
    assert not near_accept(4, 8, 0.5, fo, fa)
    c = cleaner(dedup="stream")
    c.clean_text(lines(L_A), doc_id="a")
    assert c.clean_text(lines(L_OTHER), doc_id="b") == lines(L_OTHER)
    res = c.explain_text(lines(L_EDIT), doc_id="c")  # an edited copy keeps its facts: still removed
    assert [(d.match, d.first) for d in res.decisions] == [("near", ("a", 1))]


MASKS = st.integers(min_value=0, max_value=(1 << 32) - 1)


@given(MASKS, MASKS)
def test_shared_facts_is_symmetric_and_counts_a_contained_mask_whole(a: int, b: int) -> None:
    assert shared_facts(a, b) == shared_facts(b, a)
    assert shared_facts(a, b) <= (a & b).bit_count()  # chance only ever explains overlap away
    assert shared_facts(a, a | b) == pytest.approx(a.bit_count())  # all of a's facts are in a | b
    assert shared_facts(a, 0) == 0


# a paragraph, and another article quoting 14 of its words: the quote holds 4 of
# the paragraph's 8 sketch values, which the one-sided sketch test took for a copy
Q_A = ("Anker also has USB-C car chargers, including one with a 30W USB-C PD port and another with dual "
       "18W USB-C PD ports, but neither match the 60W output from Satechi.")
Q_B = ("As a result, in “and another with dual 18W USB-C PD ports, but neither match the 60W output” this "
       "fact-check, we’ll interpret McKinley’s comment to refer to the amount being")


def test_shared_quote_is_kept_real_copies_are_still_removed() -> None:
    a, b = fold_words(Q_A.encode(), Q_A), fold_words(Q_B.encode(), Q_B)
    assert len(set(sketch(a)) & set(sketch(b))) >= 4  # B's sketch alone would call it a repeat
    c = cleaner(dedup="stream")
    c.clean_text(lines(Q_A), doc_id="a")
    assert c.clean_text(lines(Q_B), doc_id="quote") == lines(Q_B)
    words = Q_A.split()
    copies = {
        "truncated": " ".join(words[: int(0.7 * len(words))]),
        "addition": Q_A[:-1] + ", and the cable is sold separately.",
        "edited": Q_A.replace("also has", "has").replace("another", "a second one"),
        "merged": Q_A + " " + A2,
    }
    for name, copy in copies.items():
        res = c.explain_text(lines(copy), doc_id=name)
        assert res.text == "", name
        assert [(d.match, d.first) for d in res.decisions] == [("near", ("a", 1))], name


def test_is_excerpt_needs_one_block_a_minority_of_a_and_a_small_part_of_b() -> None:
    words = [f"w{i}".encode() for i in range(40)]
    hashes = ngram_hashes(words)
    assert len(hashes) == 37
    order = sorted(range(len(hashes)), key=hashes.__getitem__)
    block = sorted(range(10, 17))  # n-grams 10-16: words 10-19, a quarter of B
    found = [i for i in order if i in block][:4]  # 4 of the 8 values of A's sketch

    def status(inside: list[int], unknown: tuple[int, ...] = ()) -> list[int]:
        return [IN_A if i in inside else UNKNOWN if i in unknown else NOT_IN_A for i in range(len(hashes))]

    assert is_excerpt(hashes, status(found), 8)
    assert not is_excerpt(hashes, status(found), 5)  # 4 of a 5-value sketch: most of A is in B
    # an unshared n-gram in range between shared ones: an edited copy
    five = sorted(order[:5])
    gap = next(i for i in five[1:-1] if i != order[4])  # inside, and in range of the other four
    assert not is_excerpt(hashes, status([i for i in five if i != gap]), 8)
    # no unshared n-gram in range (B inside A, a truncated copy)
    assert not is_excerpt(hashes, [IN_A if i in found else UNKNOWN for i in range(len(hashes))], 8)
    wide = [block[0], 30]  # a block over most of B
    assert not is_excerpt(hashes, status(wide, tuple(range(block[0] + 1, 30))), 8)


def test_short_paragraphs_are_exact_only_and_very_short_never_removed() -> None:
    c = cleaner(dedup="stream")
    short = "Officials met on Tuesday in Oslo."  # 6 words: exact only
    c.clean_text(lines(short))
    assert c.clean_text(lines("Officials met on Monday in Oslo.")) == lines("Officials met on Monday in Oslo.")
    assert c.clean_text(lines("officials met on tuesday in oslo")) == ""
    tiny = cleaner()
    assert tiny.clean_text(lines("He said no.", "He said no.")) == lines("He said no.", "He said no.")


def test_block_unit_judges_whole_paragraphs() -> None:
    c = cleaner(unit="block")
    para = "First line of a wrapped paragraph that goes on\nand continues here with more words in it.\n"
    text = para + "\n" + "Something else entirely, a second paragraph.\n\n" + para
    out = c.explain_text(text)
    assert out.text == para + "\n" + "Something else entirely, a second paragraph.\n"
    assert [d.line for d in out.decisions if d.rule == "dedup.repeat"] == [6, 7]
    # lines repeated inside different blocks are not removed on their own
    mixed = "Alpha beta gamma delta epsilon zeta.\nOne.\n\nAlpha beta gamma delta epsilon zeta.\nTwo.\n"
    assert c.clean_text(mixed) == mixed


def test_first_copy_wins_in_input_order_whatever_the_chunking() -> None:
    text = lines(A1, B1, A1_NEAR, A2, A1).encode()
    want = cleaner(dedup="stream").clean_bytes(text)
    for size in (1, 7, 50, 1000):
        c = cleaner(dedup="stream")
        s = c.stream("x")
        got = b"".join(s.feed(text[i:i + size]) for i in range(0, len(text), size)) + s.close()
        assert got == want


_SENTENCE = ("the minister said on friday that talks with union leaders over pay would resume "
             "next week after a strike closed ports and rail lines across the north")
_WORDS = _SENTENCE.split()


def _paragraph(seed: int, edits: int) -> str:
    """A paragraph of 14 words drawn from a small vocabulary (many shared
    n-grams), ``edits`` of them then replaced: near copies of one another."""
    import random
    rng = random.Random(seed)
    words = [rng.choice(_WORDS) for _ in range(14)]
    for _ in range(edits):
        words[rng.randrange(14)] = rng.choice(_WORDS)
    return " ".join(words).capitalize() + "."


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(paras=st.lists(st.tuples(st.integers(0, 40), st.integers(0, 3)), min_size=20, max_size=120),
       cuts=st.lists(st.integers(1, 400), min_size=1, max_size=30),
       threshold=st.sampled_from([0.3, 0.5]), budget=st.sampled_from([None, 0.004]))
def test_spills_and_the_budget_do_not_depend_on_the_chunking(monkeypatch: pytest.MonkeyPatch,
                                                              paras: list[tuple[int, int]], cuts: list[int],
                                                              threshold: float, budget: float | None) -> None:
    """Recent fingerprints become sorted runs (and a budget samples the index)
    at a paragraph, never at a chunk's end: a value in a run and in the recent
    table once made its owner depend on when the chunk ended (seen as other
    output for other read sizes, at the default threshold too)."""
    import cleaner.index as index_mod
    monkeypatch.setattr(index_mod, "SPILL_AT", 16)  # many spills in a short stream
    text = "".join(_paragraph(seed, edits) + ("\n\f\n" if k % 7 == 6 else "\n")
                   for k, (seed, edits) in enumerate(paras)).encode()
    opts = {"dedup": "stream", "near_threshold": threshold, "max_index_mb": budget}
    one = cleaner(**opts).stream("x", split_docs=True)
    want = one.feed(text) + one.close()
    s = cleaner(**opts).stream("x", split_docs=True)
    out, pos, k = [], 0, 0
    while pos < len(text):
        n = cuts[k % len(cuts)]
        out.append(s.feed(text[pos:pos + n]))
        pos, k = pos + n, k + 1
    assert b"".join(out) + s.close() == want


# -- index files -------------------------------------------------------------------

def test_index_round_trip_ownership_and_readonly(tmp_path: Path) -> None:
    idx = str(tmp_path / "c.idx")
    with cleaner(index_path=idx) as c:
        assert c.clean_text(lines(A1, A2), doc_id="a") == lines(A1, A2)
    # re-running the same document is not a duplicate of itself
    with cleaner(index_path=idx) as c:
        assert c.clean_text(lines(A1, A2), doc_id="a") == lines(A1, A2)
        assert c.clean_text(lines(A2, B1), doc_id="b") == lines(B1)
    # read-only: checks, does not add
    before = Path(idx).read_bytes()
    with cleaner(index_path=idx, index_readonly=True) as c:
        assert c.clean_text(lines(A1_NEAR, "Totally fresh words never seen in any document of this test."),
                            doc_id="c") == lines("Totally fresh words never seen in any document of this test.")
    assert Path(idx).read_bytes() == before
    info = Index.load(idx).info()
    assert info["documents"] == 2 and info["paragraphs"] == 3


def test_index_rejects_corruption_and_parameter_mismatch(tmp_path: Path) -> None:
    idx = tmp_path / "c.idx"
    with cleaner(index_path=str(idx)) as c:
        c.clean_text(lines(A1, A2), doc_id="a")
    data = bytearray(idx.read_bytes())
    data[-3] ^= 0xFF
    bad = tmp_path / "bad.idx"
    bad.write_bytes(bytes(data))
    with pytest.raises(IndexError_, match="checksum"):
        Index.load(bad)
    bad.write_bytes(b"not an index")
    with pytest.raises(IndexError_, match="not a corpus-cleaner index"):
        Index.load(bad)
    with pytest.raises(IndexError_, match="built with"):
        Index.load(idx, IndexParams(ngram=5))
    # a file of another format version (v1 had no facts masks, v2 4-byte ids
    # and a document per paragraph) is refused by its header
    good = idx.read_bytes()
    assert good.count(b'"version": 3') == 1
    old = tmp_path / "old.idx"
    for v in (b"1", b"2"):
        old.write_bytes(good.replace(b'"version": 3', b'"version": ' + v))
        with pytest.raises(IndexError_, match=f"format version {v.decode()} is not corpus-cleaner-index v3"):
            Index.load(old)
    r = subprocess.run([sys.executable, "-m", "cleaner", "--index", str(idx), "--near-threshold", "0.5"],
                       input=b"x\n", capture_output=True)
    assert r.returncode == 0
    r = subprocess.run([sys.executable, "-m", "cleaner", "--index", str(bad)], input=b"x\n", capture_output=True)
    assert r.returncode == 2 and b"not a corpus-cleaner index" in r.stderr


def test_save_is_atomic_old_index_survives_a_failed_save(tmp_path: Path) -> None:
    idx = tmp_path / "c.idx"
    with cleaner(index_path=str(idx)) as c:
        c.clean_text(lines(A1), doc_id="a")
    before = idx.read_bytes()
    broken = Index.load(idx)

    class Boom(Exception):
        pass

    def explode(*_: object) -> None:
        raise Boom

    orig = os.fsync
    os.fsync = explode  # type: ignore[assignment]
    try:
        with pytest.raises(Boom):
            broken.save(idx)
    finally:
        os.fsync = orig
    assert idx.read_bytes() == before
    assert not [p for p in tmp_path.iterdir() if "tmp" in p.name]


def test_new_index_file_gets_the_usual_permissions(tmp_path: Path) -> None:
    # written through a private temporary file, but not left private (0600)
    old = os.umask(0o027)
    try:
        with cleaner(index_path=str(tmp_path / "c.idx")) as c:
            c.clean_text(lines(A1), doc_id="a")
    finally:
        os.umask(old)
    assert (tmp_path / "c.idx").stat().st_mode & 0o777 == 0o640
    (tmp_path / "c.idx").chmod(0o664)
    with cleaner(index_path=str(tmp_path / "c.idx")) as c:
        c.clean_text(lines(A2), doc_id="b")
    assert (tmp_path / "c.idx").stat().st_mode & 0o777 == 0o664


def test_lock_serializes_concurrent_runs(tmp_path: Path) -> None:
    idx = tmp_path / "c.idx"
    events: list[str] = []

    def hold() -> None:
        with locked(idx):
            events.append("first in")
            time.sleep(0.5)
            events.append("first out")

    t = threading.Thread(target=hold)
    t.start()
    time.sleep(0.1)
    r = subprocess.run([sys.executable, "-m", "cleaner", "--index", str(idx)], input=lines(A1).encode(),
                       capture_output=True, timeout=60)
    events.append("second done")
    t.join()
    assert r.returncode == 0
    assert events == ["first in", "first out", "second done"]


def test_index_merge_and_info_commands(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a.idx", tmp_path / "b.idx", tmp_path / "c.idx"
    (tmp_path / "d1.txt").write_text(lines(A1, A2))
    (tmp_path / "d2.txt").write_text(lines(B1))
    run = [sys.executable, "-m", "cleaner"]
    assert subprocess.run([*run, "--index", str(a), str(tmp_path / "d1.txt")], capture_output=True).returncode == 0
    assert subprocess.run([*run, "--index", str(b), str(tmp_path / "d2.txt")], capture_output=True).returncode == 0
    r = subprocess.run([*run, "index", "merge", str(a), str(b), "-o", str(c)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    info = json.loads(subprocess.run([*run, "index", "info", str(c)], capture_output=True, text=True).stdout)
    assert info["paragraphs"] == 3 and info["documents"] == 2
    assert info["params"]["ngram"] == IndexParams().ngram
    # the merged index knows both shards
    (tmp_path / "d3.txt").write_text(lines(A2, B1, A1_NEAR))
    out = subprocess.run([*run, "--index", str(c), "--index-readonly", str(tmp_path / "d3.txt")],
                         capture_output=True, text=True)
    assert out.stdout == ""


# -- memory budget --------------------------------------------------------------------

def test_budget_degrades_by_sampling_and_stats_say_so() -> None:
    import random

    rnd = random.Random(7)
    vocab = [f"w{n}" for n in range(5000)]
    c = cleaner(dedup="stream", max_index_mb=0.05)
    docs = [lines(*(" ".join(rnd.choice(vocab) for _ in range(14)) for _ in range(50))) for _ in range(60)]
    for i, d in enumerate(docs):
        c.clean_text(d, doc_id=str(i))
        c.matcher.end_chunk()  # type: ignore[union-attr]
    info = c.index_info()
    assert info is not None
    assert info["sampled_share"] < 1
    assert info["memory_bytes"] <= 0.05 * 1024 * 1024
    # still finds exact repeats whose fingerprints are in the kept share, and never crashes
    again = c.clean_text(docs[-1], doc_id="again")
    assert len(again) < len(docs[-1])


def test_budget_below_the_paragraph_rows_keeps_a_share_instead_of_dropping_everything() -> None:
    # so many short paragraphs that their rows alone (8 bytes each) would fill
    # the budget: sampling cannot free rows, so it stops while fingerprints
    # still hold part of the budget, and sampled-out paragraphs get no row
    c = cleaner(dedup="stream", max_index_mb=0.05)
    for d in range(40):
        c.clean_text(lines(*(f"line {d} number {i} of this long enough paragraph" for i in range(500))),
                     doc_id=str(d))
        c.matcher.end_chunk()  # type: ignore[union-attr]
    info = c.index_info()
    assert info is not None
    assert 1 / 64 <= info["sampled_share"] < 1
    assert info["paragraphs"] < 20000
    assert info["memory_bytes"] <= 0.05 * 1024 * 1024


def test_stats_report_the_index_and_a_per_document_budget_holds(tmp_path: Path) -> None:
    text = "".join(f"paragraph number {i} says something of its own here\n" for i in range(60000))
    f = tmp_path / "one.txt"
    f.write_text(text)
    for scope in ("stream", "doc"):
        res = run_clean(["--no-classifier", "--dedup", scope, "--max-index-mb", "0.2", "--stats", str(f)])
        err = res.stderr.decode()
        assert res.returncode == 0 and res.stdout == text.encode()
        assert "duplicate index:" in err and "of a 0.2 MB budget" in err, (scope, err)
        assert "hash space kept: 1\n" not in err  # one document of 60,000 paragraphs: sampled
    # without a budget, one document's repeats need no index and --stats shows none
    res = run_clean(["--no-classifier", "--stats", str(f)])
    assert "duplicate index:" not in res.stderr.decode()


def test_check_rows_locate_paragraphs_and_a_document_without_new_ones_adds_no_run() -> None:
    """check_lines' rows (line numbers, facts masks), added per document by
    Matcher.check: each paragraph's document and line are found again, a
    document none of whose paragraphs is new leaves no run behind, and rows
    of one document from several calls (a text the C fingerprints leave to
    Python in between) extend its run."""
    p1 = "Ferries to Malmo stopped at noon while harbour cranes stood idle along the quay."
    p2 = "Seven bakers on Linden Street argued about flour prices until the 42 lamps dimmed."
    p3 = "A quiet violinist rehearsed scales beneath the railway bridge every rainy evening."
    p4 = "Orchard growers counted 17 crates of pears before the frost warnings reached town."
    p5 = "Snow \U0001f642 fell on the lake while skaters circled the old wooden pier slowly."  # emoji: Python's
    p6 = "Thirty gulls followed the last trawler home across grey water towards the pier."
    c = cleaner(dedup="stream", near=True)
    assert c.clean_text(f"{p1}\n\n{p2}\n", doc_id="a") == f"{p1}\n\n{p2}\n"
    assert c.clean_text(f"{p2}\n{p1}\n", doc_id="b") == ""
    c_doc = f"{p3}\nok\n{p5}\n{p4}\n{p6}\n"
    assert c.clean_text(c_doc, doc_id="c") == c_doc
    assert c.matcher is not None
    idx = c.matcher.live
    assert [idx.where(p) for p in range(idx.paragraphs())] == [("a", 1), ("a", 3), ("c", 1), ("c", 3), ("c", 4),
                                                                  ("c", 5)]
    assert [m != 0 for m in idx.para_facts] == [True, True, False, False, True, False]  # Malmo, Linden and 42; 17
    assert idx.para_doc.nbytes() == 2 * 8  # a run for a, one for c


def test_bytes_per_paragraph_exact_only_is_small() -> None:
    idx = Index()
    for i in range(200_000):
        idx.exact.add(hash(("p", i)) & (2**64 - 1), idx.add_paragraph(0, i))
    idx.spill()
    idx.exact.spill(force=True)
    assert idx.nbytes() / idx.paragraphs() <= 48


# -- boilerplate -----------------------------------------------------------------------

def test_repeated_boilerplate_two_passes_on_files(tmp_path: Path) -> None:
    footer = "Subscribe to our newsletter for the latest stories every morning in your inbox today."
    files = []
    for i in range(3):
        p = tmp_path / f"p{i}.txt"
        p.write_text(lines(f"Story number {i} has its own unique words about topic {i} and more.", footer))
        files.append(str(p))
    r = subprocess.run([sys.executable, "-m", "cleaner", "--no-default-rules", "--rules", str(tmp_path / "none"),
                        "--repeated-boilerplate", "3", *files], capture_output=True, text=True)
    # no such rule file: usage error before reading input
    assert r.returncode == 2
    empty = tmp_path / "empty.toml"
    empty.write_text("version = 1\n")
    r = subprocess.run([sys.executable, "-m", "cleaner", "--no-default-rules", "--rules", str(empty),
                        "--repeated-boilerplate", "3", *files], capture_output=True, text=True)
    assert r.returncode == 0
    assert footer not in r.stdout and r.stdout.count("Story number") == 3
    # on stdin: removed from the K-th document on
    stream = "\f\n".join(lines(f"Story {i} words are unique to this story number {i}.", footer) for i in range(4))
    r = subprocess.run([sys.executable, "-m", "cleaner", "--no-default-rules", "--rules", str(empty),
                        "--repeated-boilerplate", "3"], input=stream, capture_output=True, text=True)
    assert r.stdout.count(footer) == 2


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("aZé ß.,’—\xa0\u3000\u1680İ-ﬁ1Ω\t\udcff"))
               | st.characters(exclude_categories=("Cs",)), max_size=60))  # surrogates: only as surrogateescape makes them
def test_folded_words_joined_are_the_exact_key(text: str) -> None:
    # the matcher takes a paragraph's exact key from its folded words
    raw = text.encode("utf-8", "surrogatepass")
    if "\n" in text or "\r" in text:
        return
    assert b"".join(fold_words(raw, text)) == exact_key(raw, text)


def test_paragraphs_past_near_max_chars_are_judged_exactly() -> None:
    from cleaner.dedup import NEAR_MAX_CHARS
    words = [f"word{i}" for i in range(NEAR_MAX_CHARS // 6)]
    huge = " ".join(words)
    edited = " ".join(["changed", *words[1:]])
    assert len(huge) > NEAR_MAX_CHARS
    c = cleaner(dedup="stream")
    assert c.clean_text(lines(huge), doc_id="a") == lines(huge)
    assert c.clean_text(lines(huge.upper()), doc_id="b") == ""  # exact (folded) copy: removed
    assert c.clean_text(lines(edited), doc_id="c") == lines(edited)  # one word changed: kept, no near matching
    short_edit = " ".join(["changed", *words[1:200]])
    c.clean_text(lines(" ".join(words[:200])), doc_id="d")
    assert c.clean_text(lines(short_edit), doc_id="e") == ""  # the same edit on a normal paragraph: near


def _both_paths(args: list[str], data: bytes | None, cwd: Path) -> list[subprocess.CompletedProcess[bytes]]:
    """The CLI with the C extension and with the Python reference path."""
    from conftest import CLEAN, clean_env
    out = []
    for speedups in ("1", "0"):
        env = {**clean_env(), "CLEANER_SPEEDUPS": speedups}
        out.append(subprocess.run([*CLEAN, *args], input=data, capture_output=True, env=env, cwd=cwd,
                                  timeout=300, check=False))
    return out


def _random_lines(n: int, seed: int) -> list[str]:
    import random
    rnd = random.Random(seed)
    return [" ".join(f"w{rnd.randrange(900)}" for _ in range(11)) + "." for _ in range(n)]


def test_a_line_judged_alone_keeps_the_chunks_lookups(tmp_path: Path) -> None:
    # a line a strip rule changed is fingerprinted and looked up on its own;
    # on the Python path that lookup once replaced the chunk's, and the index
    # entries of every later line of the chunk were missed
    (tmp_path / "tag.toml").write_text(
        'version = 1\n[categories]\nmisc = "test"\n[[rule]]\nid = "misc.tag"\ncategory = "misc"\n'
        'action = "strip"\ndescription = "a trailing tag"\npattern = \'\'\'\\s*\\[tag\\]\\s*$\'\'\'\n'
        'replace = ""\n[rule.examples]\nstrip = [{ before = "Hello there my friend [tag]", '
        'after = "Hello there my friend" }]\n', encoding="utf-8")
    lines = _random_lines(20, 1)
    (tmp_path / "a.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (tmp_path / "b.txt").write_text("Some opening words of the second page here [tag]\n" + "\n".join(lines) + "\n",
                                    encoding="utf-8")
    base = ["--no-default-rules", "--no-classifier", "--rules", "tag.toml", "--index", "i.idx"]
    for r in _both_paths([*base, "a.txt"], None, tmp_path)[:1]:
        assert r.returncode == 0, r.stderr
    for r in _both_paths([*base, "--index-readonly", "b.txt"], None, tmp_path):
        assert r.returncode == 0, r.stderr
        assert r.stdout == b"Some opening words of the second page here\n"


def test_a_document_index_started_inside_a_batch_has_no_stale_lookups(tmp_path: Path) -> None:
    # per-document near matching with a budget: the first document spills
    # sorted runs; the second starts in the same batch with an empty index,
    # and the lookups made in the first one's runs must not be used for it
    first = _random_lines(9000, 2)
    data = ("\n".join(first) + "\n\f\n" + "\n".join(first[:100]) + "\n").encode()
    runs = _both_paths(["--no-default-rules", "--no-classifier", "--dedup", "doc", "--near",
                        "--max-index-mb", "50"], data, tmp_path)
    for r in runs:
        assert r.returncode == 0, r.stderr
        assert r.stdout == data  # no line repeats within its own document


@c_in_use  # the lookahead is the C matcher's
def test_lookahead_changes_no_decision(monkeypatch: pytest.MonkeyPatch) -> None:
    """The matcher judging lines ahead (from the engine's fast path, from a
    line the rules kept, past exact repeats) decides exactly as one line per
    call: the same output and the same removals, on pages with rule hits,
    blocks and repeats, at several read sizes. And the lookahead does fire
    from lines the rules kept, and past repeats."""
    from test_benchmarks_smoke import load_benchmark

    import cleaner.engine as engine_mod
    data, _ = load_benchmark("throughput").build_stream(400_000, seed=11)
    data += data[: len(data) // 3]  # whole pages again: exact repeats
    fired: dict[str, int] = {"after_rules": 0, "repeats": 0}
    limit = engine_mod.DocumentCleaner._limit

    def counted(self: engine_mod.DocumentCleaner, idx: int) -> int:
        r = limit(self, idx)
        fired["after_rules"] += r > idx + 1
        if self.matcher is not None:
            fired["repeats"] += len(self.matcher.repeats)
        return r

    monkeypatch.setattr(engine_mod.DocumentCleaner, "_limit", counted)

    def run(ahead: bool, size: int) -> tuple[bytes, list[str]]:
        c = Cleaner(Config(dedup="stream"))
        assert c.matcher is not None
        c.matcher.looks_ahead = ahead
        got: list[str] = []
        s = c.stream("x", sink=lambda d: got.append(d.to_json()), split_docs=True)
        out = b"".join(s.feed(data[i:i + size]) for i in range(0, len(data), size)) + s.close()
        return out, got

    want = run(False, 1 << 20)
    assert sum(1 for d in want[1] if '"dedup.repeat"' in d) > 100
    for size in (1 << 20, 65_536, 4_099):
        assert run(True, size) == want
    assert fired["after_rules"] > 100 and fired["repeats"] > 100
