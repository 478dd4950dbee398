"""Paragraph normalization and hashing for duplicate detection.

Exact key (``exact_key``), the contract behind in-document repeats:
  1. Unicode NFKC (skipped when the text is already NFKC, e.g. ASCII);
  2. case folding (``str.casefold``; byte-wise lower case for ASCII lines);
  3. removal of whitespace and punctuation: every ASCII character that is not
     a letter or digit, and the Unicode punctuation and spaces of the Latin-1
     (U+00A0-U+00BF), General Punctuation (U+2000-U+206F) and CJK Symbols
     (U+3000-U+303F) blocks, so quote and dash styles fold together;
  4. the hash is xxh3-64 of the UTF-8 bytes left.
ASCII lines take a byte-level fast path with the same result.

``fold_words`` applies the same folding but keeps word boundaries (for
word n-grams): runs of removed characters split words.

``near_fingerprints`` and ``exact_fingerprint`` give what the matcher keeps of
a paragraph; the optional C extension computes them when it is built (see the
end of this module), and the functions here stay the reference.
"""

from __future__ import annotations

import hashlib
import os
import re
import struct
import sys
import unicodedata
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, TypeAlias

import xxhash

NORMALIZATION = "nfkc-casefold-alnum-words-v1"
HASH = "xxh3_64"

_hash = xxhash.xxh3_64_intdigest
ASCII_NON_ALNUM = bytes(c for c in range(128) if not chr(c).isalnum())
# stdlib re: twice as fast as the regex module on these byte alternations
_UNICODE_PUNCT = re.compile(rb"\xe2[\x80\x81][\x80-\xbf]|\xc2[\xa0-\xbf]|\xe3\x80[\x80-\xbf]")


def _deletable() -> list[bytes]:
    """UTF-8 of the characters in the punctuation blocks whose NFKC form is
    removed entirely by the folding (so removing them first changes nothing)."""
    out = []
    for lo, hi in ((0xA0, 0xBF), (0x2000, 0x206F), (0x3000, 0x303F)):
        for c in range(lo, hi + 1):
            nf = unicodedata.normalize("NFKC", chr(c))
            gone = all((ch.isascii() and not ch.isalnum()) or _UNICODE_PUNCT.fullmatch(ch.encode()) for ch in nf)
            if gone:
                out.append(chr(c).encode("utf-8"))
    return out


# the commonest non-ASCII characters of news text, removed by plain replaces
_COMMON_PUNCT = [c.encode("utf-8") for c in "’“”‘—–\xa0…"]
_DELETABLE = re.compile(b"|".join(re.escape(b) for b in _deletable()))


def exact_key(raw: bytes, text: str) -> bytes:
    """The folded bytes that identify a paragraph for exact matching (see
    module docstring); ``raw`` is the line's bytes, ``text`` its decoded text.
    ASCII lines take a byte-level path with the same result as the Unicode one."""
    if not raw.isascii():
        # curly quotes alone make a third of non-ASCII news lines so: removed
        # as bytes, such a line takes the ASCII path (same key, a third the cost)
        raw = raw.replace(_RSQUO, b"").replace(_LDQUO, b"").replace(_RDQUO, b"")
        if not raw.isascii():
            return _unicode_key(text)
    return raw.lower().translate(None, ASCII_NON_ALNUM)


_RSQUO, _LDQUO, _RDQUO = (c.encode("utf-8") for c in "’“”")


def _unicode_key(text: str) -> bytes:
    if not unicodedata.is_normalized("NFKC", text):
        text = unicodedata.normalize("NFKC", text)
    folded = text.casefold().encode("utf-8", "surrogateescape").translate(None, ASCII_NON_ALNUM)
    # the lead bytes of _UNICODE_PUNCT's characters: most lines hold none
    if b"\xe2" in folded or b"\xc2" in folded or b"\xe3" in folded:
        folded = _UNICODE_PUNCT.sub(b"", folded)
    return folded


key_hash = _hash  # xxh3-64 of an exact key (an alias: no Python call on the hot path)


# -- near duplicates ---------------------------------------------------------
# Word n-grams of this many words are the unit of near matching: a changed
# word disturbs at most NGRAM n-grams, so a paragraph with 5% of its words
# edited keeps most of them.
NGRAM_DEFAULT = 4
# Each paragraph is represented by its SKETCH_K smallest n-gram hashes (a
# bottom-k MinHash sketch): a fixed, small cost per paragraph in memory.
SKETCH_K_DEFAULT = 8
# Paragraphs with fewer words are judged by exact match only: too few
# n-grams to tell an edit from a different sentence.
NEAR_MIN_WORDS_DEFAULT = 10
# Longer paragraphs (no real one comes near: a minified script, a data URI, a
# whole document without blank lines in block mode) are judged by exact match
# only: their n-grams would hold a string and an integer per word in memory.
NEAR_MAX_CHARS = 100_000
# A paragraph is a near duplicate when at least this share of its sketch is
# already in the index.
NEAR_THRESHOLD_DEFAULT = 0.5

_ASCII_TO_SPACE_BYTES = bytes.maketrans(ASCII_NON_ALNUM, b" " * len(ASCII_NON_ALNUM))


def fold_words(raw: bytes, text: str) -> list[bytes]:
    """The paragraph's words after the same folding as ``exact_key`` (NFKC,
    case, punctuation and whitespace), as UTF-8 byte strings."""
    if not raw.isascii():
        for p in _COMMON_PUNCT:
            raw = raw.replace(p, b" ")
        if not raw.isascii():
            raw = _DELETABLE.sub(b" ", raw)
    if raw.isascii():
        return raw.lower().translate(_ASCII_TO_SPACE_BYTES).split()
    if not unicodedata.is_normalized("NFKC", text):
        text = unicodedata.normalize("NFKC", text)
    folded = text.casefold().encode("utf-8", "surrogateescape").translate(_ASCII_TO_SPACE_BYTES)
    return _UNICODE_PUNCT.sub(b" ", folded).split()


def sketch(words: list[bytes], n: int = NGRAM_DEFAULT, k: int = SKETCH_K_DEFAULT) -> list[int]:
    """Bottom-k sketch: of the k n-grams with the smallest xxh3-64 hashes
    (n words joined by a space), the low 32 bits of each hash."""
    if len(words) < n:
        return []
    grams = set(ngram_hashes(words, n))
    # keep the low halves: bits that do not depend on the rank, so a large
    # index is not dense where every sketch's fingerprints would fall
    return [h & 0xFFFFFFFF for h in sorted(grams)[:k]]


# -- facts guard ---------------------------------------------------------------
# A paragraph's "facts" are its tokens with a digit and its capitalised words
# that do not start a sentence (names). Each fact sets one bit of a 32-bit
# mask kept with the indexed paragraph. Near matches (never exact ones) are
# then judged on the sketch and the facts together (``near_accept``):
#   - at least the threshold share of the sketch, unless the facts disagree:
#     both paragraphs have facts and they share fewer than half of the smaller
#     set (same template with other numbers or names). The mask is a one-hash
#     Bloom filter: a fact of one paragraph that the other lacks still lands on
#     a set bit of the other's mask by chance, the more often the fuller that
#     mask. So the facts shared are estimated (``shared_facts``), not read off
#     the overlap: a paragraph dense with names or numbers (a product or stock
#     listing) fills many bits, and a template of it with every fact replaced
#     would otherwise look like it shares half of them;
#   - one sketch value short of it (unless the threshold is 1), when the facts
#     confirm: at least 2 shared and at least 80% of the larger set (an edited
#     copy keeps its facts).
FACT_BITS = 32
FACTS_DISAGREE_BELOW = 0.51  # shared / smaller set
FACTS_CONFIRM_SHARE = 0.8  # shared / larger set
FACTS_CONFIRM_MIN = 2
_SENTENCE_END = frozenset(".!?:;")
_OPENERS = frozenset("([")
_QUOTES = frozenset("\"'“”‘’«»")
_OPENING_QUOTES = frozenset("\"“‘«")


def _upper_class() -> str:
    """A regex character class of the upper-case letters of the Latin, Greek,
    Cyrillic and Armenian blocks (scripts without case have no names to find)."""
    runs: list[list[int]] = []
    for lo, hi in ((0, 0x600), (0x1E00, 0x2000)):
        for c in range(lo, hi):
            if chr(c).isupper():
                if runs and runs[-1][1] == c - 1:
                    runs[-1][1] = c
                else:
                    runs.append([c, c])
    return "[" + "".join(re.escape(chr(a)) if a == b else f"{re.escape(chr(a))}-{re.escape(chr(b))}"
                         for a, b in runs) + "]"


# a number: from its first digit to the end of the token
_NUMBER = re.compile(r"\d\S*")
# a capitalised word of 2+ letters, up to an apostrophe (``Trump's``,
# ``Trumpʼs`` -> ``Trump``)
_CAPITALISED = re.compile(_upper_class() + r"[^\W_\u02bc]+")


def facts_mask(text: str) -> int:
    """32-bit mask of the paragraph's facts: for each number (from its first
    digit to the end of the token, folded as by ``exact_key``) and each
    capitalised word that starts a token and does not start a sentence (case
    folded), bit ``xxh3(key) % 32``."""
    mask = 0
    for tok in _NUMBER.findall(text):
        key = exact_key(tok.encode("utf-8", "surrogateescape"), tok)
        if key:
            mask |= 1 << (_hash(key) % FACT_BITS)
    for m in _CAPITALISED.finditer(text):
        j = m.start()
        while j and text[j - 1] in _OPENERS:
            j -= 1
        if j and text[j - 1] in _OPENING_QUOTES:
            continue  # a quote starts a sentence
        if not j or not text[j - 1].isspace():
            continue  # the first word, or inside a token
        j -= 1
        while j and text[j - 1].isspace():
            j -= 1
        while j and text[j - 1] in _QUOTES:
            j -= 1
        if not j or text[j - 1] in _SENTENCE_END:
            continue
        mask |= 1 << (_hash(m.group().casefold().encode("utf-8", "surrogateescape")) % FACT_BITS)
    return mask


def shared_facts(new: int, kept: int) -> float:
    """Estimated number of facts two masks share, corrected for chance: each
    bit of the sparser mask that is not a shared fact falls on a set bit of the
    fuller mask with probability ``fill`` (its share of set bits), so the overlap
    observed is about ``shared + (n_small - shared) * fill``. Solved for
    ``shared``; a full mask tells nothing and gives the overlap back."""
    n_small, n_big = sorted((new.bit_count(), kept.bit_count()))
    overlap = (new & kept).bit_count()
    fill = n_big / FACT_BITS
    if fill >= 1:
        return float(overlap)
    return (overlap - n_small * fill) / (1 - fill)


def near_accept(count: int, k: int, threshold: float, new: int, kept: int) -> bool:
    """Whether ``count`` of a ``k``-value sketch shared with one earlier
    paragraph makes a near duplicate, given both paragraphs' facts masks
    (see the comment above ``FACT_BITS``)."""
    need = threshold * k
    if count < need - (threshold < 1):  # a strict threshold of 1 gets no relief
        return False
    n_new, n_kept = new.bit_count(), kept.bit_count()
    shared = (new & kept).bit_count()
    if count >= need:
        return not (n_new and n_kept and shared_facts(new, kept) < FACTS_DISAGREE_BELOW * min(n_new, n_kept))
    # confirmation reads the plain overlap: it needs 80% of the fuller mask,
    # which chance alone rarely gives (correcting it as well only lost edited
    # copies on the benchmark: benchmarks/README.md, "chance overlap")
    return shared >= FACTS_CONFIRM_MIN and shared >= FACTS_CONFIRM_SHARE * max(n_new, n_kept)


# -- two-sided containment: the excerpt test -------------------------------------
# ``near_accept`` measures how much of B (the new paragraph) is in A (the
# earlier one) with B's sketch. The other side is measured on the candidate
# path only: every word n-gram of B is looked up, and those owned by A are the
# values of A's sketch that occur in B (how much of A is in B; A's sketch is a
# uniform sample of A's n-grams). Below the largest of them in hash order
# A's sketch holds *every* n-gram of A (it is a bottom-k sketch), so each of
# B's n-grams in that range is known to be in A (owned by A) or not in A (in
# no paragraph's sketch); those owned by another paragraph tell nothing.
#
# A shared quote is one block: the n-grams of B known to be in A lie together,
# with n-grams known not to be in A only outside it, the block spans a small
# part of B and holds a minority of A's sketch. A real copy covers most of at
# least one side: edits leave unshared n-grams between shared ones, a
# truncated copy has no unshared n-gram in range, a copy with an addition or
# a merge holds (nearly) all of A's sketch, an edited copy spans most of B.
# A near match that ``near_accept`` takes is refused as an excerpt when:
#   - B's n-grams in range known not to be in A exist, and none lies between
#     the first and the last n-gram of B found in A's sketch (one block);
#   - fewer than EXCERPT_MAX_SHARE_OF_A of A's sketch values occur in B;
#   - the block, from the first word of its first n-gram to the last word of
#     its last one, spans less than EXCERPT_MAX_SPAN_OF_B of B's words.
EXCERPT_MAX_SHARE_OF_A = 0.75  # of the k values of A's sketch
EXCERPT_MAX_SPAN_OF_B = 0.4  # of B's words


def ngram_hashes(words: list[bytes], n: int = NGRAM_DEFAULT) -> list[int]:
    """xxh3-64 of each word n-gram in text order (the i-th starts at word i):
    the values ``sketch`` picks from."""
    return list(map(_hash, map(b" ".join, zip(*(words[i:] for i in range(n)), strict=False))))


IN_A, NOT_IN_A, UNKNOWN = 1, 0, -1


def is_excerpt(hashes: list[int], status: list[int], k: int, n: int = NGRAM_DEFAULT) -> bool:
    """Whether the n-grams B shares with A form an excerpt (see the comment
    above ``EXCERPT_MAX_SHARE_OF_A``). ``hashes`` are B's ``ngram_hashes``;
    ``status[i]`` says whether the low 32 bits of ``hashes[i]`` are owned by A
    (``IN_A``), by no paragraph (``NOT_IN_A``) or by another one (``UNKNOWN``);
    ``k`` is the sketch size."""
    found = [i for i, st in enumerate(status) if st == IN_A]
    if not found or len({hashes[i] for i in found}) >= EXCERPT_MAX_SHARE_OF_A * k:
        return False
    bound = max(hashes[i] for i in found)  # A's sketch holds all of A's n-grams up to here
    outside = False
    for i, st in enumerate(status):
        if st == NOT_IN_A and hashes[i] <= bound:
            if found[0] < i < found[-1]:
                return False  # an unshared n-gram inside: edits, not a quote
            outside = True
    n_words = len(hashes) + n - 1
    return outside and found[-1] - found[0] + n < EXCERPT_MAX_SPAN_OF_B * n_words


# -- one call per paragraph ------------------------------------------------------
def near_fingerprints_py(raw: bytes, text: str, ngram: int, k: int, near_min_words: int) -> tuple[int, list[int], int]:
    """What ``Matcher`` keeps of a paragraph judged for near duplicates: the
    hash of its exact key, its sketch and its facts mask (``[]`` and 0 under
    ``near_min_words`` words). The reference for the C version."""
    words = fold_words(raw, text)
    key = key_hash(b"".join(words))
    if len(words) >= near_min_words:
        return key, sketch(words, ngram, k), facts_mask(text)
    return key, [], 0


def near_fingerprints(raw: bytes, text: str, ngram: int, k: int, near_min_words: int) -> tuple[int, list[int], int]:
    """``near_fingerprints_py``, in C when the extension is built and the text
    holds only fast characters. ``raw`` is ``text``'s bytes (its line ending
    may differ): the C version reads only ``text``."""
    if _c_near is not None:
        fp = _c_near(text, ngram, k, near_min_words)
        if fp is not None:
            return fp
    return near_fingerprints_py(raw, text, ngram, k, near_min_words)


def exact_fingerprint(raw: bytes, text: str) -> int:
    """``key_hash(exact_key(raw, text))``, in C when it can (as ``near_fingerprints``)."""
    if _c_exact is not None:
        h = _c_exact(text)
        if h is not None:
            return h
    return key_hash(exact_key(raw, text))


# -- C speed-ups (cleaner/_speedups.c, optional) ----------------------------------
# The C code holds no folding rule of its own: it reads a table, one record per
# code point, built here by applying this module's functions and patterns to
# each character alone. On the characters marked fast (``speedups_fast``), every
# step is character by character (NFKC changes each alone, case folding and
# the punctuation removal are per character, the facts patterns are classes),
# so the C code, concatenating the records, gets what the Python code gets on
# the whole text; tests/test_speedups.py checks it. A text with any other
# character gives None in C and takes the Python path.
SPEEDUPS_TABLE_SIZE = 0x2070  # through the General Punctuation block
F_FAST, F_SPACE, F_DIGIT, F_UPPER, F_WORD, F_OPENER, F_OPEN_QUOTE, F_QUOTE, F_SENT_END = (1 << i for i in range(9))


_COMMON_PUNCT_CHARS = frozenset(p.decode("utf-8") for p in _COMMON_PUNCT)


def speedups_fast(c: str) -> bool:
    """Whether the C code takes texts holding this character: ASCII, the common
    punctuation, and the characters of Latin-1, Latin Extended-A and -B and
    General Punctuation whose NFKC form holds no combining mark (NFKC then
    changes each alone, whatever its neighbours: tests/test_speedups.py checks
    every pair)."""
    if c.isascii() or c in _COMMON_PUNCT_CHARS:
        return True
    if not ("\x80" <= c < "\u0250" or "\u2000" <= c < "\u2070"):
        return False
    return all(unicodedata.combining(x) == 0 for x in c + unicodedata.normalize("NFKC", c))


def _fold_char(c: str) -> bytes:
    """``fold_words`` on this character alone, a space where words split (read
    off the words it gives between two letters)."""
    probe = "a" + c + "a"
    return b" ".join(fold_words(probe.encode("utf-8"), probe))[1:-1]


def speedups_table(fold_max: int, record_size: int) -> bytes:
    """The records of code points 0 .. SPEEDUPS_TABLE_SIZE - 1 for ``_speedups.setup``:
    flags (2 bytes, little-endian), fold length, casefold length, fold, casefold."""
    out = bytearray(SPEEDUPS_TABLE_SIZE * record_size)
    for cp in range(SPEEDUPS_TABLE_SIZE):
        c = chr(cp)
        if not speedups_fast(c):
            continue
        fold, cf = _fold_char(c), c.casefold().encode("utf-8")
        if len(fold) > fold_max or len(cf) > fold_max:
            continue
        flags = F_FAST
        flags |= F_SPACE if c.isspace() else 0
        flags |= F_DIGIT if _NUMBER.match(c) else 0
        flags |= F_UPPER if _CAPITALISED.match(c + "a") else 0
        flags |= F_WORD if _CAPITALISED.match("A" + c) else 0
        flags |= F_OPENER if c in _OPENERS else 0
        flags |= F_OPEN_QUOTE if c in _OPENING_QUOTES else 0
        flags |= F_QUOTE if c in _QUOTES else 0
        flags |= F_SENT_END if c in _SENTENCE_END else 0
        struct.pack_into(f"<HBB{fold_max}s{fold_max}s", out, cp * record_size, flags, len(fold), len(cf), fold, cf)
    return bytes(out)


def cached_speedups_table(fold_max: int, record_size: int) -> bytes:
    """``speedups_table``, remembered in the cache folder: building it takes
    about 20 ms, a tenth of start-up. Keyed by this module's source and the
    Python version (its Unicode data, ``re`` and ``str.casefold`` make the
    table); the file ends with an xxh3 of the table, checked on reading."""
    from .files import read_cache, write_cache

    size = SPEEDUPS_TABLE_SIZE * record_size
    versions = f"|{sys.version}|{unicodedata.unidata_version}|{fold_max}|{record_size}"
    ident = Path(__file__).read_bytes() + versions.encode()
    name = f"speedups-{hashlib.sha256(ident).hexdigest()[:32]}.bin"
    data = read_cache(name)
    if data is not None and len(data) == size + 8 and xxhash.xxh3_64_digest(data[:size]) == data[size:]:
        return data[:size]
    table = speedups_table(fold_max, record_size)
    write_cache(name, table + xxhash.xxh3_64_digest(table))
    return table


def load_speedups() -> ModuleType | None:
    """``cleaner._speedups`` set up with this module's table, or None when the
    extension is not built (no compiler at install time)."""
    try:
        from . import _speedups
    except ImportError:
        return None
    _speedups.setup(cached_speedups_table(_speedups.FOLD_MAX, _speedups.RECORD_SIZE))
    return _speedups


# CLEANER_SPEEDUPS=0 forces the Python path (the tests compare both)
_c = None if os.environ.get("CLEANER_SPEEDUPS") == "0" else load_speedups()


def speedup(name: str) -> Any:
    """A function or type of the C extension as set up here, or None: not
    built, built before it had this name, or ``CLEANER_SPEEDUPS=0`` (the
    tests compare both paths). Every module takes its C code from here."""
    return getattr(_c, name, None)


_c_near: Callable[[str, int, int, int], tuple[int, list[int], int] | None] | None = speedup("near_fingerprints")
_c_exact: Callable[[str], int | None] | None = speedup("exact_fingerprint")
_KeyTable = speedup("KeyTable")
KEY_SET_SIZE = 64  # keys a key_set holds before it grows (a KeyTable of 128 slots)

if TYPE_CHECKING:
    from ._speedups import KeyTable

    KeyIds: TypeAlias = dict[int, int] | KeyTable


def key_table(key_bytes: int, size: int = 0) -> KeyIds:
    """An empty table of unsigned keys of ``key_bytes`` (8 or 4) -> uint32
    ids, in insertion order, with room for ``size`` entries: with the C
    extension a ``KeyTable`` (no Python object per entry; C code reads and
    puts entries directly), else a dict."""
    return _KeyTable(key_bytes, size) if _KeyTable is not None else {}


def key_set() -> KeyIds:
    """``key_table`` as a set of uint64 keys (put with ``setdefault(key,
    0)``), sized for a document's lines (most documents: no resize)."""
    return key_table(8, KEY_SET_SIZE)


def next_key_set(done: KeyIds | None) -> KeyIds:
    """A ``key_set`` for the next document: ``done`` (the last document's,
    no longer read) emptied, unless it grew large (emptying costs as much as
    its room), else a new one. One table less to make per document."""
    if done is None or len(done) > 4 * KEY_SET_SIZE:
        return key_set()
    done.clear()
    return done
