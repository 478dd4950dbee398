"""Run the examples every rule carries (``clean rules test`` and the test suite)."""

from __future__ import annotations

from dataclasses import dataclass

from .config import Config
from .engine import Engine
from .rules import Rule, RuleSet


@dataclass(frozen=True)
class ExampleFailure:
    rule_id: str
    source: str
    kind: str
    example: str
    message: str

    def __str__(self) -> str:
        return f"{self.source}: rule {self.rule_id!r}: {self.kind} example {self.example!r}: {self.message}"


def rule_matches(rule: Rule, text: str) -> bool:
    """Does the rule's start condition hold for this single line (at the top of a document)?"""
    if not rule.accepts_words(len(text.split())):
        return False
    return any(p.search(text) is not None for p in rule.compiled)


def check_examples(ruleset: RuleSet, config: Config | None = None) -> list[ExampleFailure]:
    """Every failing example of every rule, in rule order.

    Per rule: each ``drop`` example matches the rule and each ``keep`` example
    does not; ``strip`` and ``documents`` examples give their expected output
    with that rule alone. Whole pack: the prefilter reports the rule on each
    of its ``drop`` examples, and no rule of the pack removes or changes a
    ``keep`` example.
    """
    from .api import Cleaner  # api imports this module's neighbours; avoid a cycle

    base = config or Config()
    # examples test rules: no duplicate removal and no classifier (a lone
    # example line has no page around it for the classifier to judge)
    alone = Config(dedup="off", use_hyperscan=False, regex_timeout=base.regex_timeout, classifier=False)
    whole = Cleaner(Config(dedup="off", use_hyperscan=base.use_hyperscan, classifier=False), ruleset=ruleset)
    fails: list[ExampleFailure] = []

    def fail(rule: Rule, kind: str, example: str, message: str) -> None:
        fails.append(ExampleFailure(rule.id, rule.source, kind, example, message))

    for idx, rule in enumerate(ruleset.rules):
        for ex in rule.drop_examples:
            if not rule_matches(rule, ex):
                fail(rule, "drop", ex, "the rule does not match it")
            elif idx not in _prefilter_hits(whole.engine, ex):
                fail(rule, "drop", ex, "the prefilter does not report the rule for it (widen() bug?)")
        for ex in rule.keep_examples:
            if rule_matches(rule, ex):
                fail(rule, "keep", ex, "the rule matches it")
            else:
                got = whole.clean_text(ex + "\n")
                if got != ex + "\n":
                    why = whole.explain_text(ex + "\n").decisions
                    by = ", ".join(sorted({d.rule for d in why})) or "?"
                    fail(rule, "keep", ex, f"the rule pack removes or changes it (rule {by})")
        if rule.strip_examples or rule.document_examples:
            one = Cleaner(alone, ruleset=ruleset.only([rule.id]))
            for before, after in rule.strip_examples:
                got = one.clean_text(before)
                if got != after:
                    fail(rule, "strip", before, f"expected {after!r}, got {got!r}")
            for inp, expected in rule.document_examples:
                got = one.clean_text(inp)
                if got != expected:
                    fail(rule, "documents", inp, f"expected {expected!r}, got {got!r}")
    return fails


def _prefilter_hits(engine: Engine, text: str) -> set[int]:
    hits = engine.candidates(text.encode("utf-8"))
    return set(hits.get(0, ())) | set(engine.always)
