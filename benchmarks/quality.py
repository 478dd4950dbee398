#!/usr/bin/env python3
"""Quality of ``clean`` on real pages: the bench's dirty page dumps and extractor output.

    python benchmarks/quality.py                  # rules only vs rules + classifier (~20 s)
    python benchmarks/quality.py --whole          # also the classifier over whole documents
    python benchmarks/quality.py --crossdoc       # also with cross-document counts over the stream
    python benchmarks/quality.py --ablation       # F1 with each part of the classifier off (~1 min)
    python benchmarks/quality.py --engine         # also the real engine with default options: Cleaner()
    python benchmarks/quality.py --bench DIR --out DIR --keep-going

The bench folder (default ``/work/shared/bench``) holds ``dirty/<id>.txt``
(full-page text dumps), ``extracted/<id>.txt`` (what trafilatura made of the
same HTML), ``gold/<id>.txt`` (the article), ``manifest.tsv`` and
``score.py``. Every system cleans every page of both inputs into
``benchmarks/_out/quality/<system>-<input>/``, and the bench's own
``score.py`` scores each folder (its ``--json`` and ``--per-page`` output are
read back). The headline number is the word 4-gram shingle F1, macro over
pages, as ``score.py`` prints it.

Systems:

- ``rules``: ``Cleaner(Config(classifier=False))``: the rule pack and
  in-document duplicate removal (the default before the classifier).
- ``rules+context``: the same, then ``cleaner.context.ContextClassifier``
  (default parameters, streaming window) on what the rules left. The rules
  run once per page through ``explain_text`` of the ``rules`` Cleaner: every line a rule or
  the duplicate index removed is passed to the classifier as removed (with
  the rule id, which the classifier weighs by category), lines a strip rule
  changed are passed in their changed form, and the kept lines are written
  byte for byte.
- ``rules+context(whole)``: the classifier holding whole documents
  (``window=None``): the reference for what the bounded window costs.
- ``rules+context+crossdoc``: the classifier with one ``CrossDocCounter``
  shared by all pages, in file-name order (bench pages come from different
  sites, so this mostly checks that the counter costs nothing).

- ``engine (default)`` (``--engine``): the real engine with default options,
  ``Cleaner()`` (what ``clean dirty/*.txt`` does: rules, in-document
  duplicates, the classifier stage): one Cleaner per input folder, pages in
  file-name order; each page's bytes go through ``clean_bytes`` and are
  written as they come out (kept lines byte for byte). Its time is the
  whole engine (rules, duplicates, classifier).

Groups: overall, per source, non-English pages (``lang_en=0`` in the
manifest), and two halves of the pages split by a hash of the page id (for
checking that a change does not fit one half only). The reference rows are
the bench README's numbers.

``--ablation`` reruns ``rules+context`` with one part switched off at a time
(the ``use_*`` switches of ``ContextParams``) and with the two in-article
filters switched on, and prints shingle F1 on dirty pages (overall, per
source, non-English), F1/recall on the extractor output and the gold
paragraphs duplicated on dirty pages.

Standard library and ``cleaner`` only.
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

try:
    from cleaner import Cleaner, Config
    from cleaner.context import ContextClassifier, ContextParams, CrossDocCounter
except ImportError:  # run from a source checkout without installing
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from cleaner import Cleaner, Config
    from cleaner.context import ContextClassifier, ContextParams, CrossDocCounter

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_BENCH = Path("/work/shared/bench")
DEFAULT_OUT = ROOT / "benchmarks" / "_out" / "quality"
INPUTS = ("dirty", "extracted")

# The bench README's reference numbers (shingle macro P, R, F1; duplicated gold paragraphs).
REFERENCE = [
    ("no cleaning", "dirty", 0.498, 0.990, 0.633, "476 on 31"),
    ("awk '!seen[$0]++'", "dirty", 0.567, 0.987, 0.692, "8 on 7"),
    ("C4 line rules", "dirty", 0.749, 0.842, 0.773, "303 on 25"),
    ("C4 line rules + exact line dedup", "dirty", 0.814, 0.840, 0.813, "2 on 2"),
    ("jusText 3.0.2", "dirty", 0.635, 0.816, 0.690, "387 on 23"),
    ("jusText + exact line dedup", "dirty", 0.694, 0.814, 0.733, "3 on 3"),
    ("trafilatura 2.3.1 (HTML)", "HTML", 0.948, 0.967, 0.954, "8 on 5"),
    ("resiliparse main-content (HTML)", "HTML", 0.877, 0.963, 0.910, "11 on 8"),
    ("best whole-line keep/drop (gold)", "dirty", 0.986, 0.984, 0.985, "2 on 2"),
]
# The ablation: label -> parameter changes.
ABLATION: list[tuple[str, dict[str, object]]] = [
    ("all parts on (default)", {}),
    ("no stopwords (no language guess)", {"use_stopwords": False}),
    ("no context pass (isolated prose, echoes)", {"use_context": False}),
    ("no rule-category weights", {"use_rule_weights": False}),
    ("no data rows (tables, lists -> junk)", {"use_data": False}),
    ("no run filter (every article run kept)", {"use_run_filter": False}),
    ("no weak-article fallback", {"use_weak_article": False}),
    ("fallback keeps lines without company", {"use_weak_neighbors": False}),
    ("no glued-teaser test", {"use_glue": False}),
    ("no arrow-link test", {"use_arrows": False}),
    ("no short-repeat test (copies kept)", {"use_repeats": False}),
    ("no article region (lines judged alone)", {"use_region": False}),
    ("+ drop junk-looking lines in article", {"drop_bad_in_article": True}),
    ("+ drop short lines among junk in article", {"drop_short_in_article": True}),
    ("whole document (window=None)", {"window": None}),
]


@dataclass
class Page:
    """One bench page after the rules: its lines and what the rules decided."""

    id: str
    lines: list[str]  # the text each line has after the rules (strip rules applied)
    fixed: list[str | None]  # the rule that removed the line, or None


@dataclass
class Result:
    """Scores of one system on one input folder."""

    name: str
    input: str
    groups: dict[str, dict[str, float]] = field(default_factory=dict)  # group -> p, r, f1, dup, dup_pages, n
    seconds: float = 0.0
    lines: int = 0


def read_manifest(bench: Path) -> dict[str, dict[str, str]]:
    with open(bench / "manifest.tsv", encoding="utf-8", newline="") as f:
        return {row["id"]: row for row in csv.DictReader(f, delimiter="\t")}


def half(page_id: str) -> str:
    return "half A" if zlib.crc32(page_id.encode()) % 2 == 0 else "half B"


def split_lines(text: str) -> list[str]:
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def rules_pass(cleaner: Cleaner, page_id: str, text: str) -> Page:
    """Run the rules once; return every input line with the rules' decision."""
    ex = cleaner.explain_text(text, doc_id=page_id)
    removed = {d.line: d.rule for d in ex.decisions if d.action != "strip"}
    out = iter(split_lines(ex.text))
    lines: list[str] = []
    fixed: list[str | None] = []
    for no, line in enumerate(split_lines(text), 1):
        rule = removed.get(no)
        if rule is None:
            lines.append(next(out))  # kept, possibly changed by a strip rule
        else:
            lines.append(line)
        fixed.append(rule)
    if next(out, None) is not None:
        raise RuntimeError(f"{page_id}: kept lines and decisions do not line up")
    return Page(page_id, lines, fixed)


def load_pages(bench: Path, kind: str) -> tuple[list[Page], float]:
    cleaner = Cleaner(Config(classifier=False))
    t = time.perf_counter()
    pages = [rules_pass(cleaner, p.stem, p.read_text(encoding="utf-8")) for p in sorted((bench / kind).glob("*.txt"))]
    return pages, time.perf_counter() - t


Keeper = Callable[[Page], Sequence[bool]]


def rules_only(page: Page) -> list[bool]:
    return [f is None for f in page.fixed]


def with_context(params: ContextParams, crossdoc: bool = False) -> Keeper:
    clf = ContextClassifier(params, crossdoc=CrossDocCounter() if crossdoc else None)

    def keep(page: Page) -> list[bool]:
        return [v.keep for v in clf.classify(page.lines, page.fixed)]

    return keep


def write_outputs(pages: list[Page], keep: Keeper, out_dir: Path) -> tuple[float, int]:
    out_dir.mkdir(parents=True, exist_ok=True)
    for old in out_dir.glob("*.txt"):
        old.unlink()
    spent, n = 0.0, 0
    for page in pages:
        t = time.perf_counter()
        flags = keep(page)
        spent += time.perf_counter() - t
        n += len(page.lines)
        kept = [line for line, k in zip(page.lines, flags, strict=True) if k]
        (out_dir / f"{page.id}.txt").write_text("".join(line + "\n" for line in kept), encoding="utf-8")
    return spent, n


def score(bench: Path, out_dir: Path, manifest: dict[str, dict[str, str]]) -> dict[str, dict[str, float]]:
    """Run the bench's score.py on a folder; return the groups this harness prints."""
    per_page, js = out_dir.with_suffix(".pages.tsv"), out_dir.with_suffix(".json")
    cmd = [
        sys.executable,
        str(bench / "score.py"),
        str(bench / "gold"),
        str(out_dir),
        "--manifest",
        str(bench / "manifest.tsv"),
        "--per-page",
        str(per_page),
        "--json",
        str(js),
    ]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    agg = json.loads(js.read_text(encoding="utf-8"))
    groups: dict[str, dict[str, float]] = {}
    for key, name in (("ALL", "all"), ("source=scrapinghub", "scrapinghub"), ("source=wcxb-news", "wcxb-news")):
        a = agg[key]
        groups[name] = {
            "p": a["shi"]["macro_p"],
            "r": a["shi"]["macro_r"],
            "f1": a["shi"]["macro_f1"],
            "dup": a["dup"]["dup_paras"],
            "dup_pages": a["dup"]["pages_with_dup"],
            "n": a["pages"],
        }
    rows: dict[str, list[dict[str, str]]] = {}
    with open(per_page, encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            meta = manifest.get(row["id"], {})
            names = [half(row["id"])]
            if meta.get("lang_en") == "0":
                names.append("non-English")
            for g in names:
                rows.setdefault(g, []).append(row)
    for g in ("non-English", "half A", "half B"):
        rs = rows.get(g, [])
        n = len(rs) or 1
        groups[g] = {
            "p": sum(float(r["shi_p"]) for r in rs) / n,
            "r": sum(float(r["shi_r"]) for r in rs) / n,
            "f1": sum(float(r["shi_f1"]) for r in rs) / n,
            "dup": sum(int(r["dup_paras"]) for r in rs),
            "dup_pages": sum(1 for r in rs if int(r["dup_paras"]) > 0),
            "n": len(rs),
        }
    return groups


def run_system(
    name: str, kind: str, pages: list[Page], keep: Keeper, bench: Path, out: Path, manifest: dict[str, dict[str, str]]
) -> Result:
    out_dir = out / f"{name.replace('+', '_').replace('(', '').replace(')', '')}-{kind}"
    spent, n = write_outputs(pages, keep, out_dir)
    return Result(name, kind, score(bench, out_dir, manifest), spent, n)


def run_engine(kind: str, bench: Path, out: Path, manifest: dict[str, dict[str, str]]) -> Result:
    """The real engine with default options (the classifier stage on): pages
    in file-name order through one ``Cleaner()``, output bytes as they come."""
    name = "engine (default)"
    out_dir = out / f"engine_default-{kind}"
    out_dir.mkdir(parents=True, exist_ok=True)
    for old in out_dir.glob("*.txt"):
        old.unlink()
    cleaner = Cleaner()
    spent, n = 0.0, 0
    for src in sorted((bench / kind).glob("*.txt")):
        data = src.read_bytes()
        t = time.perf_counter()
        cleaned = cleaner.clean_bytes(data, doc_id=src.stem)
        spent += time.perf_counter() - t
        (out_dir / src.name).write_bytes(cleaned)
    n = cleaner.stats.lines_in
    return Result(name, kind, score(bench, out_dir, manifest), spent, n)


def fmt_row(label: str, kind: str, g: dict[str, float]) -> str:
    return (
        f"| {label:<36} | {kind:<9} | {g['p']:.3f} | {g['r']:.3f} | {g['f1']:.3f} | "
        f"{int(g['dup'])} on {int(g['dup_pages'])} |"
    )


def print_tables(results: list[Result]) -> None:
    head = "| system | input | P | R | F1 | gold paragraphs duplicated |\n|---|---|---|---|---|---|"
    print("\n## Shingle macro P/R/F1 over all 111 pages (bench reference rows first)\n")
    print(head)
    for label, kind, p, r, f1, dup in REFERENCE:
        print(f"| {label:<36} | {kind:<9} | {p:.3f} | {r:.3f} | {f1:.3f} | {dup} |")
    print("| (raw extractor output, extracted/)   | extracted | see 'rules' on extracted/ for the rules' effect |")
    for res in results:
        print(fmt_row(res.name, res.input, res.groups["all"]))
    for group in ("scrapinghub", "wcxb-news", "non-English", "half A", "half B"):
        n = results[0].groups[group]["n"]
        print(f"\n### {group} ({int(n)} pages)\n")
        print(head)
        for res in results:
            print(fmt_row(res.name, res.input, res.groups[group]))
    print("\n## Classifier cost\n")
    for res in results:
        if res.name != "rules" and res.lines:
            what = "rules, duplicates and classifier" if res.name.startswith("engine") else "classifier only"
            print(
                f"- {res.name} on {res.input}: {res.seconds * 1e6 / res.lines:.2f} µs per line "
                f"({res.lines} lines, {what})"
            )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bench", type=Path, default=DEFAULT_BENCH)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--whole", action="store_true", help="also the classifier over whole documents")
    ap.add_argument("--crossdoc", action="store_true", help="also with a CrossDocCounter over the stream")
    ap.add_argument("--ablation", action="store_true", help="F1 with each part of the classifier off")
    ap.add_argument("--rules-only", action="store_true", help="only the current behaviour (no classifier)")
    ap.add_argument("--engine", action="store_true",
                    help="also the real engine with default options (Cleaner(), the classifier on)")
    args = ap.parse_args(argv)
    bench: Path = args.bench
    if not (bench / "score.py").exists():
        print(f"error: {bench} has no score.py (give the bench folder with --bench)", file=sys.stderr)
        return 2
    manifest = read_manifest(bench)
    pages = {}
    for kind in INPUTS:
        pages[kind], secs = load_pages(bench, kind)
        print(f"rules pass over {bench / kind}: {len(pages[kind])} pages in {secs:.1f} s", file=sys.stderr)
    systems: list[tuple[str, Callable[[], Keeper]]] = [("rules", lambda: rules_only)]
    if not args.rules_only:
        systems.append(("rules+context", lambda: with_context(ContextParams())))
        if args.whole:
            systems.append(("rules+context(whole)", lambda: with_context(ContextParams(window=None))))
        if args.crossdoc:
            systems.append(("rules+context+crossdoc", lambda: with_context(ContextParams(), crossdoc=True)))
    results = []
    for name, make in systems:
        for kind in INPUTS:
            # a fresh classifier per input, so cross-document counts do not leak between them
            results.append(run_system(name, kind, pages[kind], make(), bench, args.out, manifest))
    if args.engine:
        for kind in INPUTS:
            results.append(run_engine(kind, bench, args.out, manifest))
    print_tables(results)
    if args.ablation:
        print("\n## Ablation: rules + classifier with one part changed\n")
        print(
            "| variant | dirty F1 | scrapinghub | wcxb-news | non-English | half A | half B "
            "| extracted F1 | extracted R | dirty duplicated |"
        )
        print("|---|---|---|---|---|---|---|---|---|---|")
        for label, change in ABLATION:
            params = replace(ContextParams(), **change)  # type: ignore[arg-type]
            d = run_system("ablation", "dirty", pages["dirty"], with_context(params), bench, args.out, manifest)
            e = run_system("ablation", "extracted", pages["extracted"], with_context(params), bench, args.out, manifest)
            g = d.groups
            print(
                f"| {label} | {g['all']['f1']:.3f} | {g['scrapinghub']['f1']:.3f} | {g['wcxb-news']['f1']:.3f} | "
                f"{g['non-English']['f1']:.3f} | {g['half A']['f1']:.3f} | {g['half B']['f1']:.3f} | "
                f"{e.groups['all']['f1']:.3f} | {e.groups['all']['r']:.3f} | "
                f"{int(g['all']['dup'])} on {int(g['all']['dup_pages'])} |",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
