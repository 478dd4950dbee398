"""Paragraph normalization and hashing for duplicate detection.

Normalization (documented contract, part of any saved index's header):
  1. Unicode NFKC (skipped for ASCII lines, where it is the identity);
  2. case folding (``str.casefold``; ``str.lower`` for ASCII);
  3. every run of characters that are not letters or digits (punctuation,
     symbols, quotes of any style, underscores, whitespace) becomes one space;
  4. leading and trailing spaces are removed.
The hash is xxh3-64 of the UTF-8 bytes of the result.
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


def normalize(text: str) -> str:
    """Fold a paragraph to the words that identify it (see module docstring)."""
    if text.isascii():
        return " ".join(text.lower().translate(_ASCII_TO_SPACE).split())
    folded = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(_NON_ALNUM.sub(" ", folded).split())


def paragraph_hash(norm: str) -> int:
    """xxh3-64 of a normalized paragraph."""
    return _hash(norm.encode("utf-8", "surrogateescape"))
