"""cleaner: rule-driven boilerplate and duplicate-content removal for scraped text."""

from .api import Cleaner, Explained
from .config import Config
from .errors import CleanerError, InputError, RuleError, RuleProblem
from .explain import Decision, Stats
from .rules import Rule, RuleSet, load_rules

__version__ = "0.1.0"


def clean_text(text: str, config: Config | None = None) -> str:
    """Clean one document with a fresh ``Cleaner`` (build one yourself for many texts)."""
    return Cleaner(config).clean_text(text)


__all__ = [
    "Cleaner", "CleanerError", "Config", "Decision", "Explained", "InputError", "Rule",
    "RuleError", "RuleProblem", "RuleSet", "Stats", "__version__", "clean_text", "load_rules",
]
