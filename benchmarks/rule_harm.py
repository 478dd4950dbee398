#!/usr/bin/env python3
"""Per-rule harm report: which removals hit article text?

Runs the cleaner with explain over every dirty page of a bench folder and, for
each rule, counts the removed lines that are junk (not in the gold) and the
removed lines that are article text (in the gold), with examples of the
harmful ones.

    python benchmarks/rule_harm.py [--bench /work/shared/bench] [--input dirty|extracted] [--examples 5]
                                   [--rule PREFIX] [--out DIR] [--show-good N]

The bench folder holds ``dirty/<id>.txt`` (page text, one block per line) and
``gold/<id>.txt`` (article text, one paragraph per line).

Texts are compared as lower-cased ``\\w+`` token strings, so spacing,
punctuation and quote styles do not matter. A removed line is HARM when:

- ``equal``:    it equals a gold line (any length: gold sub-headings count);
- ``inside``:   it has at least ``--min-words`` words and sits, at word
                boundaries, inside a gold line of at least ``--min-words`` words;
- ``contains``: it holds a whole gold line of at least ``--min-words`` words
                (a caption or label glued to a paragraph).

A harmful-looking removal whose text is still in the cleaned page (another
copy was kept, as on pages that repeat their article) counts as a REPEAT,
not as harm. Everything else is a GOOD removal. Strip decisions (the line is changed, not
removed) are counted apart, as are blank-line bookkeeping decisions.
Standard library and ``cleaner`` only. ``--out DIR`` also writes each cleaned
page to ``DIR/<id>.txt`` for ``score.py``.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

try:
    from cleaner import Cleaner, Config
except ImportError:  # run from a source checkout without installing
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from cleaner import Cleaner, Config

DEFAULT_BENCH = Path("/work/shared/bench")
_TOK = re.compile(r"\w+")
BLANK_RULE = "layout.blank-lines"


def norm(text: str) -> str:
    """Lower-cased word tokens joined by single spaces."""
    return " ".join(_TOK.findall(text.lower()))


@dataclass
class Gold:
    lines: set[str]
    long_lines: list[str]  # space-padded, for containment checks
    hay: str  # every long gold line, space-padded, joined by '|'


def load_gold(path: Path, min_words: int) -> Gold:
    lines: set[str] = set()
    long_lines: list[str] = []
    if path.exists():
        for raw in path.read_text(encoding="utf-8", errors="replace").splitlines():
            n = norm(raw)
            if not n:
                continue
            lines.add(n)
            if len(n.split()) >= min_words:
                long_lines.append(f" {n} ")
    return Gold(lines, long_lines, "|".join(long_lines))


def classify(text: str, gold: Gold, min_words: int) -> str | None:
    """The kind of harm a removed line does, or None for a good removal."""
    n = norm(text)
    if not n:
        return None
    if n in gold.lines:
        return "equal"
    padded = f" {n} "
    if len(n.split()) >= min_words and padded in gold.hay:
        return "inside"
    for g in gold.long_lines:
        if g in padded:
            return "contains"
    return None


@dataclass
class RuleTally:
    category: str = ""
    good: int = 0
    harm: int = 0
    strips: int = 0
    repeats: int = 0
    harm_examples: list[tuple[str, int, str, str]] = field(default_factory=list)
    good_examples: list[tuple[str, str]] = field(default_factory=list)
    pages: set[str] = field(default_factory=set)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bench", type=Path, default=DEFAULT_BENCH, help="folder with dirty/ and gold/")
    ap.add_argument("--input", default="dirty",
                    help="subfolder of --bench holding the pages to clean (dirty, extracted)")
    ap.add_argument("--examples", type=int, default=5, help="harmful examples shown per rule")
    ap.add_argument("--show-good", type=int, default=0, help="good removals shown per rule")
    ap.add_argument("--rule", default="", help="only report rules whose id starts with this")
    ap.add_argument("--min-words", type=int, default=4, help="word threshold for containment checks")
    ap.add_argument("--rules", action="append", default=[], help="extra rule file or folder")
    ap.add_argument("--out", type=Path, help="also write cleaned pages here")
    ap.add_argument("--width", type=int, default=160, help="truncate example text to this many characters")
    args = ap.parse_args(argv)

    dirty_dir, gold_dir = args.bench / args.input, args.bench / "gold"
    pages = sorted(dirty_dir.glob("*.txt"))
    if not pages:
        print(f"no pages in {dirty_dir}", file=sys.stderr)
        return 2
    cleaner = Cleaner(Config(rules=tuple(args.rules)))
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)

    tallies: dict[str, RuleTally] = defaultdict(RuleTally)
    for page in pages:
        doc_id = page.stem
        text = page.read_text(encoding="utf-8", errors="surrogateescape")
        gold = load_gold(gold_dir / page.name, args.min_words)
        result = cleaner.explain_text(text, doc_id=doc_id)
        if args.out:
            (args.out / page.name).write_text(result.text, encoding="utf-8", errors="surrogateescape")
        kept = {norm(line) for line in result.text.splitlines()}
        kept_hay = "|".join(f" {k} " for k in kept if k)
        for d in result.decisions:
            if d.rule == BLANK_RULE or not d.text.strip():
                continue
            t = tallies[d.rule]
            t.category = d.category
            t.pages.add(doc_id)
            if d.action == "strip":
                t.strips += 1
                continue
            kind = classify(d.text, gold, args.min_words)
            if kind is None:
                t.good += 1
                if len(t.good_examples) < args.show_good:
                    t.good_examples.append((doc_id, d.text))
            elif norm(d.text) in kept or (len(norm(d.text).split()) >= args.min_words
                                            and f" {norm(d.text)} " in kept_hay):
                t.repeats += 1
            else:
                t.harm += 1
                if len(t.harm_examples) < args.examples:
                    t.harm_examples.append((doc_id, d.line, kind, d.text))

    # every rule of the pack, also those that never fired
    for r in cleaner.ruleset.rules:
        tallies[r.id].category = r.category
    shown = {k: v for k, v in tallies.items() if k.startswith(args.rule)}

    def clip(s: str) -> str:
        return s if len(s) <= args.width else s[: args.width - 1] + "…"

    print(f"{len(pages)} pages, {len(cleaner.ruleset.rules)} rules")
    print(f"{'rule':44} {'good':>6} {'harm':>5} {'rept':>5} {'strip':>5} {'pages':>5}")
    tot_good = tot_harm = tot_rep = 0
    for rid in sorted(shown, key=lambda k: (shown[k].category, k)):
        t = shown[rid]
        flag = "  <-- HARM" if t.harm else ""
        print(f"{rid:44} {t.good:6d} {t.harm:5d} {t.repeats:5d} {t.strips:5d} {len(t.pages):5d}{flag}")
        tot_good += t.good
        tot_harm += t.harm
        tot_rep += t.repeats
    print(f"{'TOTAL':44} {tot_good:6d} {tot_harm:5d} {tot_rep:5d}")
    print("good: junk removed; harm: gold text removed; rept: a removed copy of text kept elsewhere")

    harmful = [k for k in sorted(shown) if shown[k].harm]
    if harmful:
        print("\nHarmful removals (doc:line kind text):")
        for rid in harmful:
            t = shown[rid]
            print(f"\n{rid}  ({t.harm} harmful)")
            for doc, line, kind, text in t.harm_examples:
                print(f"  {doc}:{line} [{kind}] {clip(text)}")
    if args.show_good:
        print("\nGood removals (samples):")
        for rid in sorted(shown):
            t = shown[rid]
            if t.good_examples:
                print(f"\n{rid}  ({t.good} good)")
                for doc, text in t.good_examples:
                    print(f"  {doc}: {clip(text)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
