"""Exceptions raised by the cleaner library."""

from __future__ import annotations

from dataclasses import dataclass


class CleanerError(Exception):
    """Base class of every error the library raises on purpose."""


@dataclass(frozen=True)
class RuleProblem:
    """One thing wrong with a rule file: where it is and what is wrong."""

    file: str
    rule_id: str | None
    message: str

    def __str__(self) -> str:
        where = self.file if self.rule_id is None else f"{self.file}: rule {self.rule_id!r}"
        return f"{where}: {self.message}"


class RuleError(CleanerError):
    """A rule set could not be loaded; carries every problem found, not just the first."""

    def __init__(self, problems: list[RuleProblem]) -> None:
        self.problems = problems
        lines = "\n".join(f"  {p}" for p in problems)
        super().__init__(f"{len(problems)} problem(s) in the rule files:\n{lines}")


class InputError(CleanerError):
    """An input could not be read or framed (missing file, bad record)."""
