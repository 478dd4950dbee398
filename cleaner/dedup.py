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

``normalize`` keeps word boundaries (for word n-grams): NFKC, casefold, runs
of non-alphanumeric characters become one space.
"""

from __future__ import annotations

import string
import unicodedata

import regex
import xxhash

NORMALIZATION = "nfkc-casefold-alnum-words-v1"
HASH = "xxh3_64"

_NON_ALNUM = regex.compile(r"[\W_]+")
_ASCII_TO_SPACE = str.maketrans({c: " " for c in string.punctuation + "\t\n\r\x0b\x0c"})
_hash = xxhash.xxh3_64_intdigest
ASCII_NON_ALNUM = bytes(c for c in range(128) if not chr(c).isalnum())
_UNICODE_PUNCT = regex.compile(rb"\xe2[\x80\x81][\x80-\xbf]|\xc2[\xa0-\xbf]|\xe3\x80[\x80-\xbf]")


def exact_key(raw: bytes, text: str) -> bytes:
    """The folded bytes that identify a paragraph for exact matching (see
    module docstring); ``raw`` is the line's bytes, ``text`` its decoded text."""
    if raw.isascii():
        return raw.lower().translate(None, ASCII_NON_ALNUM)
    if not unicodedata.is_normalized("NFKC", text):
        text = unicodedata.normalize("NFKC", text)
    folded = text.casefold().encode("utf-8", "surrogateescape").translate(None, ASCII_NON_ALNUM)
    return bytes(_UNICODE_PUNCT.sub(b"", folded))


def key_hash(key: bytes) -> int:
    """xxh3-64 of an exact key."""
    return _hash(key)


def normalize(text: str) -> str:
    """Fold a paragraph to the words that identify it (see module docstring)."""
    if text.isascii():
        return " ".join(text.lower().translate(_ASCII_TO_SPACE).split())
    folded = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(_NON_ALNUM.sub(" ", folded).split())
