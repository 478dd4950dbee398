"""Every knob of a cleaning run, in one frozen dataclass."""

from __future__ import annotations

from dataclasses import dataclass

# Lines shorter than this (in words) are never removed for repeating alone:
# "Share", "Reuters" or "He said no." legitimately recur.
DEDUP_MIN_WORDS_DEFAULT = 5
# A single rule regex that runs longer than this on one line is abandoned and
# the line kept; the timeout is reported with the rule id.
REGEX_TIMEOUT_DEFAULT = 0.25
DEDUP_SCOPES = ("off", "doc")


@dataclass(frozen=True)
class Config:
    """Options of a ``Cleaner``.

    rules: extra rule files or folders, loaded after the default pack.
    default_rules: load the rule pack shipped with the package.
    dedup: where repeated paragraphs are looked for: ``"off"`` or ``"doc"``
        (within each document).
    dedup_min_words: shorter lines are not removed for repeating alone.
    regex_timeout: seconds one rule regex may run on one line.
    use_hyperscan: use the Hyperscan prefilter when it is installed (the
        output is the same either way; only speed differs).
    """

    rules: tuple[str, ...] = ()
    default_rules: bool = True
    dedup: str = "doc"
    dedup_min_words: int = DEDUP_MIN_WORDS_DEFAULT
    regex_timeout: float = REGEX_TIMEOUT_DEFAULT
    use_hyperscan: bool = True

    def __post_init__(self) -> None:
        if self.dedup not in DEDUP_SCOPES:
            raise ValueError(f"dedup must be one of {', '.join(DEDUP_SCOPES)}; got {self.dedup!r}")
        if self.dedup_min_words < 1:
            raise ValueError(f"dedup_min_words must be at least 1; got {self.dedup_min_words}")
        if not self.regex_timeout > 0:
            raise ValueError(f"regex_timeout must be a positive number of seconds; got {self.regex_timeout}")
