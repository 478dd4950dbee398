"""The library door: a ``Cleaner`` built once, used for many texts."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from .config import Config
from .engine import Engine
from .explain import Decision, Stats
from .rules import RuleSet, load_rules
from .stream import StreamCleaner


@dataclass(frozen=True)
class Explained:
    """The cleaned text and every decision that changed it."""

    text: str
    decisions: list[Decision] = field(default_factory=list)


class Cleaner:
    """Rules compiled once plus options; cleans texts, line streams and byte streams.

    >>> Cleaner().clean_text("Real sentence one.\\nLeave a Reply\\nName *\\n")
    'Real sentence one.\\n'

    A ``Cleaner`` accumulates counters in ``stats`` across calls. Duplicate
    detection is per document (each call is one document).
    """

    def __init__(self, config: Config | None = None, *, ruleset: RuleSet | None = None) -> None:
        self.config = config or Config()
        self.ruleset = ruleset if ruleset is not None else load_rules(
            self.config.rules, defaults=self.config.default_rules
        )
        self.engine = Engine(self.ruleset, self.config)
        self.stats = Stats()

    def stream(self, name: str, *, sink: Callable[[Decision], None] | None = None,
               split_docs: bool = False) -> StreamCleaner:
        """A byte-stream cleaner: ``feed(chunk) -> bytes`` then ``close() -> bytes``."""
        return StreamCleaner(self.engine, name, stats=self.stats, sink=sink, split_docs=split_docs)

    def clean_bytes(self, data: bytes, *, doc_id: str = "text",
                    sink: Callable[[Decision], None] | None = None) -> bytes:
        """Clean one document given as bytes; kept lines come back byte-identical."""
        s = self.stream(doc_id, sink=sink)
        return s.feed(data) + s.close()

    def clean_text(self, text: str, *, doc_id: str = "text") -> str:
        """Clean one document given as a string."""
        return self._decode(self.clean_bytes(self._encode(text), doc_id=doc_id))

    def explain_text(self, text: str, *, doc_id: str = "text") -> Explained:
        """Like ``clean_text``, also returning every removal and change, in line order."""
        decisions: list[Decision] = []
        out = self.clean_bytes(self._encode(text), doc_id=doc_id, sink=decisions.append)
        decisions.sort(key=lambda d: d.line)
        return Explained(self._decode(out), decisions)

    def clean_lines(self, lines: Iterable[str], *, doc_id: str = "lines") -> Iterator[str]:
        """Clean one document given as lines (with their line endings, as a
        text file yields them); yields kept lines as soon as they are decided."""
        s = self.stream(doc_id)
        for line in lines:
            data = s.feed(self._encode(line))
            yield from _split_lines(self._decode(data))
        yield from _split_lines(self._decode(s.close()))

    @staticmethod
    def _encode(text: str) -> bytes:
        return text.encode("utf-8", "surrogateescape")

    @staticmethod
    def _decode(data: bytes) -> str:
        return data.decode("utf-8", "surrogateescape")


def _split_lines(text: str) -> list[str]:
    """Split on ``\n`` only, keeping endings (``str.splitlines`` also splits on
    form feeds and other separators)."""
    parts = text.split("\n")
    last = parts.pop()
    out = [p + "\n" for p in parts]
    if last:
        out.append(last)
    return out
