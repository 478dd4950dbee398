"""Every knob of a cleaning run, in one frozen dataclass."""

from __future__ import annotations

from dataclasses import dataclass

from .dedup import NEAR_MIN_WORDS_DEFAULT, NEAR_THRESHOLD_DEFAULT, NGRAM_DEFAULT, SKETCH_K_DEFAULT

# Lines shorter than this (in words) are never removed for repeating alone:
# "Share", "Reuters" or "He said no." legitimately recur.
DEDUP_MIN_WORDS_DEFAULT = 5
# A single rule regex that runs longer than this on one line is abandoned and
# the line kept; the timeout is reported with the rule id.
REGEX_TIMEOUT_DEFAULT = 0.25
REGEX_TIMEOUT_MAX = 86400.0  # a day: past it (or inf) the timers cannot count
DEDUP_SCOPES = ("off", "doc", "stream")
UNITS = ("line", "block")


@dataclass(frozen=True)
class Config:
    """Options of a ``Cleaner``.

    rules: extra rule files or folders, loaded after the default pack.
    default_rules: load the rule pack shipped with the package.
    dedup: where repeated paragraphs are looked for: ``"off"``, ``"doc"``
        (within each document) or ``"stream"`` (across all documents of the
        run, first copy wins in input order).
    dedup_min_words: shorter lines are not removed for repeating alone.
    near: also remove near duplicates (a few words changed, added or
        removed). ``None`` (default): on for ``dedup="stream"`` and with an
        index, off within single documents, where repeats are pasted copies.
    near_threshold: share of a paragraph's n-gram sketch already seen that
        makes it a near duplicate (0 < t <= 1); below 1, one sketch value
        less suffices when the facts (numbers, names) of both paragraphs
        agree, and a match whose facts differ is refused (``dedup.near_accept``),
        as is one that only shares a quote with the earlier paragraph
        (``dedup.is_excerpt``).
    near_min_words: shorter paragraphs are judged by exact match only.
    ngram, sketch_k: words per n-gram and fingerprints kept per paragraph.
    unit: ``"line"`` (a paragraph per line) or ``"block"`` (non-blank lines
        between blank lines, for hard-wrapped text).
    index_path: load this duplicate index before the run and save it after
        (implies cross-document matching against earlier runs).
    index_readonly: check against ``index_path`` without adding to it.
    max_index_mb: memory budget of the duplicate index (None: unbounded).
    repeated_boilerplate: remove paragraphs found in this many distinct
        documents or more (None: off).
    regex_timeout: seconds one rule regex may run on one line.
    use_hyperscan: use the Hyperscan prefilter when it is installed (the
        output is the same either way; only speed differs).
    classifier: after rules and duplicate removal, also drop the page
        furniture no rule names (menus, teasers, bylines, footers) with the
        context-aware line classifier (``cleaner/context.py``); lines are
        decided with a bounded look-ahead, and lines are counted across the
        documents of the run. ``None`` (default): on with ``unit="line"``,
        off with ``unit="block"`` (hard-wrapped lines are not paragraphs);
        ``False`` switches it off (rules and duplicates only); ``True``
        needs ``unit="line"``.
    skip_repeats: block rules (``drop_block``) skip a line that repeats an
        earlier line of the document that the rules kept (after folding, of
        ``dedup_min_words`` words or more): it neither continues nor ends the
        block and is judged as any other line (a repeat is removed as such).
        Repeats are what duplicate removal takes out, so a second run sees the
        block the first one did (idempotence). ``None`` (default): on when
        duplicates are removed (``dedup`` not ``"off"``) with ``unit="line"``.
    """

    rules: tuple[str, ...] = ()
    default_rules: bool = True
    dedup: str = "doc"
    dedup_min_words: int = DEDUP_MIN_WORDS_DEFAULT
    near: bool | None = None
    near_threshold: float = NEAR_THRESHOLD_DEFAULT
    near_min_words: int = NEAR_MIN_WORDS_DEFAULT
    ngram: int = NGRAM_DEFAULT
    sketch_k: int = SKETCH_K_DEFAULT
    unit: str = "line"
    index_path: str | None = None
    index_readonly: bool = False
    max_index_mb: float | None = None
    repeated_boilerplate: int | None = None
    regex_timeout: float = REGEX_TIMEOUT_DEFAULT
    use_hyperscan: bool = True
    classifier: bool | None = None
    skip_repeats: bool | None = None

    @property
    def near_on(self) -> bool:
        """Whether near matching runs (resolving the ``None`` default)."""
        if self.near is not None:
            return self.near
        return self.dedup == "stream" or self.index_path is not None

    @property
    def classifier_on(self) -> bool:
        """Whether the context classifier runs (resolving the ``None`` default)."""
        if self.classifier is not None:
            return self.classifier
        return self.unit == "line"

    @property
    def skip_repeats_on(self) -> bool:
        """Whether block rules skip repeated lines (resolving the ``None`` default)."""
        if self.skip_repeats is not None:
            return self.skip_repeats
        return self.dedup != "off" and self.unit == "line"

    def __post_init__(self) -> None:
        if self.dedup not in DEDUP_SCOPES:
            raise ValueError(f"dedup must be one of {', '.join(DEDUP_SCOPES)}; got {self.dedup!r}")
        if self.dedup_min_words < 1:
            raise ValueError(f"dedup_min_words must be at least 1; got {self.dedup_min_words}")
        if not 0 < self.near_threshold <= 1:
            raise ValueError(f"near_threshold must be in (0, 1]; got {self.near_threshold}")
        if self.near_min_words < self.ngram or self.ngram < 1 or self.sketch_k < 1:
            raise ValueError("need ngram >= 1, sketch_k >= 1 and near_min_words >= ngram")
        if self.unit not in UNITS:
            raise ValueError(f"unit must be one of {', '.join(UNITS)}; got {self.unit!r}")
        if self.index_readonly and not self.index_path:
            raise ValueError("index_readonly needs index_path")
        if self.max_index_mb is not None and self.max_index_mb <= 0:
            raise ValueError(f"max_index_mb must be positive; got {self.max_index_mb}")
        if self.repeated_boilerplate is not None and self.repeated_boilerplate < 2:
            raise ValueError(f"repeated_boilerplate must be at least 2; got {self.repeated_boilerplate}")
        if self.classifier and self.unit != "line":
            raise ValueError("classifier needs unit='line' (it judges paragraphs, not hard-wrapped lines)")
        if not 0 < self.regex_timeout <= REGEX_TIMEOUT_MAX:
            raise ValueError(f"regex_timeout must be a positive number of seconds, at most {REGEX_TIMEOUT_MAX:g}; "
                             f"got {self.regex_timeout}")
