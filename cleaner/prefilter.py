"""Find, in one pass over a batch of lines, which rules could match which lines.

The full ``regex`` pattern of a rule then runs only on the lines where its
prefilter fired. With Hyperscan, all patterns are scanned at once over the
whole batch; the patterns are first widened (``\\w`` to ASCII word characters
plus any non-ASCII character, ``\\b`` dropped, ...) so that Hyperscan needs no
Unicode tables, which keeps compilation fast, while every line the real
pattern matches is still reported. Rules Hyperscan cannot compile are checked
on every line. Without Hyperscan every rule is checked on every line: slower,
same output.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import regex

_hs: Any
try:  # optional speed-up: wheels exist for the common platforms only
    import hyperscan as _hs
except ImportError:  # pragma: no cover - depends on the platform
    _hs = None

_ANY_NON_ASCII = r"\x{80}-\x{10FFFF}"
# Every character the regex module's \s matches beyond ASCII. The scan
# buffer has each of them replaced by one ASCII space (line breaks do not
# move, so match offsets still give line numbers), which lets the widened
# patterns treat \s as ASCII whitespace: a far cheaper automaton.
_UNICODE_SPACES = [chr(c) for c in (0x85, 0xA0, 0x1680, *range(0x2000, 0x200B), 0x2028, 0x2029, 0x202F, 0x205F, 0x3000)]
_UNICODE_SPACES_UTF8 = [c.encode("utf-8") for c in _UNICODE_SPACES]
_ASCII_SPACE = r"\x{9}\x{b}-\x{d}\x{20}"  # no \n: a line never holds one
_CODEPOINT_ESCAPE = regex.compile(r"\\(?:x([0-9A-Fa-f]{2})|x\{([0-9A-Fa-f]+)\}|u([0-9A-Fa-f]{4})|U([0-9A-Fa-f]{8}))")


def canonical(buf: bytes) -> bytes:
    """The scan buffer: Unicode spaces replaced by ASCII spaces."""
    if buf.isascii():
        return buf
    for sp in _UNICODE_SPACES_UTF8:
        if sp in buf:
            buf = buf.replace(sp, b" ")
    return buf
_OUTSIDE = {"A": "^", "Z": "$", "z": "$", "b": "", "B": "", "G": ""}
# Counted repeats above this bound become * or + : a superset, and far
# cheaper for Hyperscan to compile than {0,120} over UTF-8.
_MAX_COUNT = 4
_COUNTED = regex.compile(r"\{(\d*)(?:,(\d*))?\}")
_PROPERTY = regex.compile(r"\\([pP])(\{[^}]*\}|[A-Za-z])")


# Rules limited to at most this many words scan only the lines that short.
SHORT_WORDS = 40


class Unwidenable(ValueError):
    """The pattern uses a construct ``widen`` cannot turn into a superset."""


def _ascii_ranges(escape: str) -> str:
    """The ASCII members of a class escape (``\\w``, ``\\p{Lu}`` ...) as class ranges."""
    pat = regex.compile(escape)
    members = [c for c in range(128) if pat.fullmatch(chr(c))]
    out: list[str] = []
    i = 0
    while i < len(members):
        j = i
        while j + 1 < len(members) and members[j + 1] == members[j] + 1:
            j += 1
        lo, hi = members[i], members[j]
        out.append(f"\\x{{{lo:x}}}" + (f"-\\x{{{hi:x}}}" if hi > lo else ""))
        i = j + 1
    return "".join(out)


def widen(pattern: str) -> str:
    """Rewrite a ``regex`` pattern into a Hyperscan pattern that matches at
    least every line the original matches, with no Unicode property tables:
    a Unicode class becomes its ASCII members plus every non-ASCII character
    (inside a negated class: its ASCII members only), word boundaries are
    dropped and long counted repeats become ``*``/``+``. Raises
    ``Unwidenable`` for the few constructs this cannot handle."""
    out: list[str] = []
    i, n = 0, len(pattern)
    in_class = negated = False
    while i < n:
        c = pattern[i]
        if not in_class and not c.isascii() and c not in _UNICODE_SPACES:
            # a non-ASCII literal: any non-ASCII character (see the class case below)
            out.append(f"[{_ANY_NON_ASCII}]")
            i += 1
            continue
        if c in _UNICODE_SPACES:  # the scan buffer holds an ASCII space there
            out.append(_ASCII_SPACE if in_class else f"[{_ASCII_SPACE}]")
            i += 1
            continue
        if c == "\\" and i + 1 < n:
            e = pattern[i + 1]
            cp = _CODEPOINT_ESCAPE.match(pattern, i)
            if cp:
                ch = chr(int(next(g for g in cp.groups() if g), 16))
                i = cp.end()
                if ch in _UNICODE_SPACES:
                    out.append(_ASCII_SPACE if in_class else f"[{_ASCII_SPACE}]")
                elif not ch.isascii():  # as for non-ASCII literals
                    if not in_class:
                        out.append(f"[{_ANY_NON_ASCII}]")
                    elif not negated:
                        out.append(_ANY_NON_ASCII)
                else:
                    out.append(f"\\x{{{ord(ch):x}}}")
                continue
            m = _PROPERTY.match(pattern, i) if e in "pP" else None
            esc = m.group(0) if m else "\\" + e
            i = m.end() if m else i + 2
            if e == "s":
                out.append(_ASCII_SPACE if in_class else f"[{_ASCII_SPACE}]")
            elif e in "wdpP":
                ascii_part = _ascii_ranges(esc)
                if in_class:
                    out.append(ascii_part if negated else ascii_part + _ANY_NON_ASCII)
                else:
                    out.append(f"[{ascii_part}{_ANY_NON_ASCII}]")
            elif e in "WSD" and in_class and negated:
                raise Unwidenable(f"{esc} inside a negated class")
            elif not in_class and e in _OUTSIDE:
                out.append(_OUTSIDE[e])
            else:
                out.append(esc)
            continue
        if in_class:
            if c == "]" and not (out and out[-1] in ("[", "[^")):
                in_class = False
            elif not c.isascii():
                # Hyperscan 0.9.1 in UTF-8 mode was seen to miss lines when
                # patterns hold non-ASCII literals: every one becomes "any
                # non-ASCII character" (and is dropped from negated classes)
                if not negated:
                    out.append(_ANY_NON_ASCII)
                i += 1
                continue
        elif c == "{":
            m = _COUNTED.match(pattern, i)
            if m and m.group(1):
                lo = int(m.group(1))
                hi = lo if m.group(2) is None else (int(m.group(2)) if m.group(2) else None)
                if hi is None or hi > _MAX_COUNT or lo > _MAX_COUNT:
                    out.append("*" if lo == 0 else "+")
                    i = m.end()
                    continue
        elif c == "[":
            in_class, negated = True, pattern.startswith("[^", i)
            if negated and _excludes_ascii_space(pattern, i + 2):
                # [^ ] matches a non-breaking space, which the scan buffer turned into " "
                raise Unwidenable("a negated class that excludes ASCII whitespace but not \\s")
            if negated:
                out.append("[^")
                i += 2
                continue
        out.append(c)
        i += 1
    return "".join(out)


def _excludes_ascii_space(pattern: str, i: int) -> bool:
    """Does the negated class whose body starts at ``i`` list the space
    (literally or escaped), or a Unicode space, without also listing \\s?"""
    body: list[str] = []
    first = True
    while i < len(pattern) and (pattern[i] != "]" or first):
        cp = _CODEPOINT_ESCAPE.match(pattern, i)
        if cp:
            body.append(cp.group(0))
            i = cp.end()
        elif pattern[i] == "\\" and i + 1 < len(pattern):
            body.append(pattern[i:i + 2])
            i += 2
        else:
            body.append(pattern[i])
            i += 1
        first = False
    if any(b in _UNICODE_SPACES or (_CODEPOINT_ESCAPE.fullmatch(b) is not None) for b in body):
        return True  # be conservative with code point escapes and Unicode spaces in negated classes
    if "\\s" in body:
        return False
    # Unicode spaces became " " in the scan buffer: only excluding " " matters
    return any(b in (" ", "\\ ") or b.lower() in ("\\x20", "\\x{20}", "\\u0020") for b in body)


class Prefilter:
    """Maps a batch of lines to the rules worth trying on each line."""

    def __init__(self, patterns: Sequence[tuple[int, str]], n_rules: int, *, use_hyperscan: bool = True,
                 max_words: Sequence[int | None] = ()) -> None:
        # patterns: (rule index, regex source); a rule may own several.
        # max_words[rule]: the rule only matches lines of at most that many words.
        # One database per pattern: with many patterns in one database,
        # Hyperscan 0.9.1 (UTF-8, multi-line) was seen to miss matches that
        # each pattern finds alone, and a prefilter must never miss.
        self._long_dbs: list[tuple[Any, int]] = []
        self._short_dbs: list[tuple[Any, int]] = []  # rules that only match lines of <= _short_words words
        words = list(max_words) + [None] * (n_rules - len(max_words))
        self._short_words = max((w for w in words if w is not None and w <= SHORT_WORDS), default=0)
        always: set[int] = set()
        if use_hyperscan and _hs is not None and patterns:
            wide: list[tuple[int, str]] = []
            for rule, pat in patterns:
                try:
                    wide.append((rule, widen(pat)))
                except Unwidenable:
                    always.add(rule)
            for rule, expr in wide:
                db = _load_or_compile(expr)
                if db is None:
                    always.add(rule)
                else:
                    limit = words[rule]
                    short = limit is not None and limit <= SHORT_WORDS
                    (self._short_dbs if short else self._long_dbs).append((db, rule))
        else:
            always.update(r for r, _ in patterns)
        self.always: tuple[int, ...] = tuple(sorted(always))
        self.uses_hyperscan = bool(self._long_dbs or self._short_dbs)

    def scan(self, buf: bytes) -> dict[int, list[int]]:
        """``buf`` holds lines joined by ``\\n`` (valid UTF-8, no ``\\r``).
        Returns line index -> sorted rule indexes, for lines with candidates
        beyond ``always`` (which the caller tries on every line)."""
        if not self.uses_hyperscan:
            return {}
        buf = canonical(buf)
        hits: dict[int, set[int]] = {}
        long_dbs, short_dbs = self._long_dbs, self._short_dbs
        if long_dbs:
            _scan_into(hits, long_dbs, buf, None)
        if short_dbs:
            # Rules with max_words can only fire on short lines: scan just
            # those (most bytes are in long article lines). bytes.split()
            # never counts more words than the engine's str.split().
            lines = buf.split(b"\n")
            keep = [i for i, line in enumerate(lines) if len(line.split()) <= self._short_words]
            if keep:
                _scan_into(hits, short_dbs, b"\n".join([lines[i] for i in keep]), keep)
        return {k: sorted(v) for k, v in hits.items()}


def _scan_into(hits: dict[int, set[int]], dbs: list[tuple[Any, int]], buf: bytes,
               line_map: list[int] | None) -> None:
    found: list[tuple[int, int]] = []
    for db, rule in dbs:
        def on_match(pid: int, start: int, end: int, flags: int, ctx: object, rule: int = rule) -> None:
            found.append((end, rule))

        db.scan(buf, match_event_handler=on_match)
    found.sort()
    line, pos = 0, 0
    for end, rule in found:
        # the match's last character decides its line
        last = max(end - 1, 0)
        if last > pos:
            line += buf.count(b"\n", pos, last)
            pos = last
        hits.setdefault(line if line_map is None else line_map[line], set()).add(rule)


def _flags() -> int:
    assert _hs is not None
    return int(_hs.HS_FLAG_MULTILINE | _hs.HS_FLAG_UTF8 | _hs.HS_FLAG_PREFILTER)


def _compile(exprs: Sequence[str]) -> Any:
    assert _hs is not None
    db = _hs.Database()
    db.compile(
        expressions=[e.encode("utf-8") for e in exprs],
        ids=list(range(len(exprs))),
        elements=len(exprs),
        flags=[_flags()] * len(exprs),
    )
    return db


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "corpus-cleaner"


def _load_or_compile(expr: str) -> Any:
    """The database of one widened pattern, or None if Hyperscan rejects it.
    Databases are cached on disk one per pattern, keyed by the pattern and
    flags, so editing a rule file recompiles only the patterns it changed."""
    assert _hs is not None
    key = hashlib.sha256(repr((getattr(_hs, "__version__", ""), _flags(), expr)).encode("utf-8")).hexdigest()[:32]
    path = _cache_dir() / f"hs1-{key}.db"
    if os.environ.get("CLEANER_NO_CACHE") != "1":
        try:
            data = path.read_bytes()
            if data == b"rejected":
                return None
            db = _hs.loadb(data, _hs.HS_MODE_BLOCK)
            db.scratch = _hs.Scratch(db)  # a loaded database comes without scratch space
            return db
        except Exception:
            pass
    try:
        db = _compile([expr])
    except Exception:
        db = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".hs-")
        with os.fdopen(fd, "wb") as f:
            f.write(_hs.dumpb(db) if db is not None else b"rejected")
        os.replace(tmp, path)
    except OSError:
        pass  # a read-only home only costs compile time
    return db
