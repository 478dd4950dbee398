"""Decision records (why a line was removed or changed) and run statistics."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import IO, Any


@dataclass(frozen=True)
class Decision:
    """One removed or changed line. ``line`` is 1-based within the document."""

    doc: str
    line: int
    rule: str
    category: str
    action: str
    text: str
    first: tuple[str, int] | None = None  # for duplicates: where the kept copy is
    match: str | None = None  # for duplicates: "exact" or "near"
    score: float | None = None  # for near duplicates: share of the sketch already seen
    # for classifier removals: the line's feature values (``Verdict.explain()``)
    features: dict[str, Any] | None = field(default=None, hash=False)

    def to_json(self) -> str:
        d: dict[str, Any] = asdict(self)
        for key in ("first", "match", "score", "features"):
            if d[key] is None:
                del d[key]
        if self.first is not None:
            d["first"] = {"doc": self.first[0], "line": self.first[1]}
        return json.dumps(d, ensure_ascii=False)


@dataclass
class Stats:
    """Counters for ``--stats``; merged across documents and workers."""

    docs: int = 0
    lines_in: int = 0
    lines_out: int = 0
    bytes_in: int = 0
    bytes_out: int = 0
    by_rule: Counter[str] = field(default_factory=Counter)
    by_category: Counter[str] = field(default_factory=Counter)
    regex_timeouts: Counter[str] = field(default_factory=Counter)
    rejected: int = 0  # JSON Lines records set aside (--on-error skip)
    dropped_records: int = 0  # JSON Lines records left empty (--drop-empty)
    skipped_files: int = 0  # binary files not touched

    def count(self, rule: str, category: str) -> None:
        self.by_rule[rule] += 1
        self.by_category[category] += 1

    def merge(self, other: Stats) -> None:
        for name in ("docs", "lines_in", "lines_out", "bytes_in", "bytes_out", "rejected", "dropped_records",
                     "skipped_files"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.by_rule.update(other.by_rule)
        self.by_category.update(other.by_category)
        self.regex_timeouts.update(other.regex_timeouts)

    def write(self, out: IO[str]) -> None:
        removed = self.lines_in - self.lines_out
        out.write(
            f"documents: {self.docs}\n"
            f"lines: {self.lines_in} in, {self.lines_out} out, {removed} removed or merged\n"
            f"bytes: {self.bytes_in} in, {self.bytes_out} out\n"
        )
        if self.rejected or self.dropped_records:
            out.write(f"records: {self.rejected} rejected, {self.dropped_records} dropped as empty\n")
        if self.skipped_files:
            out.write(f"files skipped as binary: {self.skipped_files}\n")
        if self.by_category:
            out.write("by category:\n")
            for name, n in sorted(self.by_category.items(), key=lambda kv: (-kv[1], kv[0])):
                out.write(f"  {n:>8}  {name}\n")
        if self.by_rule:
            out.write("by rule:\n")
            for name, n in sorted(self.by_rule.items(), key=lambda kv: (-kv[1], kv[0])):
                out.write(f"  {n:>8}  {name}\n")
        if self.regex_timeouts:
            out.write("regex timeouts (line kept):\n")
            for name, n in sorted(self.regex_timeouts.items()):
                out.write(f"  {n:>8}  {name}\n")
