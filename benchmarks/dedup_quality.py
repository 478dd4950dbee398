#!/usr/bin/env python3
"""Quality of cross-document duplicate detection (exact and near) on labelled pairs.

    python benchmarks/dedup_quality.py                 # table at the current defaults (a few seconds)
    python benchmarks/dedup_quality.py --limit 50      # quick run: at most 50 pairs per kind
    python benchmarks/dedup_quality.py --detail        # also misses / false positives by bucket, examples
    python benchmarks/dedup_quality.py --sweep         # also the parameter sweep (1-3 min on 2 CPUs)

Pairs are built deterministically (seed ``--seed``, default 20261124; every
kind has its own ``random.Random`` seeded by the seed and the kind's name) from
the gold paragraphs of ``/work/shared/bench/gold/*.txt`` and the article lines
of ``corpus_samples/*.expected.txt`` (one paragraph per line; lines of at
least 10 words; repeated paragraphs dropped). A pair is an original A, indexed
first as its own document, and a variant B, cleaned as a second document by
the same fresh ``Cleaner`` (``dedup="stream"``, ``near=True``, no rules): B is
*detected* when it is removed with rule ``dedup.repeat``. Every pair gets a
fresh index, so kinds and pairs do not interfere.

Positive kinds (B should be removed): exact copies; punctuation, case,
whitespace and quote-style changes (the "normalized-exact" copies); 1%, 5% and
10% of the words substituted (by another word of the corpus vocabulary),
inserted, deleted, or a mix of the three (at least one edit); truncated copies
(the first 60-90% of the words); two paragraphs merged (A1 and A2 indexed, B
is A1 + " " + A2); a paragraph with a short addition (3-8 words from another
article appended as a clause or a sentence).

Hard negatives (B must be kept): another paragraph of the same article (pairs
whose word 3-grams overlap by half or more are skipped as real repeats); the
same template with other facts (all numbers and capitalized names replaced, and
30% of the other content words changed; English articles only; a name is a
capitalized word that may not start a sentence, i.e. follows no ``.``, ``!``,
``?``, ``:`` or opening quote, and is no stop word before an in-word
apostrophe, so ``I’m`` is not one); and a quote of
8-15 words from A embedded in text of comparable length from another article
(A of at least 30 words).

Targets: recall 1.0 on normalized-exact copies, >= 0.95 with up to 5% of the
words edited, >= 0.85 at 10%, precision (share of hard negatives kept)
>= 0.995; each kind is checked on its own.

``--sweep`` runs the same pairs over ngram x sketch_k x near_threshold x
near_min_words and ranks the settings by the smallest headroom over the
targets (``(value - target) / (1 - target)``; 1 is perfect, below 0 a miss).

``--background`` also indexes every paragraph of the pool as one stream (each
article one document) and checks each removal against the paragraph it was
matched to, and prints an estimate of chance matches of the 32-bit sketch
fingerprints in large indexes.

Standard library and ``cleaner`` only.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import re
import sys
import time
import unicodedata
import zlib
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

try:
    from cleaner import Cleaner, Config
    from cleaner.rules import RuleSet
except ImportError:  # run from a source checkout without installing
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from cleaner import Cleaner, Config
    from cleaner.rules import RuleSet

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_GOLD = Path("/work/shared/bench/gold")
DEFAULT_SAMPLES = ROOT / "corpus_samples"
SEED = 20261124
MIN_WORDS = 10
DEDUP_RULE = "dedup.repeat"
NO_RULES = RuleSet((), {}, ())

# -- the labelled kinds ---------------------------------------------------------

NORMALIZED = "normalized-exact"
EDIT5 = "edit <= 5%"
EDIT10 = "edit 10%"
OTHER = "other positives"
NEGATIVE = "hard negatives"
TARGETS: dict[str, float | None] = {NORMALIZED: 1.0, EDIT5: 0.95, EDIT10: 0.85, OTHER: None, NEGATIVE: 0.995}


@dataclass(frozen=True)
class Kind:
    name: str
    group: str

    @property
    def positive(self) -> bool:
        return self.group != NEGATIVE

    @property
    def target(self) -> float | None:
        return TARGETS[self.group]


EDIT_OPS = ("sub", "ins", "del", "mix")
KINDS: tuple[Kind, ...] = (
    Kind("exact", NORMALIZED), Kind("punctuation", NORMALIZED), Kind("case", NORMALIZED),
    Kind("whitespace", NORMALIZED), Kind("quote style", NORMALIZED),
    *(Kind(f"{op} {pct}%", EDIT5 if pct <= 5 else EDIT10) for pct in (1, 5, 10) for op in EDIT_OPS),
    Kind("truncated 60-90%", OTHER), Kind("merged A1+A2", OTHER), Kind("short addition", OTHER),
    Kind("apostrophe as ´ or ʼ", OTHER),
    Kind("other paragraph, same article", NEGATIVE), Kind("same template, other facts", NEGATIVE),
    Kind("shared quote", NEGATIVE),
)
KIND_BY_NAME = {k.name: k for k in KINDS}


@dataclass(frozen=True)
class Source:
    name: str
    paras: tuple[str, ...]  # lines of >= 10 words, each paragraph once in the pool
    english: bool
    lines: tuple[str, ...]  # every non-blank line, for --background


@dataclass(frozen=True)
class Pair:
    kind: str
    index: tuple[str, ...]  # lines of the first document (indexed)
    probe: str  # the one line of the second document
    note: str = ""  # a bucket for --detail breakdowns


# -- text helpers ---------------------------------------------------------------

_WORD = re.compile(r"\w+")
_HAS_WORD = re.compile(r"\w")
_CORE = re.compile(r"^(\W*)(.*?)(\W*)$", re.S)
_QUOTES = "'\"‘’“”‚„«»′`"
_STOP_WORDS = """
a about above after again against all also am an and any are as at be because been before being below between
both but by can could did do does doing down during each few for from further had has have having he her here hers
herself him himself his how i if in into is it its itself just me more most my myself no nor not now of off on once
only or other our ours ourselves out over own same she should so some such than that the their theirs them
themselves then there these they this those through to too under until up very was we were what when where which
while who whom why will with would you your yours yourself yourselves said says say one two new many much may might
must us like well even still back way get got
"""
STOP = frozenset(_STOP_WORDS.split())


def words(text: str) -> list[str]:
    """Independent folding (not the cleaner's): NFKC, casefold, \\w+ runs."""
    return _WORD.findall(unicodedata.normalize("NFKC", text).casefold())


def folded_key(text: str) -> str:
    return "".join(words(text))


def grams(ws: Sequence[str], n: int) -> set[tuple[str, ...]]:
    return {tuple(ws[i:i + n]) for i in range(len(ws) - n + 1)}


def containment(b: str, a: str, n: int = 4) -> float:
    """Share of B's word n-grams that occur in A (exact, no sketch)."""
    gb = grams(words(b), n)
    return len(gb & grams(words(a), n)) / len(gb) if gb else 0.0


def split_token(tok: str) -> tuple[str, str, str]:
    m = _CORE.match(tok)
    assert m is not None
    return m.group(1), m.group(2), m.group(3)


def word_positions(toks: Sequence[str]) -> list[int]:
    return [i for i, t in enumerate(toks) if _HAS_WORD.search(t)]


def like_case(word: str, model: str) -> str:
    return word[:1].upper() + word[1:] if model[:1].isupper() else word


def bucket_words(text: str) -> str:
    n = len(words(text))
    return "A < 20 words" if n < 20 else "A 20-39 words" if n < 40 else "A >= 40 words"


# -- loading --------------------------------------------------------------------


def load_sources(gold: Path, samples: Path) -> list[Source]:
    non_english: set[str] = set()
    manifest = gold.parent / "manifest.tsv"
    if manifest.exists():
        rows = manifest.read_text(encoding="utf-8").splitlines()
        head = rows[0].split("\t")
        if "lang_en" in head:
            col = head.index("lang_en")
            non_english = {r.split("\t")[0] for r in rows[1:] if r.split("\t")[col] == "0"}
    files = [(p, p.stem not in non_english) for p in sorted(gold.glob("*.txt"))]
    files += [(p, True) for p in sorted(samples.glob("*.expected.txt"))]
    seen: set[str] = set()
    out = []
    for path, english in files:
        paras = []
        lines = tuple(x.strip() for x in path.read_text(encoding="utf-8").splitlines() if x.strip())
        for line in lines:
            key = folded_key(line)
            # at least 10 words both as whitespace tokens (the cleaner's
            # dedup_min_words count) and as folded words (near_min_words)
            if min(len(words(line)), len(line.split())) >= MIN_WORDS and key not in seen:
                seen.add(key)
                paras.append(line)
        if paras:
            out.append(Source(path.name, tuple(paras), english, lines))
    return out


@dataclass
class Lexicon:
    vocab: list[str]  # lower-case alphabetic words
    content: list[str]  # the vocab minus stop words, 3+ letters
    entities: list[str]  # capitalized words not at a sentence start

    @classmethod
    def build(cls, sources: Iterable[Source]) -> Lexicon:
        vocab: set[str] = set()
        ents: set[str] = set()
        for src in sources:
            for para in src.paras:
                prev = "."
                for tok in para.split():
                    core = split_token(tok)[1]
                    if core.isalpha():
                        if core == core.lower():
                            vocab.add(core)
                        elif core[0].isupper() and core.lower() not in STOP and prev[-1:] not in ".!?\"“":
                            ents.add(core)
                    prev = tok
        content = sorted(w for w in vocab if w not in STOP and len(w) >= 3)
        return cls(sorted(vocab), content, sorted(ents))


# -- variant generators -----------------------------------------------------------

Gen = Callable[[random.Random, Source, str], str | None]


def edit(rng: random.Random, text: str, op: str, pct: int, lex: Lexicon) -> str:
    toks = text.split()
    n = max(1, round(len(toks) * pct / 100))
    for _ in range(n):
        o = rng.choice(("sub", "ins", "del")) if op == "mix" else op
        pos = word_positions(toks)
        if o == "ins":
            i = rng.randint(0, len(toks))
            toks.insert(i, rng.choice(lex.vocab))
            continue
        if len(pos) <= 1:
            continue
        i = rng.choice(pos)
        if o == "del":
            del toks[i]
            continue
        lead, core, trail = split_token(toks[i])
        new = core
        while new.lower() == core.lower():
            new = rng.choice(lex.vocab)
        toks[i] = lead + like_case(new, core) + trail
    return " ".join(toks)


_PUNCT_SWAP = [",", ";", ":", ".", "!", "?", "…", "...", " —", " -", " –"]
_PUNCT_ADD = [",", ";", " —", ":", " -"]


def punctuation(rng: random.Random, text: str) -> str | None:
    toks = text.split()
    out = []
    for i, tok in enumerate(toks):
        lead, core, trail = split_token(tok)
        if not core:  # a dash or other mark on its own
            out.append(tok if rng.random() > 0.3 else "")
            continue
        if lead and lead.strip(_QUOTES) and rng.random() < 0.3:  # "(" and the like, not quotes
            lead = lead.strip("([{")
        r = rng.random()
        if trail and r < 0.3:
            kept = "".join(c for c in trail if c in _QUOTES)  # quote marks belong to the quote kind
            trail = rng.choice(["", rng.choice(_PUNCT_SWAP)]) + kept
        elif not trail and i < len(toks) - 1 and r < 0.15:
            trail = rng.choice(_PUNCT_ADD)
        out.append(lead + core + trail)
    b = " ".join(t for t in out if t)
    return b if b != text else None


def case(rng: random.Random, text: str) -> str | None:
    mode = rng.choice(("upper", "lower", "title", "swap-some", "sentence"))
    if mode == "upper":
        b = text.upper()
    elif mode == "lower":
        b = text.lower()
    elif mode == "title":
        b = " ".join(t[:1].upper() + t[1:] for t in text.split(" "))
    elif mode == "sentence":
        low = text.lower()
        b = low[:1].upper() + low[1:]
    else:
        b = " ".join(t.swapcase() if rng.random() < 0.3 else t for t in text.split(" "))
    return b if b != text else None


_SPACES = ["  ", "\t", "\u00a0", " \u00a0", "\u2009", "\u202f", "\u3000", "   "]


def whitespace(rng: random.Random, text: str) -> str | None:
    toks = text.split()
    parts = [toks[0]]
    for t in toks[1:]:
        parts.append(rng.choice(_SPACES) if rng.random() < 0.3 else " ")
        parts.append(t)
    b = "".join(parts)
    if rng.random() < 0.3:
        b = rng.choice([" ", "\t", "\u00a0", "  "]) + b
    if rng.random() < 0.3:
        b += rng.choice([" ", "\t", "\u00a0", "  "])
    return b if b != text else None


def _curly(text: str) -> str:
    out = []
    for i, c in enumerate(text):
        prev = text[i - 1] if i else " "
        opening = prev.isspace() or prev in "([{—–-"
        if c == '"':
            out.append("“" if opening else "”")
        elif c == "'":
            out.append("‘" if opening else "’")
        else:
            out.append(c)
    return "".join(out)


_STRAIGHT = str.maketrans("‘’“”„‚", "''\"\"\"'")


def _straight(text: str) -> str:
    return text.translate(_STRAIGHT)


def quote_style(rng: random.Random, text: str) -> str | None:
    if not any(c in text for c in _QUOTES):
        return None
    modes = ["straight", "curly", "mixed", "guillemets", "low-9", "prime-backtick"]
    rng.shuffle(modes)
    for mode in modes:
        if mode == "straight":
            b = _straight(text)
        elif mode == "curly":
            b = _curly(_straight(text))
        elif mode == "mixed":
            s, c = _straight(text), _curly(_straight(text))
            b = "".join(x if rng.random() < 0.5 else y for x, y in zip(s, c, strict=True))
        elif mode == "guillemets":
            b = _curly(_straight(text)).replace("“", "«").replace("”", "»")
        elif mode == "low-9":
            b = _curly(_straight(text)).replace("“", "„").replace("‘", "‚")
        else:
            b = _straight(text).replace("'", rng.choice(["′", "`", "＇"]))
        if b != text:
            return b
    return None


_IN_WORD_APOSTROPHE = re.compile(r"(?<=\w)['’](?=\w)")


def apostrophe_lookalike(rng: random.Random, text: str) -> tuple[str, str] | None:
    """In-word apostrophes written as an acute accent (common from Spanish and
    Portuguese keyboards) or as U+02BC MODIFIER LETTER APOSTROPHE."""
    if not _IN_WORD_APOSTROPHE.search(text):
        return None
    ch = rng.choice(["´", "ʼ"])
    return _IN_WORD_APOSTROPHE.sub(ch, text), f"{ch}, {bucket_words(text)}"


def truncated(rng: random.Random, text: str) -> tuple[str, str]:
    toks = text.split()
    f = rng.uniform(0.6, 0.9)
    m = max(1, round(f * len(toks)))
    share = m / len(toks)
    note = "kept 60-70%" if share < 0.7 else "kept 70-80%" if share < 0.8 else "kept 80-90%"
    b = " ".join(toks[:m])
    if len(words(b)) < MIN_WORDS:
        note += ", B < 10 words"
    return b, note


def clause(rng: random.Random, sources: Sequence[Source], avoid: str) -> list[str]:
    while True:
        src = rng.choice(sources)
        if src.name == avoid:
            continue
        toks = [split_token(t)[1] for t in rng.choice(src.paras).split()]
        toks = [t for t in toks if t]
        n = rng.randint(3, 8)
        if len(toks) >= n:
            i = rng.randint(0, len(toks) - n)
            return toks[i:i + n]


_CLOSING = "\"'”’»)]"
_IN_WORD_QUOTE = re.compile(r"['’]")


def may_start_sentence(prev: str) -> bool:
    """Whether the word after token ``prev`` may start a sentence: after ``.``,
    ``!``, ``?`` or ``:`` (a sentence after a colon is capitalised too), with
    closing quotes and brackets after the mark (``work."``), or after an
    opening quote; a comma before a closing quote (``crisis,"``) ends no
    sentence."""
    core = prev.rstrip(_CLOSING)
    return not core or core[-1] in ".!?:“‘«„"


def template(rng: random.Random, text: str, lex: Lexicon) -> tuple[str, str] | None:
    """Numbers and capitalized names replaced, ~30% of the other content words
    changed; None when A has no number or name (B would be a plain edit).
    A name is a capitalized word that does not start a sentence
    (``may_start_sentence``) and is no stop word before an in-word apostrophe
    (``I’m``, ``I’d`` are the pronoun, not names)."""
    toks = text.split()
    out = list(toks)
    content = []
    changed = 0
    prev = "."
    for i, tok in enumerate(toks):
        lead, core, trail = split_token(tok)
        start = may_start_sentence(prev)
        prev = tok
        if not core:
            continue
        if any(c.isdigit() for c in core):
            new = core
            while new == core:
                new = "".join(rng.choice("123456789" if j == 0 else "0123456789") if c.isdigit() else c
                              for j, c in enumerate(core))
            out[i] = lead + new + trail
            changed += 1
        elif core[0].isupper() and _IN_WORD_QUOTE.split(core)[0].lower() not in STOP and not start:
            new = core
            while new == core:
                new = rng.choice(lex.entities)
            out[i] = lead + new + trail
            changed += 1
        elif core.isalpha() and core.lower() not in STOP and len(core) >= 3:
            content.append(i)
    if not changed or not content:
        return None  # no numbers or names: nothing to tell the facts apart
    for i in rng.sample(content, max(1, round(0.3 * len(content)))):
        lead, core, trail = split_token(out[i])
        new = core
        while new.lower() == core.lower():
            new = rng.choice(lex.content)
        out[i] = lead + like_case(new, core) + trail
        changed += 1
    share = changed / len(toks)
    note = "< 25% of words changed" if share < 0.25 else "25-35% changed" if share < 0.35 else ">= 35% changed"
    return " ".join(out), note


def shared_quote(rng: random.Random, src: Source, text: str, sources: Sequence[Source]) -> tuple[str, str]:
    toks = text.split()
    n = rng.randint(8, 15)
    s = rng.randint(0, len(toks) - n)
    quote = " ".join(toks[s:s + n]).strip(_QUOTES + ",;:.")
    need = len(toks) - n
    while True:
        other = rng.choice(sources)
        if other.name == src.name:
            continue
        j = rng.randrange(len(other.paras))
        host: list[str] = []
        for p in other.paras[j:]:
            host += p.split()
            if len(host) >= need:
                break
        if len(host) >= need:
            break
    host = host[:need]
    i = rng.randint(0, need)
    b = " ".join([*host[:i], f"“{quote}”", *host[i:]])
    share = n / len(b.split())
    return b, "quote < 25% of B" if share < 0.25 else "quote 25-40% of B" if share < 0.4 else "quote >= 40% of B"


# -- the pair set ------------------------------------------------------------------


@dataclass
class BuildLog:
    skipped: Counter[str] = field(default_factory=Counter)


def build_pairs(sources: Sequence[Source], seed: int, n_pos: int, n_neg: int, log: BuildLog) -> list[Pair]:
    english_lex = Lexicon.build(s for s in sources if s.english)
    # edits of a non-English article draw words from that article
    lexicons = {s.name: english_lex if s.english else Lexicon.build([s]) for s in sources}
    flat = [(src, p) for src in sources for p in src.paras]
    pairs: list[Pair] = []

    def rng_for(kind: str) -> random.Random:
        return random.Random(f"{seed}/{kind}")

    def from_single(kind: str, gen: Gen, normalized: bool = False) -> None:
        rng = rng_for(kind)
        order = list(range(len(flat)))
        rng.shuffle(order)
        made = 0
        for i in order:
            if made >= n_pos:
                break
            src, a = flat[i]
            b = gen(rng, src, a)
            if b is None:
                log.skipped[f"{kind}: no variant"] += 1
                continue
            if normalized and folded_key(b) != folded_key(a):
                log.skipped[f"{kind}: not normalized-exact"] += 1
                continue
            pairs.append(Pair(kind, (a,), b, bucket_words(a)))
            made += 1

    def edit_gen(op: str, pct: int, lexicons: dict[str, Lexicon]) -> Gen:
        return lambda r, s, a: edit(r, a, op, pct, lexicons[s.name])

    from_single("exact", lambda r, s, a: a, True)
    from_single("punctuation", lambda r, s, a: punctuation(r, a), True)
    from_single("case", lambda r, s, a: case(r, a), True)
    from_single("whitespace", lambda r, s, a: whitespace(r, a), True)
    from_single("quote style", lambda r, s, a: quote_style(r, a), True)

    rng = rng_for("apostrophe")
    made = 0
    for i in rng.sample(range(len(flat)), len(flat)):
        if made >= n_pos:
            break
        a = flat[i][1]
        ap = apostrophe_lookalike(rng, a)
        if ap is not None:
            pairs.append(Pair("apostrophe as ´ or ʼ", (a,), ap[0], ap[1]))
            made += 1
    for pct in (1, 5, 10):
        for op in EDIT_OPS:
            from_single(f"{op} {pct}%", edit_gen(op, pct, lexicons))

    rng = rng_for("truncated")
    for i in rng.sample(range(len(flat)), min(n_pos, len(flat))):
        a = flat[i][1]
        b, note = truncated(rng, a)
        pairs.append(Pair("truncated 60-90%", (a,), b, note))

    rng = rng_for("merged")
    adjacent = [(s.paras[i], s.paras[i + 1]) for s in sources for i in range(len(s.paras) - 1)]
    for a1, a2 in rng.sample(adjacent, min(n_pos, len(adjacent))):
        pairs.append(Pair("merged A1+A2", (a1, a2), f"{a1} {a2}", bucket_words(a1)))

    rng = rng_for("addition")
    for i in rng.sample(range(len(flat)), min(n_pos, len(flat))):
        src, a = flat[i]
        c = clause(rng, sources, src.name)
        if rng.random() < 0.5 and a.endswith("."):
            b = f"{a[:-1]}, {' '.join(c)}."
        else:
            b = f"{a} {c[0][:1].upper()}{c[0][1:]} {' '.join(c[1:])}."
        pairs.append(Pair("short addition", (a,), b, bucket_words(a)))

    rng = rng_for("same-article")
    kind = "other paragraph, same article"
    multi = [s for s in sources if len(s.paras) >= 2]
    weights = [len(s.paras) for s in multi]
    made, tries = 0, 0
    seen_pairs: set[tuple[str, str]] = set()
    while made < n_neg and tries < 50 * n_neg:
        tries += 1
        src = rng.choices(multi, weights)[0]
        a, b = rng.sample(src.paras, 2)
        if (a, b) in seen_pairs:
            continue
        seen_pairs.add((a, b))
        if containment(b, a, 3) >= 0.5:
            log.skipped[f"{kind}: 3-gram overlap >= 0.5 (a real repeat)"] += 1
            continue
        pairs.append(Pair(kind, (a,), b, bucket_words(a)))
        made += 1

    rng = rng_for("template")
    english = [(s, p) for s, p in flat if s.english]
    made = 0
    for i in rng.sample(range(len(english)), len(english)):
        if made >= n_neg:
            break
        a = english[i][1]
        t = template(rng, a, english_lex)
        if t is None:
            log.skipped["same template, other facts: A without numbers, names or content words"] += 1
            continue
        pairs.append(Pair("same template, other facts", (a,), t[0], t[1]))
        made += 1

    rng = rng_for("quote")
    long_paras = [(s, p) for s, p in flat if len(p.split()) >= 30]
    for i in rng.sample(range(len(long_paras)), min(n_neg, len(long_paras))):
        src, a = long_paras[i]
        b, note = shared_quote(rng, src, a, sources)
        pairs.append(Pair("shared quote", (a,), b, note))
    return pairs


# -- evaluation --------------------------------------------------------------------


@dataclass(frozen=True)
class Params:
    ngram: int = Config.ngram
    sketch_k: int = Config.sketch_k
    threshold: float = Config.near_threshold
    min_words: int = Config.near_min_words

    def config(self) -> Config:
        return Config(default_rules=False, dedup="stream", near=True, ngram=self.ngram, sketch_k=self.sketch_k,
                      near_threshold=self.threshold, near_min_words=self.min_words)

    def label(self) -> str:
        return f"n={self.ngram} k={self.sketch_k} t={self.threshold} min={self.min_words}"

    def bytes_per_paragraph(self) -> int:
        # near table: uint32 fingerprint + uint32 paragraph id per sketch entry;
        # exact table: uint64 + uint32; paragraph -> (doc, line, facts mask): 3 x uint32
        return 8 * self.sketch_k + 12 + 12


@dataclass(frozen=True)
class Outcome:
    detected: bool
    match: str | None
    score: float | None
    line: int  # line of the first document that B was matched to (0: none)
    setup_removed: int  # lines of the indexed document removed (should be 0)


def run_pair(cfg: Config, pair: Pair) -> Outcome:
    c = Cleaner(cfg, ruleset=NO_RULES)
    first = c.explain_text("\n".join(pair.index) + "\n", doc_id="A")
    second = c.explain_text(pair.probe + "\n", doc_id="B")
    d = next((d for d in second.decisions if d.rule == DEDUP_RULE), None)
    setup = sum(1 for x in first.decisions if x.rule == DEDUP_RULE)
    line = d.first[1] if d is not None and d.first is not None else 0
    return Outcome(d is not None, d.match if d else None, d.score if d else None, line, setup)


def evaluate(params: Params, pairs: Sequence[Pair]) -> list[Outcome]:
    cfg = params.config()
    return [run_pair(cfg, p) for p in pairs]


@dataclass
class KindResult:
    kind: Kind
    pairs: int = 0
    detected: int = 0
    exact: int = 0
    near: int = 0
    setup: int = 0

    @property
    def value(self) -> float:
        """Recall for positives; share of negatives kept for negatives."""
        if not self.pairs:
            return float("nan")
        r = self.detected / self.pairs
        return r if self.kind.positive else 1 - r

    @property
    def headroom(self) -> float | None:
        t = self.kind.target
        if t is None or not self.pairs:
            return None
        if t >= 1:  # must be perfect: no headroom to gain; a miss counts per 1% short
            return 1.0 if self.value >= 1 else (self.value - 1) / 0.01
        return (self.value - t) / (1 - t)


# -- what-if: a facts guard on near matches ------------------------------------------
# Store with each paragraph the 2 "facts" (numbers, capitalized words not at a
# sentence start) with the smallest hashes (8 more bytes per paragraph); a near
# match is rejected when both paragraphs have facts and B holds neither stored one.


def facts(text: str) -> set[str]:
    out: set[str] = set()
    prev = "."
    for tok in text.split():
        _, core, _ = split_token(tok)
        start = prev[-1:] in ".!?\"“:"
        prev = tok
        if any(c.isdigit() for c in core):
            out.add(core)
        elif core[:1].isupper() and not start and core.lower() not in STOP:
            out.add(core.casefold())
    return out


def guarded(pair: Pair, o: Outcome) -> bool:
    """Whether B would still be removed with the facts guard."""
    if not o.detected or o.match != "near" or not 0 < o.line <= len(pair.index):
        return o.detected
    kept = pair.index[o.line - 1]
    stored = set(sorted(facts(kept), key=lambda f: zlib.crc32(f.encode()))[:2])
    fb = facts(pair.probe)
    return not (stored and fb and not stored & fb)


def summarize(pairs: Sequence[Pair], outcomes: Sequence[Outcome], guard: bool = False) -> dict[str, KindResult]:
    res = {k.name: KindResult(k) for k in KINDS}
    for p, o in zip(pairs, outcomes, strict=True):
        r = res[p.kind]
        r.pairs += 1
        hit = guarded(p, o) if guard else o.detected
        r.detected += hit
        r.exact += o.match == "exact"
        r.near += hit and o.match == "near"
        r.setup += o.setup_removed > 0
    return res


def table(res: dict[str, KindResult]) -> str:
    rows = ["| kind | group | pairs | removed | exact | near | recall / precision | target | met |",
            "|---|---|---:|---:|---:|---:|---:|---:|:-:|"]
    for r in res.values():
        if not r.pairs:
            continue
        t = r.kind.target
        name = "precision" if not r.kind.positive else "recall"
        met = "" if t is None else ("yes" if r.value >= t else "**no**")
        tgt = "" if t is None else f">= {t:g}"
        rows.append(f"| {r.kind.name} | {r.kind.group} | {r.pairs} | {r.detected} | {r.exact} | {r.near} | "
                    f"{name} {r.value:.3f} | {tgt} | {met} |")
    return "\n".join(rows)


def compare_table(res: dict[str, KindResult], other: dict[str, KindResult]) -> str:
    rows = ["| kind | pairs | as is | with guard |", "|---|---:|---:|---:|"]
    for name, r in res.items():
        o = other[name]
        if r.pairs and r.detected != o.detected:
            rows.append(f"| {name} | {r.pairs} | {r.value:.3f} | {o.value:.3f} |")
    return "\n".join(rows)


def detail(pairs: Sequence[Pair], outcomes: Sequence[Outcome], examples: int) -> str:
    by: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    wrong: dict[str, list[tuple[Pair, Outcome]]] = defaultdict(list)
    for p, o in zip(pairs, outcomes, strict=True):
        kind = KIND_BY_NAME[p.kind]
        b = by[(p.kind, p.note)]
        b[0] += 1
        bad = o.detected != kind.positive
        b[1] += bad
        if bad:
            wrong[p.kind].append((p, o))
    lines = ["errors (misses for positives, removals for negatives) by bucket:"]
    order = [k.name for k in KINDS]
    for (k, note), (n, n_bad) in sorted(by.items(), key=lambda x: (order.index(x[0][0]), x[0][1])):
        lines.append(f"  {k:32} {note:32} {n_bad:4d} / {n:4d}")
    for k, items in wrong.items():
        lines.append(f"examples of {k} errors:")
        for p, o in items[:examples]:
            lines.append(f"  A: {' | '.join(x[:160] for x in p.index)}")
            lines.append(f"  B: {p.probe[:160]!r}")
            c4 = max(containment(p.probe, a) for a in p.index)
            lines.append(f"     match={o.match} score={o.score} 4-gram containment of B in A={c4:.2f}")
    return "\n".join(lines)


# -- sweep ---------------------------------------------------------------------------

_POOL_PAIRS: list[Pair] = []


def _init(pairs: list[Pair]) -> None:
    _POOL_PAIRS[:] = pairs


TINY = 1e-9  # a threshold every near hit passes: its score is then reported


def at_threshold(o: Outcome, t: float) -> Outcome:
    """The outcome at threshold t, from one at TINY (same fingerprints, same
    lookups; only the final comparison ``score >= t`` differs)."""
    if o.match != "near" or (o.score is not None and o.score >= t):
        return o
    return Outcome(False, None, None, 0, o.setup_removed)


def _sweep_one(job: tuple[Params, tuple[float, ...]]) -> list[tuple[Params, list[Outcome]]]:
    """All thresholds of one (ngram, sketch_k, min words) from one run at TINY;
    pairs whose indexed document lost a line at TINY (A2 taken as a repeat of
    A1) are rerun at each threshold."""
    base, thresholds = job
    tiny = evaluate(base, _POOL_PAIRS)
    out = []
    for t in thresholds:
        p = Params(base.ngram, base.sketch_k, t, base.min_words)
        cfg = p.config()
        outs = [run_pair(cfg, pair) if o.setup_removed else at_threshold(o, t)
                for pair, o in zip(_POOL_PAIRS, tiny, strict=True)]
        out.append((p, outs))
    return out


@dataclass(frozen=True)
class Ranked:
    params: Params
    headroom: float
    worst: str
    other: float  # mean recall of the untargeted positives
    res: dict[str, KindResult]

    @property
    def meets(self) -> bool:
        return self.headroom >= 0


def rank(params: Params, res: dict[str, KindResult], exclude: frozenset[str] = frozenset()) -> Ranked:
    heads = [(r.headroom, r.kind.name) for r in res.values() if r.headroom is not None and r.kind.name not in exclude]
    h, worst = min(heads)
    others = [r.value for r in res.values() if r.kind.group == OTHER and r.pairs]
    return Ranked(params, h, worst, sum(others) / len(others), res)


def group_min(res: dict[str, KindResult], group: str) -> float:
    return min(r.value for r in res.values() if r.kind.group == group and r.pairs)


def sweep_table(ranked: Sequence[Ranked]) -> str:
    rows = ["| ngram | k | threshold | min words | B/para | norm-exact | edit<=5% | edit 10% | trunc | merged "
            "| addition | same article | template | quote | headroom | worst kind |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in ranked:
        p, res = r.params, r.res
        rows.append(
            f"| {p.ngram} | {p.sketch_k} | {p.threshold} | {p.min_words} | {p.bytes_per_paragraph()} | "
            f"{group_min(res, NORMALIZED):.3f} | {group_min(res, EDIT5):.3f} | {group_min(res, EDIT10):.3f} | "
            f"{res['truncated 60-90%'].value:.3f} | {res['merged A1+A2'].value:.3f} | "
            f"{res['short addition'].value:.3f} | {res['other paragraph, same article'].value:.3f} | "
            f"{res['same template, other facts'].value:.3f} | {res['shared quote'].value:.3f} | "
            f"{r.headroom:+.2f} | {r.worst} |")
    return "\n".join(rows)


def run_sweep(pairs: list[Pair], jobs: int, ngrams: Iterable[int], ks: Iterable[int], thresholds: Sequence[float],
              min_words: Iterable[int]) -> list[tuple[Params, list[Outcome]]]:
    todo = [(Params(n, k, TINY, m), tuple(thresholds)) for n in ngrams for k in ks for m in min_words if m >= n]
    with ProcessPoolExecutor(max_workers=jobs, initializer=_init, initargs=(pairs,)) as ex:
        return [x for chunk in ex.map(_sweep_one, todo) for x in chunk]


def ranking(pairs: Sequence[Pair], done: Iterable[tuple[Params, list[Outcome]]], guard: bool,
            exclude: frozenset[str] = frozenset()) -> list[Ranked]:
    ranked = [rank(p, summarize(pairs, outs, guard), exclude) for p, outs in done]
    ranked.sort(key=lambda r: (-r.headroom, -r.other, r.params.sketch_k, -r.params.threshold))
    return ranked


def report_sweep(ranked: Sequence[Ranked], top: int, title: str) -> None:
    meeting = sum(r.meets for r in ranked)
    print(f"\n{title}: {meeting} of {len(ranked)} settings meet every target; best {min(top, len(ranked))} "
          "by headroom, then by mean recall of truncated/merged/addition/apostrophe (group columns: the worst "
          "kind of the group; B/para: index bytes per paragraph):\n")
    print(sweep_table(ranked[:top]))
    default = next(x for x in ranked if x.params == Params())
    print(f"\ncurrent defaults rank {ranked.index(default) + 1} of {len(ranked)}:\n")
    print(sweep_table([default]))
    print(f"\nbest setting {ranked[0].params.label()} (headroom {ranked[0].headroom:+.2f}, {ranked[0].worst}):\n")
    print(table(ranked[0].res))


def oracle_table(pairs: Sequence[Pair], thresholds: Sequence[float]) -> str:
    """The ceiling of any sketch: exact word n-gram containment of B in A (or
    in A1 or A2) >= t, with no sketch, no exact path and no minimum length."""
    cols = ["sub 10%", "del 10%", "mix 10%", "sub 5%", "truncated 60-90%", "same template, other facts",
            "shared quote"]
    rows = ["| ngram | t | " + " | ".join(cols) + " |", "|---:|---:|" + "---:|" * len(cols)]
    for n in (3, 4, 5):
        cont: dict[str, list[float]] = defaultdict(list)
        for p in pairs:
            if p.kind in cols:
                cont[p.kind].append(max(containment(p.probe, a, n) for a in p.index))
        for t in thresholds:
            vals = []
            for c in cols:
                share = sum(x >= t for x in cont[c]) / max(1, len(cont[c]))
                vals.append(f"{share if KIND_BY_NAME[c].positive else 1 - share:.3f}")
            rows.append(f"| {n} | {t} | " + " | ".join(vals) + " |")
    return "\n".join(rows)


# -- background stream and chance matches ---------------------------------------------


def background(sources: Sequence[Source], params: Params, examples: int) -> str:
    """Every line of every article (all lengths, in file order; each article
    one document) through one stream Cleaner. The gold keeps every line, so
    each removal loses article text; near removals are split by the exact
    4-gram containment of the removed line in the line it was matched to."""
    c = Cleaner(params.config(), ruleset=NO_RULES)
    text_of = {s.name: s.lines for s in sources}
    exact = 0
    similar: list[tuple[str, str, float | None, float]] = []
    other: list[tuple[str, str, float | None, float]] = []
    for s in sources:
        for d in c.explain_text("\n".join(s.lines) + "\n", doc_id=s.name).decisions:
            if d.rule != DEDUP_RULE or d.first is None:
                continue
            if d.match == "exact":
                exact += 1
                continue
            kept = text_of[d.first[0]][d.first[1] - 1]
            c4 = containment(d.text, kept)
            (similar if c4 >= 0.5 else other).append((d.text, kept, d.score, c4))
    total = sum(len(s.lines) for s in sources)
    lines = [f"background stream at {params.label()}: all {total} lines of the {len(sources)} articles "
             f"(the gold keeps them all): {exact} removed as exact repeats, {len(similar) + len(other)} as near "
             f"repeats ({len(similar)} with 4-gram containment >= 0.5 in the line kept, {len(other)} below)"]
    for b, a, score, c4 in (other + similar)[:examples]:
        lines.append(f"  removed: {b[:140]!r}\n  kept:    {a[:140]!r}\n  score={score} containment={c4:.2f}")
    return "\n".join(lines)


def chance_match_estimate(sources: Sequence[Source], params: Params) -> str:
    """Sketch fingerprints are the top 32 bits of the k SMALLEST 64-bit n-gram
    hashes, so a long paragraph's fingerprints all lie near 0, where every
    indexed paragraph has put fingerprints with density ~ (its n-grams) / 2^32.
    A fingerprint of a new long paragraph then hits the index by chance with
    p ~ (n-grams indexed) / 2^32, and k of them pass the threshold by chance
    with a binomial tail."""
    g = [max(0, len(p.split()) - params.ngram + 1) for s in sources for p in s.paras]
    mean_grams = sum(g) / len(g)
    need = math.ceil(params.threshold * params.sketch_k - 1e-9)
    lines = [f"chance matches of 32-bit sketch fingerprints at {params.label()} "
             f"(~{mean_grams:.0f} {params.ngram}-grams per paragraph; a long new paragraph; "
             f"needs {need} of {params.sketch_k} fingerprints):"]
    for n_paras in (10**6, 3 * 10**6, 10**7, 3 * 10**7, 10**8):
        p = min(1.0, n_paras * mean_grams / 2**32)
        k = params.sketch_k
        tail = sum(math.comb(k, j) * p**j * (1 - p) ** (k - j) for j in range(need, k + 1))
        lines.append(f"  {n_paras:>11,} paragraphs indexed: p(fingerprint hit) ~ {p:.4f}, "
                     f"P(removed by chance) ~ {tail:.2e}")
    return "\n".join(lines)


# -- main -------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--gold", type=Path, default=DEFAULT_GOLD, help="folder of gold paragraph files")
    ap.add_argument("--samples", type=Path, default=DEFAULT_SAMPLES, help="folder with *.expected.txt")
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--positives", type=int, default=400, help="pairs per positive kind")
    ap.add_argument("--negatives", type=int, default=1000, help="pairs per negative kind")
    ap.add_argument("--limit", type=int, default=None, help="at most this many pairs per kind (quick runs)")
    ap.add_argument("--detail", action="store_true", help="errors by bucket, with examples")
    ap.add_argument("--examples", type=int, default=3)
    ap.add_argument("--sweep", action="store_true", help="also sweep ngram, sketch_k, threshold, min words")
    ap.add_argument("--top", type=int, default=10, help="sweep rows to print")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--background", action="store_true", help="whole pool as one stream; chance matches")
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    sources = load_sources(args.gold, args.samples)
    n_pos = min(args.positives, args.limit or args.positives)
    n_neg = min(args.negatives, args.limit or args.negatives)
    log = BuildLog()
    pairs = build_pairs(sources, args.seed, n_pos, n_neg, log)
    n_paras = sum(len(s.paras) for s in sources)
    print(f"pool: {n_paras} paragraphs of >= {MIN_WORDS} words from {len(sources)} articles "
          f"({args.gold}, {args.samples}/*.expected.txt); seed {args.seed}; {len(pairs)} pairs "
          f"built in {time.perf_counter() - t0:.1f} s")
    for why, n in sorted(log.skipped.items()):
        print(f"  skipped while building: {why}: {n}")

    params = Params()
    t1 = time.perf_counter()
    outcomes = evaluate(params, pairs)
    res = summarize(pairs, outcomes)
    print(f"\nat the current defaults ({params.label()}; {params.bytes_per_paragraph()} bytes per paragraph "
          f"in sorted runs), each pair in a fresh index, {time.perf_counter() - t1:.1f} s:\n")
    print(table(res))
    setups = sum(r.setup for r in res.values())
    if setups:
        print(f"\nnote: in {setups} pairs a line of the indexed document was itself removed as a repeat")
    r = rank(params, res)
    print(f"\nsmallest headroom over the targets: {r.headroom:+.2f} ({r.worst}); "
          f"all targets met: {'yes' if r.meets else 'no'}")
    res_g = summarize(pairs, outcomes, guard=True)
    rg = rank(params, res_g)
    print("\nwhat-if, facts guard on near matches (reject when B holds neither of the 2 stored numbers/names "
          "of the matched paragraph; kinds that change):\n")
    print(compare_table(res, res_g))
    print(f"\nwith the guard: smallest headroom {rg.headroom:+.2f} ({rg.worst}); "
          f"all targets met: {'yes' if rg.meets else 'no'}")
    if args.detail:
        print()
        print(detail(pairs, outcomes, args.examples))
    if args.background:
        print()
        print(background(sources, params, args.examples))
        print()
        print(chance_match_estimate(sources, params))
    if args.sweep:
        t2 = time.perf_counter()
        done = run_sweep(pairs, max(1, args.jobs), (3, 4, 5), (8, 12, 16), (0.3, 0.4, 0.5, 0.6), (8, 10))
        same = next(outs for p, outs in done if p == params) == outcomes
        print(f"\nsweep: {len(done)} settings in {time.perf_counter() - t2:.1f} s ({args.jobs} processes); "
              f"its outcomes at the defaults equal the direct run above: {'yes' if same else 'NO'}")
        print("\nceiling: exact n-gram containment instead of the sketch (recall for positives, "
              "precision for negatives):\n")
        print(oracle_table(pairs, (0.4, 0.5, 0.6, 0.7)))
        plain = ranking(pairs, done, False)
        print(f"\nsweep, detector as is, every target: {sum(r.meets for r in plain)} of {len(plain)} settings meet "
              f"them all; the closest, {plain[0].params.label()}, misses {plain[0].worst} "
              f"(headroom {plain[0].headroom:+.2f})")
        no_template = frozenset({"same template, other facts"})
        best = {"as is": ranking(pairs, done, False, no_template)}
        report_sweep(best["as is"], args.top, "sweep, detector as is, every target but the template kind")
        k8 = [(p, outs) for p, outs in done if p.sketch_k == params.sketch_k]
        best["as is, k=8"] = ranking(pairs, k8, False, no_template)
        report_sweep(best["as is, k=8"], args.top,
                     f"sweep, detector as is, sketch_k={params.sketch_k} only (the index memory target), every target "
                     "but the template kind")
        best["facts guard"] = ranking(pairs, done, True)
        report_sweep(best["facts guard"], args.top, "sweep, with the facts guard (what-if), every target")
        if args.background:
            shown = {params}
            for ranked in best.values():
                if ranked[0].params not in shown:
                    shown.add(ranked[0].params)
                    print()
                    print(background(sources, ranked[0].params, min(3, args.examples)))
    print(f"\ntotal {time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
