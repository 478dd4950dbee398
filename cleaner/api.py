"""The library door: a ``Cleaner`` built once, used for many texts."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .boilerplate import Boilerplate
from .config import Config
from .context import ContextClassifier, ContextParams, CrossDocCounter
from .engine import Engine
from .errors import InputError
from .explain import Decision, Stats
from .index import Index, IndexParams, locked
from .matcher import Matcher, MatchSettings
from .rules import RuleSet, load_rules
from .stream import StreamCleaner


@dataclass(frozen=True)
class Explained:
    """The cleaned text and every decision that changed it."""

    text: str
    decisions: list[Decision] = field(default_factory=list)


class Cleaner:
    """Rules compiled once plus options; cleans texts, line streams and byte streams.

    >>> page = ("Our newsroom\\nThe council met on Tuesday and approved the budget for the new school year.\\n"
    ...         "Leave a Reply\\nName *\\n")
    >>> Cleaner().clean_text(page)  # a label no rule names (the classifier), a comment form (a rule)
    'The council met on Tuesday and approved the budget for the new school year.\\n'
    >>> Cleaner(Config(classifier=False)).clean_text(page)  # rules and duplicates only
    'Our newsroom\\nThe council met on Tuesday and approved the budget for the new school year.\\n'

    A ``Cleaner`` accumulates counters in ``stats`` across calls. Each call
    is one document. With ``dedup="doc"`` repeats are looked for within it;
    with ``dedup="stream"`` across every document this ``Cleaner`` has seen,
    in call order (first copy wins). With ``index_path``, call ``close()``
    (or use ``with Cleaner(...) as c:``) to save the index.
    """

    def __init__(self, config: Config | None = None, *, ruleset: RuleSet | None = None,
                 boilerplate_counts: dict[int, int] | None = None) -> None:
        self.config = cfg = config or Config()
        self.ruleset = ruleset if ruleset is not None else load_rules(cfg.rules, defaults=cfg.default_rules)
        self.engine = Engine(self.ruleset, cfg)
        self.stats = Stats()
        self._lock: ExitStack | None = None
        self.matcher = self._matcher(cfg) if cfg.dedup != "off" or cfg.index_path else None
        self.boiler = (Boilerplate(cfg.repeated_boilerplate, boilerplate_counts)
                       if cfg.repeated_boilerplate else None)
        # one classifier per run. Like duplicates, its cross-document line
        # counts (bounded, a few MB) follow the dedup scope: with "stream"
        # they span every document this Cleaner sees, in call order; else
        # each document is judged alone (same output in any order, any -j).
        # Short repeats are the duplicate pass's business: none with dedup off
        self.classifier = (ContextClassifier(ContextParams(use_repeats=cfg.dedup != "off"),
                                             crossdoc=CrossDocCounter() if cfg.dedup == "stream" else None)
                           if cfg.classifier_on else None)

    def _matcher(self, cfg: Config) -> Matcher:
        params = IndexParams(ngram=cfg.ngram, sketch_k=cfg.sketch_k)
        budget = None if cfg.max_index_mb is None else int(cfg.max_index_mb * 1024 * 1024)
        loaded = None
        if cfg.index_path:
            self._lock = ExitStack()
            # held for the whole run: concurrent runs on one index take turns
            self._lock.enter_context(locked(cfg.index_path, shared=cfg.index_readonly))
            if Path(cfg.index_path).exists():
                loaded = Index.load(cfg.index_path, params, budget)
        settings = MatchSettings(cfg.dedup_min_words, cfg.near_on, cfg.near_threshold, cfg.near_min_words,
                                 cfg.ngram, cfg.sketch_k)
        return Matcher(settings, Index(params, budget), loaded, per_doc=cfg.dedup == "doc",
                       line_unit=cfg.unit == "line")

    def close(self) -> None:
        """Save the duplicate index (``index_path``, unless read-only) and release its lock."""
        cfg, m = self.config, self.matcher
        try:
            if m is not None and cfg.index_path and not cfg.index_readonly:
                merged = m.loaded if m.loaded is not None else Index(m.live.params, m.live.max_bytes)
                merged.merge_from(m.live)
                merged.save(cfg.index_path)
        finally:
            if self._lock is not None:
                self._lock.close()
                self._lock = None

    def without_rules(self) -> Cleaner:
        """A Cleaner sharing this one's duplicate state and counters but
        running no rules (the duplicate pass after rules ran elsewhere)."""
        other = Cleaner.__new__(Cleaner)
        other.config = self.config
        other.ruleset = RuleSet((), self.ruleset.categories, ())
        other.engine = Engine(other.ruleset, self.config)
        other.stats, other.matcher, other.boiler, other._lock = self.stats, self.matcher, self.boiler, None
        other.classifier = self.classifier
        return other

    def __enter__(self) -> Cleaner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def index_info(self) -> dict[str, Any] | None:
        """Size and fullness of the in-run duplicate index (None without one).
        Per document (``dedup="doc"``) only with a memory budget: the last
        document's index, with the smallest share of the hash space any
        document kept."""
        m = self.matcher
        if m is None or (self.config.dedup == "doc" and m.live.max_bytes is None):
            return None
        info = m.live.info()
        info["budget_bytes"] = m.live.max_bytes
        if self.config.dedup == "doc":
            info["sampled_share"] = min(m.min_share, m.live.sampled_share())
        return info

    def stream(self, name: str, *, sink: Callable[[Decision], None] | None = None,
               split_docs: bool = False, first_doc: int = 1) -> StreamCleaner:
        """A byte-stream cleaner: ``feed(chunk) -> bytes`` then ``close() -> bytes``.
        With ``split_docs``, documents are named ``NAME#first_doc``, ``NAME#first_doc+1``, ..."""
        return StreamCleaner(self.engine, name, stats=self.stats, sink=sink, split_docs=split_docs,
                             first_doc=first_doc, matcher=self.matcher, boiler=self.boiler, classifier=self.classifier)

    def clean_bytes(self, data: bytes, *, doc_id: str = "text",
                    sink: Callable[[Decision], None] | None = None) -> bytes:
        """Clean one document given as bytes; kept lines come back byte-identical."""
        s = self.stream(doc_id, sink=sink)
        return s.feed(data) + s.close()

    def clean_text(self, text: str, *, doc_id: str = "text",
                   sink: Callable[[Decision], None] | None = None) -> str:
        """Clean one document given as a string."""
        return self._decode(self.clean_bytes(self._encode(text), doc_id=doc_id, sink=sink))

    def clean_records(self, records: Iterable[Mapping[str, Any]], field: str = "text",
                      id_field: str | None = None) -> Iterator[dict[str, Any]]:
        """Yield each record (a new dict, other fields untouched) with its
        ``field`` cleaned, lazily and in order. Each record is one document;
        ``id_field`` names it for explain and duplicate ownership."""
        for n, rec in enumerate(records, 1):
            text = rec.get(field)
            if not isinstance(text, str):
                raise InputError(f"record {n}: field {field!r} is missing or not a string")
            out = dict(rec)
            doc = str(rec[id_field]) if id_field is not None and id_field in rec else f"record#{n}"
            try:
                out[field] = self.clean_text(text, doc_id=doc)
            except UnicodeEncodeError:
                raise InputError(f"record {n}: field {field!r} holds a lone surrogate, not Unicode text") from None
            yield out

    # A Cleaner crosses process boundaries as its options and rules: the
    # Hyperscan database is rebuilt (from the on-disk cache) on arrival, and
    # duplicate state starts empty in each copy (a read-only index is loaded
    # again by each copy).
    def __getstate__(self) -> dict[str, Any]:
        cfg = self.config
        if cfg.index_path and not cfg.index_readonly:
            # the copy would wait forever for the lock this Cleaner holds on the index
            raise TypeError(f"a Cleaner that saves the duplicate index {cfg.index_path!r} cannot be copied to "
                            "another process; give each worker its own index_path (and merge them with "
                            "`clean index merge`), or copy one with index_readonly=True (see docs/etl.md)")
        return {"config": self.config, "ruleset": self.ruleset}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["config"], ruleset=state["ruleset"])  # type: ignore[misc]

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
