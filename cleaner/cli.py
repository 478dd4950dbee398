"""The ``clean`` command: options -> Config -> Cleaner; errors -> exit codes."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Sequence
from typing import IO, Any

import click

from . import __version__
from .api import Cleaner
from .config import DEDUP_MIN_WORDS_DEFAULT, DEDUP_SCOPES, REGEX_TIMEOUT_DEFAULT, Config
from .errors import CleanerError, RuleError
from .explain import Decision
from .rules import load_rules
from .ruletest import check_examples
from .stream import read_chunks

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

\b
Input: each FILE is one document; on stdin ("-" or no FILE) a line holding
only a form feed separates documents and is kept. Kept lines are written
byte for byte as they came.
Exit codes: 0 ok, 1 --check found changes, 2 usage or rule-file errors.
A file literally named "rules" must be given as ./rules."""


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
              help="Write no output; list inputs that would change on stderr and exit 1 if any.")
@click.option("--dedup", type=click.Choice(DEDUP_SCOPES), default="doc", show_default=True,
              help="Remove repeated paragraphs within each document, or not.")
@click.option("--dedup-min-words", type=click.IntRange(min=1), default=DEDUP_MIN_WORDS_DEFAULT,
              show_default=True, help="Shorter lines are never removed for repeating alone.")
@click.option("--regex-timeout", type=click.FloatRange(min=0, min_open=True), default=REGEX_TIMEOUT_DEFAULT,
              show_default=True, help="Seconds one rule regex may run on one line (then the line is kept).")
@click.version_option(__version__, "--version", prog_name="clean")
def clean_command(files: Sequence[str], rule_paths: Sequence[str], no_default_rules: bool,
                  explain_path: str | None, stats: bool, check: bool, dedup: str,
                  dedup_min_words: int, regex_timeout: float) -> None:
    """Remove boilerplate and repeated paragraphs from scraped text.

    Reads FILEs (or stdin) and writes the article text to stdout: ad rails,
    captions and alt= leakage, comment forms, related stories, promos, share
    prompts, copyright lines, page chrome and repeated paragraphs are removed.
    """
    config = Config(rules=tuple(rule_paths), default_rules=not no_default_rules, dedup=dedup,
                    dedup_min_words=dedup_min_words, regex_timeout=regex_timeout)
    try:
        cleaner = Cleaner(config)
    except RuleError as e:
        _fail_rules(e)
    explain_out: IO[str] | None = None
    if explain_path == "-":
        explain_out = sys.stderr
    elif explain_path:
        explain_out = open(explain_path, "w", encoding="utf-8")  # noqa: SIM115 - closed below
    sink = _explain_sink(explain_out) if explain_out else None
    out = sys.stdout.buffer
    changed: list[str] = []
    try:
        for name in files or ("-",):
            if _clean_one(cleaner, name, None if check else out, sink):
                changed.append(name)
    except BrokenPipeError:
        # the reader went away (``clean big.txt | head``): stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(EXIT_OK)
    except CleanerError as e:
        click.echo(f"clean: error: {e}", err=True)
        sys.exit(EXIT_USAGE)
    finally:
        if explain_out is not None and explain_out is not sys.stderr:
            explain_out.close()
    if stats:
        cleaner.stats.write(sys.stderr)
    if check:
        for name in changed:
            click.echo(f"would clean {'<stdin>' if name == '-' else name}", err=True)
        sys.exit(EXIT_CHANGED if changed else EXIT_OK)


def _explain_sink(out: IO[str]) -> Callable[[Decision], None]:
    def write(d: Decision) -> None:
        out.write(d.to_json() + "\n")

    return write


def _clean_one(cleaner: Cleaner, name: str, out: IO[bytes] | None,
               sink: Callable[[Decision], None] | None) -> bool:
    """Clean one input (a file is one document; stdin may hold several)."""
    stdin = name == "-"
    f = sys.stdin.buffer if stdin else open(name, "rb")  # noqa: SIM115 - closed below
    try:
        s = cleaner.stream("<stdin>" if stdin else name, sink=sink, split_docs=stdin)
        for chunk in read_chunks(f):
            data = s.feed(chunk)
            if out is not None and data:
                out.write(data)
                out.flush()
        data = s.close()
        if out is not None and data:
            out.write(data)
            out.flush()
        return s.changed
    finally:
        if not stdin:
            f.close()


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


SUBCOMMANDS: dict[str, click.Command] = {"rules": rules_group}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``clean`` and ``python -m cleaner``; returns the exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
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
