"""The ``clean`` command: options -> Config -> Cleaner; errors -> exit codes."""

from __future__ import annotations

import gc
import json
import logging
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import IO, Any

import click

from . import __version__
from .api import Cleaner
from .batch import (
    Outcome,
    Target,
    clean_input,
    describe_reasons,
    needs_parent_pass,
    run_parallel,
    run_stdin_parallel,
    run_two_pass,
)
from .boilerplate import Boilerplate
from .config import DEDUP_MIN_WORDS_DEFAULT, DEDUP_SCOPES, REGEX_TIMEOUT_DEFAULT, REGEX_TIMEOUT_MAX, UNITS, Config
from .dedup import NEAR_THRESHOLD_DEFAULT
from .errors import CleanerError, RuleError
from .explain import Decision
from .files import in_place_path, out_path, write_atomic
from .index import Index, locked
from .jsonl import ON_ERROR, JsonlOptions
from .prefilter import hyperscan_status
from .progress import LONG_RUN, Progress, total_size
from .progress import default_enabled as default_progress
from .rules import load_rules
from .ruletest import check_examples

EXIT_OK, EXIT_CHANGED, EXIT_USAGE = 0, 1, 2
CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}

MAIN_EPILOG = """\b
Examples:
  clean page.txt > page.clean.txt            clean one file
  cat pages.txt | clean --stats > out.txt    a pipe; pages split by form-feed lines
  clean --explain - page.txt > /dev/null     why each line was removed (JSON on stderr)
  clean --check corpus/*.txt                 exit 1 if any file would change
  clean --rules my-rules.toml page.txt       add a rule file (or folder) to the pack
  clean rules list                           every loaded rule
  clean rules test my-rules.toml             run the rules' examples
  clean --dedup stream *.txt > all.txt       repeats across all files too
  clean --index corpus.idx new/*.txt         ... and across earlier runs
  clean index info corpus.idx                what an index holds
  clean explain --color page.txt | less -R   every line marked kept or removed, and why

\b
Input: each FILE is one document; on stdin ("-" or no FILE) a line holding
only a form feed separates documents and is kept. Kept lines are written
byte for byte as they came.
Exit codes: 0 ok, 1 --check found changes, 2 usage or rule-file errors.
A file literally named "rules", "index" or "explain" must be given as ./NAME."""


def _rule_options(f: Callable[..., Any]) -> Callable[..., Any]:
    f = click.option("--no-default-rules", is_flag=True,
                     help="Do not load the rule pack shipped with clean.")(f)
    f = click.option("--rules", "rule_paths", multiple=True, type=click.Path(),
                     metavar="PATH", help="Add a rule file or folder of *.toml files (repeatable).")(f)
    return f


def _fail_rules(e: RuleError) -> None:
    for p in e.problems:
        click.echo(f"clean: rule error: {p}", err=True)
    click.echo(f"clean: {len(e.problems)} problem(s) in the rule files; nothing was read.", err=True)
    sys.exit(EXIT_USAGE)


@click.command(context_settings=CONTEXT, epilog=MAIN_EPILOG)
@click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False, allow_dash=True))
@_rule_options
@click.option("--explain", "explain_path", type=click.Path(dir_okay=False, allow_dash=True),
              metavar="PATH", help='Write one JSON object per removed or changed line to PATH ("-": stderr).')
@click.option("--stats", is_flag=True, help="Print per-rule and per-category counts and bytes in/out to stderr.")
@click.option("--check", is_flag=True,
              help="Write nothing (an --index is only read); list on stderr each input that would change, "
                   "and why; exit 1 if any.")
@click.option("--dedup", type=click.Choice(DEDUP_SCOPES), default=None,
              help="Where repeated paragraphs are removed: off, within each document (doc, the default), "
                   "or across all documents of the run (stream; the default with --index).")
@click.option("--dedup-min-words", type=click.IntRange(min=1), default=DEDUP_MIN_WORDS_DEFAULT,
              show_default=True, help="Shorter paragraphs are never removed for repeating alone.")
@click.option("--near/--no-near", default=None,
              help="Also remove near duplicates (words changed, added or removed). "
                   "Default: on with --dedup stream or --index, off within documents.")
@click.option("--near-threshold", type=click.FloatRange(0, 1, min_open=True), default=NEAR_THRESHOLD_DEFAULT,
              show_default=True,
              help="Share of a paragraph's n-gram sketch already seen that makes it a near duplicate "
                   "(one sketch value less when the paragraphs' numbers and names agree; a match whose "
                   "facts differ, or that only shares a quote with the earlier paragraph, is refused).")
@click.option("--unit", type=click.Choice(UNITS), default="line", show_default=True,
              help="A paragraph is a line, or a block of non-blank lines between blank lines (hard-wrapped text).")
@click.option("--index", "index_path", type=click.Path(dir_okay=False), metavar="PATH",
              help="Load this duplicate index before the run and save it after (locked while in use).")
@click.option("--index-readonly", is_flag=True, help="Check against --index without adding to it.")
@click.option("--max-index-mb", type=click.FloatRange(min=0, min_open=True), metavar="N",
              help="Memory budget of the duplicate index; past it, only a shrinking share of the hash space is kept.")
@click.option("--repeated-boilerplate", type=click.IntRange(min=2), metavar="K",
              help="Remove paragraphs found in K or more distinct documents, first included. With FILEs this "
                   "reads them twice; on stdin it removes from the K-th document on.")
@click.option("--regex-timeout", type=click.FloatRange(min=0, max=REGEX_TIMEOUT_MAX, min_open=True),
              default=REGEX_TIMEOUT_DEFAULT,
              show_default=True, help="Seconds one rule regex may run on one line (then the line is kept).")
@click.option("--classifier/--no-classifier", default=None,
              help="Also drop the page furniture no rule names (menus, teasers, bylines, footers) with the "
                   "context-aware line classifier: decides each line from its place on the page with up to 96 "
                   "lines of look-ahead; with --dedup stream it also counts lines across documents (and runs "
                   "in one process with -j). Default: on with --unit line; --no-classifier for rules and "
                   "duplicates only.")
@click.option("--in-place", is_flag=True,
              help="Rewrite each FILE that changes (atomically), print 'Fixing FILE', exit 1 if any changed.")
@click.option("--out-dir", type=click.Path(file_okay=False), metavar="DIR",
              help="Write each FILE's output to DIR under the same relative path.")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=1, show_default=True, metavar="N",
              help="Clean in N processes; the output is the same as with -j 1. FILEs go to workers in batches; "
                   "so do stdin's documents (cut at form-feed lines), but then output comes a document, not "
                   "a line, at a time. With cross-document duplicates, stdin runs in one process.")
@click.option("--progress/--no-progress", default=None,
              help="A progress bar on stderr. Default: when stderr is a terminal, the input is FILEs (not a pipe) "
                   "and the cleaned text does not go to the terminal or a pipe; for one FILE once it runs long.")
@click.option("--jsonl", is_flag=True, help="Input is JSON Lines: clean one field of each record, keep the rest.")
@click.option("--text-field", default="text", show_default=True, metavar="NAME",
              help="With --jsonl: the field holding the text.")
@click.option("--id-field", metavar="NAME",
              help="With --jsonl: the field naming the record (for --explain and --index).")
@click.option("--on-error", type=click.Choice(ON_ERROR), default="stop", show_default=True,
              help="With --jsonl: stop at a malformed line (exit 2), or skip it.")
@click.option("--rejects", type=click.Path(dir_okay=False), metavar="PATH",
              help="With --jsonl --on-error skip: write the malformed lines here.")
@click.option("--drop-empty", is_flag=True, help="With --jsonl: drop records whose text becomes empty.")
@click.version_option(__version__, "--version", prog_name="clean",
                      message=f"%(prog)s, version %(version)s\n{hyperscan_status()}")
def clean_command(files: Sequence[str], rule_paths: Sequence[str], no_default_rules: bool,
                  explain_path: str | None, stats: bool, check: bool, dedup: str | None,
                  dedup_min_words: int, near: bool | None, near_threshold: float, unit: str,
                  index_path: str | None, index_readonly: bool, max_index_mb: float | None,
                  repeated_boilerplate: int | None, regex_timeout: float, classifier: bool | None, in_place: bool,
                  out_dir: str | None, jobs: int, progress: bool | None, jsonl: bool, text_field: str,
                  id_field: str | None, on_error: str, rejects: str | None, drop_empty: bool) -> None:
    """Remove boilerplate and repeated paragraphs from scraped text.

    Reads FILEs (or stdin) and writes the article text to stdout: ad rails,
    captions and alt= leakage, comment forms, related stories, promos, share
    prompts, copyright lines, page chrome and repeated paragraphs are removed.
    """
    names = list(files) or ["-"]
    if index_readonly and not index_path:
        raise click.UsageError("--index-readonly needs --index PATH")
    if sum([check, in_place, out_dir is not None]) > 1:
        raise click.UsageError("--check, --in-place and --out-dir exclude each other")
    if (in_place or out_dir) and "-" in names:
        raise click.UsageError("--in-place and --out-dir need FILE arguments, not stdin")
    if jobs > 1 and "-" in names and len(names) > 1:
        raise click.UsageError("-j reads FILE arguments or stdin alone, not both")
    if not jsonl and (rejects or drop_empty or id_field):
        raise click.UsageError("--rejects, --drop-empty and --id-field go with --jsonl")
    if rejects and on_error != "skip":
        raise click.UsageError("--rejects needs --on-error skip (by default a bad line stops the run)")
    if classifier and unit != "line":
        raise click.UsageError("--classifier needs --unit line (it judges paragraphs, not hard-wrapped lines)")
    if dedup is None:
        dedup = "stream" if index_path else "doc"
    if check and index_path:
        index_readonly = True  # --check writes nothing, the index included (a clean-check hook with --index)
    config = Config(rules=tuple(rule_paths), default_rules=not no_default_rules, dedup=dedup,
                    dedup_min_words=dedup_min_words, near=near, near_threshold=near_threshold, unit=unit,
                    index_path=index_path, index_readonly=index_readonly, max_index_mb=max_index_mb,
                    repeated_boilerplate=repeated_boilerplate, regex_timeout=regex_timeout, classifier=classifier)
    counts = None
    if repeated_boilerplate and "-" not in names and not jsonl:
        counts = Boilerplate.count(_file_lines(f) for f in names)  # first of two passes
    try:
        cleaner = Cleaner(config, boilerplate_counts=counts)
    except RuleError as e:
        _fail_rules(e)
    except CleanerError as e:
        click.echo(f"clean: error: {e}", err=True)
        sys.exit(EXIT_USAGE)
    # rules, automata and tables live as long as the run: the cyclic GC need
    # not walk them again at every collection (about 1% of a run's time)
    gc.freeze()
    target = Target("check" if check else "in_place" if in_place else "out_dir" if out_dir else "stdout", out_dir)
    opts = JsonlOptions(text_field, id_field, on_error, drop_empty) if jsonl else None
    if jobs > 1 and names == ["-"] and (opts is not None or needs_parent_pass(config)):
        # stdin's documents go to workers in batches, each cleaned alone: state
        # across documents (duplicates, boilerplate counts, the classifier's
        # line counts with --dedup stream) would have to follow the stream
        why = "--jsonl" if opts is not None else "cross-document duplicates (--dedup stream, --index, " \
            "--repeated-boilerplate)"
        click.echo(f"clean: warning: -j on stdin with {why} runs in one process", err=True)
        jobs = 1
    if opts is not None and jobs > 1 and needs_parent_pass(config):
        click.echo("clean: warning: --jsonl with cross-document duplicates runs in one process", err=True)
        jobs = 1
    if config.classifier_on and jobs > 1 and needs_parent_pass(config):
        # the classifier needs the duplicate decisions (and, with --dedup stream,
        # counts lines across files), which the parent pass makes in input order
        click.echo("clean: warning: the classifier with cross-document duplicates runs in one process "
                   "(-j ignored; --no-classifier to use -j)", err=True)
        jobs = 1
    if progress is None:
        progress = default_progress(names, writes_text_to_stdout=target.kind == "stdout",
                                    stderr_busy=explain_path == "-")
        delay = 0.0 if len(names) > 1 else LONG_RUN  # one file: only once the run is long
    else:
        delay = 0.0
    bar = Progress(len(names), total_size(names), enabled=progress, delay=delay)
    with ExitStack() as stack:
        explain_out: IO[str] | None = None
        try:
            if explain_path == "-":
                explain_out = sys.stderr
            elif explain_path:
                explain_out = stack.enter_context(open(explain_path, "w", encoding="utf-8", errors="backslashreplace"))
            reject_out = stack.enter_context(open(rejects, "wb")) if rejects else None
        except OSError as e:
            click.echo(f"clean: error: cannot write {e.filename}: {e.strerror}", err=True)
            sys.exit(EXIT_USAGE)
        sink = _ExplainWriter(explain_out) if explain_out else None
        out = sys.stdout.buffer
        changed: list[Outcome] = []
        try:
            for res in _outcomes(cleaner, names, target, jobs, opts, sink, reject_out, out, bar):
                if res.skipped:
                    bar.clear()
                    click.echo(f"clean: skipping {res.name}: {res.skipped}", err=True)
                elif res.changed:
                    changed.append(res)
                    if in_place:
                        bar.clear()
                        out.write(f"Fixing {res.name}\n".encode())
                        out.flush()
                bar.step()
        except BrokenPipeError:
            # the reader went away (``clean big.txt | head``): stop quietly
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            sys.exit(EXIT_OK)
        except CleanerError as e:
            click.echo(f"clean: error: {e}", err=True)
            sys.exit(EXIT_USAGE)
        finally:
            bar.done()
            if sink is not None:
                sink.flush()
    cleaner.close()
    if stats:
        cleaner.stats.write(sys.stderr)
        info = cleaner.index_info()
        if info is not None:
            _write_index_info(info, sys.stderr)
    elif cleaner.stats.rejected:  # lines left out of the output are never silent
        where = f" (in {rejects})" if rejects else ""
        click.echo(f"clean: {cleaner.stats.rejected} bad JSON Lines line(s) skipped{where}", err=True)
    if check:
        for res in changed:
            name = "<stdin>" if res.name == "-" else res.name
            click.echo(f"would clean {name} ({describe_reasons(res.reasons)})", err=True)
    if check or in_place:
        sys.exit(EXIT_CHANGED if changed else EXIT_OK)


def _outcomes(cleaner: Cleaner, names: Sequence[str], target: Target, jobs: int, opts: JsonlOptions | None,
              sink: Callable[[Decision], None] | None, rejects: IO[bytes] | None,
              out: IO[bytes], bar: Progress) -> Iterator[Outcome]:
    """Each input's outcome in input order; with one job, output streams as it is decided."""
    if jobs == 1:
        for name in names:
            yield clean_input(cleaner, name, target, out=out, sink=sink, jsonl=opts, rejects=rejects,
                              progress=bar.advance if bar.enabled else None)
        return
    if names == ["-"]:  # the documents of stdin, in batches
        yield run_stdin_parallel(cleaner, jobs, target, out=out, sink=sink,
                                 progress=bar.advance if bar.enabled else None)
        return
    collect = sink is not None
    two_pass = needs_parent_pass(cleaner.config)
    if two_pass:
        results = run_two_pass(cleaner, names, target, jobs, collect=collect)  # merges its own stats
    else:
        results = run_parallel(cleaner, names, target, jobs, jsonl=opts, collect=collect)
    for res in results:
        if sink is not None:
            for d in res.decisions:
                sink(d)
        if res.stats is not None and not two_pass:
            cleaner.stats.merge(res.stats)
        if rejects is not None and res.rejected:
            rejects.write(res.rejected)
        if bar.enabled:
            bar.advance(os.path.getsize(res.name))
        if res.data is not None and not res.skipped:
            if target.kind == "stdout":
                out.write(res.data)
                out.flush()
            elif res.changed and target.kind == "in_place":
                write_atomic(in_place_path(res.name), res.data)
            elif target.kind == "out_dir":
                dest = out_path(target.out_dir or ".", res.name)
                dest.parent.mkdir(parents=True, exist_ok=True)
                write_atomic(dest, res.data, like=res.name)
        yield res


def _file_lines(path: str) -> Iterator[bytes]:
    with open(path, "rb") as f:
        yield from f


def _write_index_info(info: dict[str, Any], out: IO[str]) -> None:
    budget = info.get("budget_bytes")
    out.write(
        f"duplicate index: {info['paragraphs']} paragraphs in {info['documents']} documents, "
        f"{info['exact_fingerprints']} exact and {info['near_fingerprints']} near fingerprints\n"
        f"  memory: {info['memory_bytes'] / 1e6:.1f} MB"
        + (f" of a {budget / 1e6:.1f} MB budget" if budget else "")
        + f" ({info['bytes_per_paragraph']} bytes per paragraph)\n"
        f"  hash space kept: {info['sampled_share']:.4g}"
        + ("" if info["sampled_share"] == 1 else
           " (over budget: a repeat is only found when its fingerprints fall in the kept share;"
           " expected recall across documents about that share)")
        + "\n"
    )


class _ExplainWriter:
    """Writes decisions as JSON lines, each document's in line order (the
    engine settles blank lines late; sorting per document makes the output
    the same for every -j)."""

    def __init__(self, out: IO[str]) -> None:
        self.out = out
        self.doc: str | None = None
        self.held: list[Decision] = []

    def __call__(self, d: Decision) -> None:
        if d.doc != self.doc:
            self.flush()
            self.doc = d.doc
        self.held.append(d)

    def flush(self) -> None:
        self.held.sort(key=lambda d: d.line)
        self.out.write("".join(d.to_json() + "\n" for d in self.held))
        self.out.flush()
        self.held = []


@click.group(name="rules", context_settings=CONTEXT)
def rules_group() -> None:
    """Inspect and test rule files."""


@rules_group.command("list")
@_rule_options
def rules_list(rule_paths: Sequence[str], no_default_rules: bool) -> None:
    """Print every loaded rule: id, category, action, description."""
    try:
        rs = load_rules(rule_paths, defaults=not no_default_rules)
    except RuleError as e:
        _fail_rules(e)
    for r in rs.rules:
        click.echo(f"{r.id}\t{r.category}\t{r.action}\t{r.description}")


@rules_group.command("test")
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--no-default-rules", is_flag=True, help="Test only the rule files given as PATH.")
def rules_test(paths: Sequence[str], no_default_rules: bool) -> None:
    """Run every loaded rule's examples (the default pack plus PATHs); exit 1 on any failure."""
    try:
        rs = load_rules(paths, defaults=not no_default_rules)
    except RuleError as e:
        _fail_rules(e)
    fails = check_examples(rs)
    for f in fails:
        click.echo(f"FAIL {f}")
    n = sum(len(r.drop_examples) + len(r.keep_examples) + len(r.strip_examples) + len(r.document_examples)
            for r in rs.rules)
    click.echo(f"{len(rs.rules)} rules, {n} examples, {len(fails)} failed")
    sys.exit(1 if fails else 0)


@click.group(name="index", context_settings=CONTEXT)
def index_group() -> None:
    """Inspect and combine duplicate index files (see --index)."""


@index_group.command("info")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
def index_info_cmd(path: str) -> None:
    """Print entries, size and parameters of an index file."""
    try:
        with locked(path, shared=True):
            idx = Index.load(path)
    except CleanerError as e:
        click.echo(f"clean: error: {e}", err=True)
        sys.exit(EXIT_USAGE)
    info = idx.info()
    info["file_bytes"] = os.path.getsize(path)
    click.echo(json.dumps(info, indent=2, sort_keys=True))


@index_group.command("merge")
@click.argument("inputs", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="The merged index file.")
def index_merge_cmd(inputs: Sequence[str], output: str) -> None:
    """Combine indexes built on separate shards; on a paragraph in several,
    the first input's copy wins."""
    try:
        merged: Index | None = None
        for path in inputs:
            with locked(path, shared=True):
                idx = Index.load(path)
            if merged is None:
                merged = idx
            else:
                merged.merge_from(idx)
        assert merged is not None
        with locked(output):
            merged.save(output)
    except CleanerError as e:
        click.echo(f"clean: error: {e}", err=True)
        sys.exit(EXIT_USAGE)
    click.echo(f"{output}: {merged.paragraphs()} paragraphs from {len(inputs)} indexes")


@click.command(name="explain", context_settings=CONTEXT)
@click.argument("file", type=click.Path(exists=True, dir_okay=False, allow_dash=True))
@_rule_options
@click.option("--classifier/--no-classifier", default=None,
              help="Run the context-aware line classifier (default: on, as in clean).")
@click.option("--color/--no-color", default=None, help="Colour the marks (default: when stdout is a terminal).")
def explain_command(file: str, rule_paths: Sequence[str], no_default_rules: bool, classifier: bool | None,
                    color: bool | None) -> None:
    """Print FILE with every line marked: kept, or removed and why.

    \b
      + kept line
      - removed line   [rule id]
      ~ changed line   [rule id]
    """
    try:
        cleaner = Cleaner(Config(rules=tuple(rule_paths), default_rules=not no_default_rules, classifier=classifier))
    except RuleError as e:
        _fail_rules(e)
    data = sys.stdin.buffer.read() if file == "-" else Path(file).read_bytes()
    text = data.decode("utf-8", "surrogateescape")
    why = {d.line: d for d in cleaner.explain_text(text, doc_id=file).decisions}
    lines = text.split("\n")
    if text.endswith("\n"):
        lines.pop()
    for n, line in enumerate(lines, 1):
        line = line.removesuffix("\r")
        d = why.get(n)
        if d is None:
            click.echo(click.style("+ ", fg="green") + line, color=color)
            continue
        mark = "~ " if d.action == "strip" else "- "
        extra = f" (first copy: {d.first[0]}:{d.first[1]}, {d.match} {d.score})" if d.first else ""
        if d.features:
            extra = " (" + ", ".join(f"{k} {v}" for k, v in d.features.items()) + ")"
        click.echo(click.style(mark + line, fg="red" if mark == "- " else "yellow", dim=mark == "- ")
                   + click.style(f"   [{d.rule}{extra}]", fg="cyan"), color=color)


SUBCOMMANDS: dict[str, click.Command] = {"rules": rules_group, "index": index_group, "explain": explain_command}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``clean`` and ``python -m cleaner``; returns the exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    # numpy (the index's sorted runs) never calls BLAS here, but OpenBLAS
    # starts a spinning thread per core when it loads: on one pinned core it
    # takes time from the run
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    logging.basicConfig(format="clean: warning: %(message)s", level=logging.WARNING)
    cmd: click.Command = clean_command
    prog = "clean"
    if args and args[0] in SUBCOMMANDS:
        cmd, prog = SUBCOMMANDS[args[0]], f"clean {args[0]}"
        args = args[1:]
    try:
        cmd.main(args, prog_name=prog, standalone_mode=True)
    except SystemExit as e:
        code = e.code
        return code if isinstance(code, int) else (0 if code is None else EXIT_USAGE)
    except KeyboardInterrupt:
        return 130
    return EXIT_OK
