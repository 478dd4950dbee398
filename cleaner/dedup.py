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
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from itertools import chain
from typing import TYPE_CHECKING, Any

import xxhash

if TYPE_CHECKING:
    from types import ModuleType

NDArray = Any  # numpy arrays (numpy is imported on first use: exact keys never need it)

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
    Lines whose only non-ASCII characters are punctuation take a byte-level
    path with the same result as the full Unicode one."""
    if not raw.isascii():
        for p in _COMMON_PUNCT:
            raw = raw.replace(p, b"")
        if not raw.isascii():
            raw = _DELETABLE.sub(b"", raw)
            if not raw.isascii():
                return _unicode_key(text)
    return raw.lower().translate(None, ASCII_NON_ALNUM)


def _unicode_key(text: str) -> bytes:
    if not unicodedata.is_normalized("NFKC", text):
        text = unicodedata.normalize("NFKC", text)
    folded = text.casefold().encode("utf-8", "surrogateescape").translate(None, ASCII_NON_ALNUM)
    return _UNICODE_PUNCT.sub(b"", folded)


def key_hash(key: bytes) -> int:
    """xxh3-64 of an exact key."""
    return _hash(key)


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
    grams = set(map(_hash, map(b" ".join, zip(*(words[i:] for i in range(n)), strict=False))))
    # keep the low halves: bits that do not depend on the rank, so a large
    # index is not dense where every sketch's fingerprints would fall
    return [h & 0xFFFFFFFF for h in sorted(grams)[:k]]


# -- batch sketches ----------------------------------------------------------
# ``sketches`` gives the same values as ``sketch`` for many paragraphs at once:
# xxh3-64 of every n-gram is computed in numpy (the XXH3 algorithm for inputs
# of 4 to 128 bytes, seed 0, default secret), other lengths through xxhash.
# The first 128 bytes of XXH3's default secret (the only ones read up to 128 bytes).
_SECRET = bytes.fromhex(
    "b8fe6c3923a44bbe7c01812cf721ad1cded46de9839097db7240a4a4b7b3671f"
    "cb79e64eccc0e578825ad07dccff7221b8084674f743248ee03590e6813a264c"
    "3c2852bb91c300cb88d0658b1b532ea371644897a20df94e3819ef46a9deacd8"
    "a8fa763fe39c343ff9dcbbc7c70b4f1d8a51e04bcdb45931c89f7ec9d9787364"
)
_M32 = 0xFFFFFFFF
_PRIME64_1 = 0x9E3779B185EBCA87
_PRIME_MX1 = 0x165667919E3779F9
_PRIME_MX2 = 0x9FB21C651E98DF25


def _np() -> ModuleType:
    import numpy

    return numpy


def _secret64(offset: int) -> int:
    return int.from_bytes(_SECRET[offset:offset + 8], "little")


def _fold64(a: NDArray, b: NDArray) -> NDArray:
    """Low 64 bits xor high 64 bits of the 128-bit products a*b (uint64)."""
    np = _np()
    m32, s32 = np.uint64(_M32), np.uint64(32)
    a_lo, a_hi, b_lo, b_hi = a & m32, a >> s32, b & m32, b >> s32
    ll, hl, lh, hh = a_lo * b_lo, a_hi * b_lo, a_lo * b_hi, a_hi * b_hi
    cross = (ll >> s32) + (hl & m32) + lh  # < 2**64: no carry lost
    upper = (hl >> s32) + (cross >> s32) + hh
    lower = (cross << s32) | (ll & m32)
    return lower ^ upper


def _avalanche(h: NDArray) -> NDArray:
    np = _np()
    h = h ^ (h >> np.uint64(37))
    h = h * np.uint64(_PRIME_MX1)
    return h ^ (h >> np.uint64(32))


def _xxh3_many(buf: bytes, start: NDArray, length: NDArray) -> NDArray:
    """xxh3-64 (seed 0) of ``buf[start[i]:start[i] + length[i]]`` for every i."""
    np = _np()
    u64 = np.uint64
    pad = buf + bytes(8)
    # unaligned little-endian reads at any byte offset
    r64 = np.ndarray((len(pad) - 7,), "<u8", pad, 0, (1,))
    r32 = np.ndarray((len(pad) - 3,), "<u4", pad, 0, (1,))
    out = np.empty(len(start), np.uint64)
    start = start.astype(np.int64, copy=False)
    length = length.astype(np.int64, copy=False)

    sel = np.flatnonzero((length >= 4) & (length <= 8))
    if len(sel):
        s, n = start[sel], length[sel]
        x = r32[s + n - 4].astype(u64) + (r32[s].astype(u64) << u64(32))
        h = x ^ u64(_secret64(8) ^ _secret64(16))
        h = h ^ ((h << u64(49)) | (h >> u64(15))) ^ ((h << u64(24)) | (h >> u64(40)))
        h = h * u64(_PRIME_MX2)
        h = h ^ ((h >> u64(35)) + n.astype(u64))
        h = h * u64(_PRIME_MX2)
        out[sel] = h ^ (h >> u64(28))

    sel = np.flatnonzero((length >= 9) & (length <= 16))
    if len(sel):
        s, n = start[sel], length[sel]
        lo = r64[s] ^ u64(_secret64(24) ^ _secret64(32))
        hi = r64[s + n - 8] ^ u64(_secret64(40) ^ _secret64(48))
        acc = n.astype(u64) + lo.byteswap() + hi + _fold64(lo, hi)
        out[sel] = _avalanche(acc)

    sel = np.flatnonzero((length >= 17) & (length <= 128))
    if len(sel):
        s, n = start[sel], length[sel]
        acc = n.astype(u64) * u64(_PRIME64_1)
        # (minimum length, offset from the start or from the end, secret offset)
        for min_len, front, sec in ((0, 0, 0), (32, 16, 32), (64, 32, 64), (96, 48, 96)):
            part = np.flatnonzero(n > min_len) if min_len else slice(None)
            ps, pn = s[part], n[part]
            for pos, so in ((ps + front, sec), (ps + pn - 16 - front, sec + 16)):
                a = r64[pos] ^ u64(_secret64(so))
                b = r64[pos + 8] ^ u64(_secret64(so + 8))
                acc[part] += _fold64(a, b)
        out[sel] = _avalanche(acc)

    for i in np.flatnonzero((length < 4) | (length > 128)).tolist():
        b = int(start[i])
        out[i] = _hash(buf[b:b + int(length[i])])
    return out


def sketches(word_lists: Sequence[list[bytes]], n: int = NGRAM_DEFAULT,
             k: int = SKETCH_K_DEFAULT) -> list[list[int]]:
    """``[sketch(words, n, k) for words in word_lists]``, computed in one batch."""
    np = _np()
    out: list[list[int]] = [[] for _ in word_lists]
    sel = [i for i, words in enumerate(word_lists) if len(words) >= n]
    if not sel or n < 1:
        return [sketch(words, n, k) for words in word_lists] if n < 1 else out
    lists = [word_lists[i] for i in sel]
    counts = np.fromiter(map(len, lists), np.int64, len(lists))
    total = int(counts.sum())
    buf = b" ".join(chain.from_iterable(lists))
    if buf.count(b" ") == total - 1:  # no word holds a space: the spaces are the bounds
        ends = np.append(np.flatnonzero(np.frombuffer(buf, np.uint8) == 32), len(buf))
        starts = np.empty_like(ends)
        starts[0] = 0
        starts[1:] = ends[:-1] + 1
    else:
        lens = np.fromiter(map(len, chain.from_iterable(lists)), np.int64, total)
        ends = np.cumsum(lens + 1) - 1  # one space after each word
        starts = ends - lens
    first = np.cumsum(counts) - counts  # index of each line's first word
    line = np.repeat(np.arange(len(lists)), counts)
    # n-grams start at words 0 .. count - n of each line
    valid = np.flatnonzero(np.arange(total) - first[line] <= (counts - n)[line])
    g_start = starts[valid]
    hashes = _xxh3_many(buf, g_start, ends[valid + (n - 1)] - g_start)
    g_line = line[valid]
    if len(lists) < 1 << 16:  # by hash, then a stable (radix) sort by line
        order = np.argsort(hashes)
        order = order[np.argsort(g_line.astype(np.uint16)[order], kind="stable")]
    else:
        order = np.lexsort((hashes, g_line))
    hashes, g_line = hashes[order], g_line[order]
    keep = np.ones(len(hashes), bool)
    keep[1:] = (hashes[1:] != hashes[:-1]) | (g_line[1:] != g_line[:-1])
    hashes, g_line = hashes[keep], g_line[keep]
    rank = np.arange(len(hashes)) - np.searchsorted(g_line, g_line)
    top = rank < k
    low = (hashes[top] & np.uint64(_M32)).tolist()
    bounds = np.cumsum(np.bincount(g_line[top], minlength=len(lists))).tolist()
    lo = 0
    for i, hi in zip(sel, bounds, strict=True):
        out[i] = low[lo:hi]
        lo = hi
    return out
