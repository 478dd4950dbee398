"""Rule files: TOML -> validated, compiled, frozen ``Rule`` objects.

Everything is validated before anything is compiled into an engine, and every
problem is collected so that one run reports all of them (file, rule id,
reason).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import sys
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import regex

from .classify import PREDICATES
from .errors import RuleError, RuleProblem
from .files import read_cache, write_cache

ACTIONS = ("drop_line", "drop_block", "truncate_after", "strip")
WHERE = ("anywhere", "before_body")
FORMAT_VERSION = 1

_RULE_KEYS = {
    "id", "category", "action", "description", "pattern", "patterns", "where",
    "min_words", "max_words", "max_lines", "min_lines", "continue_while", "replace",
    "examples",
}
_EXAMPLE_KEYS = {"drop", "keep", "strip", "documents"}
_TOP_KEYS = {"version", "categories", "rule"}
_ID_RE = regex.compile(r"^[a-z0-9][a-z0-9_-]*(\.[a-z0-9][a-z0-9_-]*)+$")


@dataclass(frozen=True)
class Rule:
    """One compiled rule. ``order`` is its priority: lower wins."""

    id: str
    category: str
    action: str
    description: str
    patterns: tuple[str, ...]
    source: str
    order: int
    where: str = "anywhere"
    min_words: int | None = None
    max_words: int | None = None
    max_lines: int = 0
    min_lines: int = 0
    continue_predicate: str | None = None
    continue_params: Mapping[str, int] = field(default_factory=dict)
    replace: str = ""
    drop_examples: tuple[str, ...] = ()
    keep_examples: tuple[str, ...] = ()
    strip_examples: tuple[tuple[str, str], ...] = ()
    document_examples: tuple[tuple[str, str], ...] = ()

    @cached_property
    def compiled(self) -> tuple[regex.Pattern[str], ...]:
        """The patterns, compiled on first use (they were validated at load)."""
        return tuple(regex.compile(p) for p in self.patterns)

    def accepts_words(self, words: int) -> bool:
        """The start line's word count is within ``min_words``..``max_words``."""
        return (self.min_words is None or words >= self.min_words) and (
            self.max_words is None or words <= self.max_words
        )


@dataclass(frozen=True)
class RuleSet:
    """Rules in priority order plus the categories they may use."""

    rules: tuple[Rule, ...]
    categories: Mapping[str, str]
    sources: tuple[str, ...]

    def by_id(self, rule_id: str) -> Rule:
        for r in self.rules:
            if r.id == rule_id:
                return r
        raise KeyError(rule_id)

    def only(self, rule_ids: Iterable[str]) -> RuleSet:
        """A rule set holding just the given rules (for running one rule's examples)."""
        wanted = set(rule_ids)
        return RuleSet(tuple(r for r in self.rules if r.id in wanted), self.categories, self.sources)


def default_rules_dir() -> Path:
    """The rule pack shipped in the wheel, or ``rules/`` of a source checkout."""
    here = Path(__file__).resolve().parent
    installed = here / "rules"
    if installed.is_dir():
        return installed
    return here.parent / "rules"


def rule_files(paths: Sequence[str | Path]) -> list[Path]:
    """Expand folders into their ``*.toml`` files (sorted); keep files as given."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend(sorted(p.glob("*.toml")))
        else:
            out.append(p)
    return out


def load_rules(paths: Sequence[str | Path] = (), *, defaults: bool = True) -> RuleSet:
    """Load, validate and compile rule files; raise ``RuleError`` listing every problem."""
    files = ([default_rules_dir()] if defaults else []) + list(paths)
    loader = _Loader()
    for f in rule_files(files):
        loader.load_file(f)
    return loader.finish()


def load_rules_text(text: str, name: str = "<string>") -> RuleSet:
    """Load a single rule file given as text (used by tests and examples)."""
    loader = _Loader()
    loader.load_text(text, name)
    return loader.finish()


# Compiling the patterns is most of the cost of loading the rules, and the
# same rule files are loaded by every run: patterns that compiled (and do not
# match the empty line) are remembered per regex version, and compiled on
# first use instead. A bad pattern is never remembered, so it fails every load.
def _valid_name() -> str:
    return f"regex-ok-{regex.__version__}.txt"


def _pattern_key(pattern: str) -> str:
    return hashlib.sha256(pattern.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _load_valid() -> set[str]:
    data = read_cache(_valid_name())
    try:
        return set(data.decode("ascii").split()) if data is not None else set()
    except UnicodeDecodeError:
        return set()


def _save_valid(keys: set[str]) -> None:
    write_cache(_valid_name(), "".join(k + "\n" for k in sorted(keys)).encode("ascii"))


# Parsing the rule files' TOML took a fifth of start-up: a file's parsed
# tables are remembered as JSON, keyed by its text and the Python version
# (tomllib's). Files holding dates or times (no JSON form) are parsed each time.
def _parse_toml(text: str) -> dict[str, Any]:
    ident = f"{sys.version}\0{text}".encode("utf-8", "surrogatepass")
    name = f"toml-{hashlib.sha256(ident).hexdigest()[:32]}.json"
    data = read_cache(name)
    if data is not None:
        with contextlib.suppress(ValueError):
            doc = json.loads(data)
            if isinstance(doc, dict):
                return doc
    doc = tomllib.loads(text)
    with contextlib.suppress(TypeError, ValueError):  # no JSON form: not remembered
        write_cache(name, json.dumps(doc).encode("ascii"))
    return doc


class _Loader:
    def __init__(self) -> None:
        self.problems: list[RuleProblem] = []
        self.raw: list[tuple[str, dict[str, Any]]] = []
        self.categories: dict[str, str] = {}
        self.sources: list[str] = []
        self.valid = _load_valid()  # pattern keys an earlier run compiled
        self.checked: set[str] = set()  # pattern keys this run compiled

    def problem(self, file: str, rule_id: str | None, msg: str) -> None:
        self.problems.append(RuleProblem(file, rule_id, msg))

    def load_file(self, path: Path) -> None:
        name = str(path)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            self.problem(name, None, "no such rule file or folder")
            return
        except (OSError, UnicodeDecodeError) as e:
            self.problem(name, None, f"cannot read: {e}")
            return
        self.load_text(text, name)

    def load_text(self, text: str, name: str) -> None:
        self.sources.append(name)
        try:
            doc = _parse_toml(text)
        except tomllib.TOMLDecodeError as e:
            self.problem(name, None, f"TOML syntax error: {e}")
            return
        for key in sorted(set(doc) - _TOP_KEYS):
            self.problem(name, None, f"unknown top-level key {key!r} (allowed: {', '.join(sorted(_TOP_KEYS))})")
        version = doc.get("version")
        if version != FORMAT_VERSION:
            self.problem(name, None, f"'version' must be {FORMAT_VERSION}, got {version!r}")
        cats = doc.get("categories", {})
        if not isinstance(cats, dict):
            self.problem(name, None, "'categories' must be a table of name = \"description\"")
        else:
            for k, v in cats.items():
                if not isinstance(v, str):
                    self.problem(name, None, f"category {k!r}: description must be a string")
                self.categories.setdefault(k, str(v))
        rules = doc.get("rule", [])
        if not isinstance(rules, list):
            self.problem(name, None, "'rule' must be an array of tables ([[rule]])")
            return
        for i, r in enumerate(rules):
            if not isinstance(r, dict):
                self.problem(name, None, f"rule #{i + 1} is not a table")
                continue
            self.raw.append((name, r))

    def finish(self) -> RuleSet:
        seen: dict[str, str] = {}
        built: list[Rule] = []
        for order, (file, raw) in enumerate(self.raw):
            rule = self._build(file, raw, order, seen)
            if rule is not None:
                built.append(rule)
        if self.problems:
            raise RuleError(self.problems)
        if self.checked - self.valid:
            _save_valid(self.valid | self.checked)
        return RuleSet(tuple(built), dict(self.categories), tuple(self.sources))

    def _build(self, file: str, raw: dict[str, Any], order: int, seen: dict[str, str]) -> Rule | None:
        before = len(self.problems)
        rid = raw.get("id")
        label = rid if isinstance(rid, str) else None
        if rid is None:
            self.problem(file, None, f"rule #{order + 1}: missing required field 'id'")
        elif not isinstance(rid, str) or not _ID_RE.match(rid):
            self.problem(file, label, "'id' must look like 'category.name' (lower case, digits, '-', '_')")
        elif rid in seen:
            self.problem(file, rid, f"duplicate rule id (first defined in {seen[rid]})")
        else:
            seen[rid] = file

        def p(msg: str) -> None:
            self.problem(file, label, msg)

        for key in sorted(set(raw) - _RULE_KEYS):
            p(f"unknown key {key!r} (allowed: {', '.join(sorted(_RULE_KEYS))})")

        def get(key: str, typ: type | tuple[type, ...], default: Any = None, required: bool = False) -> Any:
            if key not in raw:
                if required:
                    p(f"missing required field {key!r}")
                return default
            val = raw[key]
            if not isinstance(val, typ) or (typ is int and isinstance(val, bool)):
                names = typ.__name__ if isinstance(typ, type) else " or ".join(t.__name__ for t in typ)
                p(f"{key!r} must be of type {names}, got {type(val).__name__}")
                return default
            return val

        category = get("category", str, "", required=True)
        if category and category not in self.categories:
            known = ", ".join(sorted(self.categories)) or "none declared"
            p(f"unknown category {category!r} (declared: {known})")
        action = get("action", str, "", required=True)
        if action and action not in ACTIONS:
            p(f"unknown action {action!r} (allowed: {', '.join(ACTIONS)})")
        description = get("description", str, "", required=True)
        where = get("where", str, "anywhere")
        if where not in WHERE:
            p(f"unknown 'where' {where!r} (allowed: {', '.join(WHERE)})")
        min_words = get("min_words", int)
        max_words = get("max_words", int)
        max_lines = get("max_lines", int, 0)
        min_lines = get("min_lines", int, 0)
        replace = get("replace", str, "")

        patterns: list[str] = []
        if "pattern" in raw and "patterns" in raw:
            p("give either 'pattern' or 'patterns', not both")
        elif "pattern" in raw:
            one = get("pattern", str)
            patterns = [one] if one is not None else []
        elif "patterns" in raw:
            many = get("patterns", list, [])
            if not all(isinstance(x, str) for x in many) or not many:
                p("'patterns' must be a non-empty list of strings")
            else:
                patterns = many
        else:
            p("missing required field 'pattern' (or 'patterns')")
        for pat in patterns:
            if _pattern_key(pat) in self.valid:
                continue  # checked by an earlier run with this regex version
            try:
                compiled = regex.compile(pat)
            except regex.error as e:
                p(f"bad regex {pat!r}: {e}")
                continue
            if compiled.search("") is not None:
                p(f"regex {pat!r} matches the empty line, so it would match every line")
            else:
                self.checked.add(_pattern_key(pat))

        pred_name: str | None = None
        pred_params: dict[str, int] = {}
        cont = get("continue_while", dict)
        if action == "drop_block":
            if cont is None:
                p("drop_block needs a [rule.continue_while] table with a 'predicate'")
            if not isinstance(max_lines, int) or max_lines < 1:
                p("drop_block needs 'max_lines' >= 1 (it bounds the block)")
            if min_lines < 0 or min_lines > max_lines:
                p("'min_lines' must be between 0 and 'max_lines'")
        elif action:
            for key in ("continue_while", "max_lines", "min_lines"):
                if key in raw:
                    p(f"{key!r} only applies to action 'drop_block'")
        if cont is not None:
            pred_name = cont.get("predicate")
            if pred_name not in PREDICATES:
                p(f"unknown predicate {pred_name!r} (known: {', '.join(sorted(PREDICATES))})")
            else:
                spec = PREDICATES[pred_name]
                for k, v in cont.items():
                    if k == "predicate":
                        continue
                    if k not in spec.params:
                        p(f"predicate {pred_name!r} has no parameter {k!r}")
                    elif not isinstance(v, int) or isinstance(v, bool) or v < 0:
                        p(f"predicate parameter {k!r} must be a non-negative integer")
                    else:
                        pred_params[k] = v
        if "replace" in raw and action != "strip":
            p("'replace' only applies to action 'strip'")

        ex = get("examples", dict, {})
        for key in sorted(set(ex) - _EXAMPLE_KEYS):
            p(f"unknown examples key {key!r} (allowed: {', '.join(sorted(_EXAMPLE_KEYS))})")
        drop_ex = self._str_list(ex, "drop", p)
        keep_ex = self._str_list(ex, "keep", p)
        strip_ex = self._pairs(ex, "strip", ("before", "after"), p)
        doc_ex = self._pairs(ex, "documents", ("input", "output"), p)
        if action == "strip" and drop_ex:
            p("a strip rule takes examples.strip pairs, not examples.drop")
        if action and action != "strip" and strip_ex:
            p("examples.strip only applies to action 'strip'")
        if not (drop_ex or strip_ex or doc_ex):
            p("needs at least one example of what it removes (examples.drop, examples.strip or examples.documents)")

        if len(self.problems) > before or not isinstance(rid, str):
            return None
        return Rule(
            id=rid, category=category, action=action, description=description,
            patterns=tuple(patterns), source=file, order=order,
            where=where, min_words=min_words, max_words=max_words, max_lines=max_lines,
            min_lines=min_lines, continue_predicate=pred_name, continue_params=pred_params,
            replace=replace, drop_examples=tuple(drop_ex), keep_examples=tuple(keep_ex),
            strip_examples=tuple(strip_ex), document_examples=tuple(doc_ex),
        )

    @staticmethod
    def _str_list(ex: dict[str, Any], key: str, p: Any) -> list[str]:
        val = ex.get(key, [])
        if not isinstance(val, list) or not all(isinstance(x, str) for x in val):
            p(f"examples.{key} must be a list of strings")
            return []
        return val

    @staticmethod
    def _pairs(ex: dict[str, Any], key: str, names: tuple[str, str], p: Any) -> list[tuple[str, str]]:
        val = ex.get(key, [])
        out: list[tuple[str, str]] = []
        if not isinstance(val, list):
            p(f"examples.{key} must be a list of tables")
            return out
        for item in val:
            if not (isinstance(item, dict) and set(item) == set(names)
                    and all(isinstance(v, str) for v in item.values())):
                p(f"each examples.{key} entry must be a table with string fields {names[0]!r} and {names[1]!r}")
                continue
            out.append((item[names[0]], item[names[1]]))
        return out
