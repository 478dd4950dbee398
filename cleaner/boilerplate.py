"""``--repeated-boilerplate K``: paragraphs found in K or more distinct documents
are site boilerplate (menus, footers, disclaimers), not content, and are
removed from every document, the first included (cc_net's semantics).

With files the counts come from a first pass over all inputs; on a stream
they grow as documents arrive, so removal starts at the K-th document that
carries the paragraph. Memory: one dict entry per distinct paragraph.
"""

from __future__ import annotations

from collections.abc import Iterable

from .dedup import exact_fingerprint


class Boilerplate:
    """Document frequencies of paragraphs, counted ahead (two passes) or online."""

    def __init__(self, k: int, counts: dict[int, int] | None = None) -> None:
        if k < 2:
            raise ValueError(f"repeated_boilerplate must be at least 2 documents; got {k}")
        self.k = k
        self.online = counts is None
        self.df: dict[int, int] = {} if counts is None else counts
        self.last_doc: dict[int, int] = {}
        self.doc = 0

    def start_doc(self, name: str) -> None:
        self.doc += 1

    def is_boilerplate(self, raw: bytes, text: str) -> bool:
        key = exact_fingerprint(raw, text)
        if self.online and self.last_doc.get(key) != self.doc:
            self.last_doc[key] = self.doc
            self.df[key] = self.df.get(key, 0) + 1
        return self.df.get(key, 0) >= self.k

    @staticmethod
    def count(documents: Iterable[Iterable[bytes]]) -> dict[int, int]:
        """First pass: in how many documents each non-blank line occurs."""
        df: dict[int, int] = {}
        for lines in documents:
            keys = set()
            for raw in lines:
                text = raw.decode("utf-8", "surrogateescape").rstrip("\r\n")
                if text.strip():
                    keys.add(exact_fingerprint(raw, text))
            for key in keys:
                df[key] = df.get(key, 0) + 1
        return df
