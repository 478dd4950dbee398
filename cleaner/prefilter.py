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

try:  # optional speed-up: wheels exist for the common platforms only
    import hyperscan as _hs
except ImportError:  # pragma: no cover - depends on the platform
    _hs = None

_ANY_NON_ASCII = r"\x{80}-\x{10FFFF}"
_CLASS_EXPANSIONS = {
    "w": "0-9A-Za-z_" + _ANY_NON_ASCII,
    "d": "0-9" + _ANY_NON_ASCII,
    "s": r"\s\x{1c}-\x{1f}\x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}",
}
_OUTSIDE = {"A": "^", "Z": "$", "z": "$", "b": "", "B": "", "G": ""}


def widen(pattern: str) -> str:
    """Rewrite a ``regex`` pattern into a Hyperscan pattern that matches at
    least every line the original matches, without Unicode properties."""
    out: list[str] = []
    i, n, in_class = 0, len(pattern), False
    while i < n:
        c = pattern[i]
        if c == "\\" and i + 1 < n:
            e = pattern[i + 1]
            i += 2
            if e in _CLASS_EXPANSIONS:
                body = _CLASS_EXPANSIONS[e]
                out.append(body if in_class else f"[{body}]")
            elif not in_class and e in _OUTSIDE:
                out.append(_OUTSIDE[e])
            else:
                out.append("\\" + e)
            continue
        if in_class:
            if c == "]" and not (out and out[-1] in ("[", "[^")):
                in_class = False
        elif c == "[":
            in_class = True
            if i + 1 < n and pattern[i + 1] == "^":
                out.append("[^")
                i += 2
                continue
        out.append(c)
        i += 1
    return "".join(out)


class Prefilter:
    """Maps a batch of lines to the rules worth trying on each line."""

    def __init__(self, patterns: Sequence[tuple[int, str]], n_rules: int, *, use_hyperscan: bool = True) -> None:
        # patterns: (rule index, regex source); a rule may own several.
        self.n_rules = n_rules
        self._db: Any = None
        self._pattern_rule: list[int] = []
        always: set[int] = set()
        if use_hyperscan and _hs is not None and patterns:
            ok, bad = _compile_checked([widen(p) for _, p in patterns])
            for idx in bad:
                always.add(patterns[idx][0])
            if ok:
                self._pattern_rule = [patterns[i][0] for i in ok]
                self._db = _load_or_compile([widen(patterns[i][1]) for i in ok])
        else:
            always.update(r for r, _ in patterns)
        self.always: tuple[int, ...] = tuple(sorted(always))
        self.uses_hyperscan = self._db is not None

    def scan(self, buf: bytes) -> dict[int, list[int]]:
        """``buf`` holds lines joined by ``\\n`` (valid UTF-8, no ``\\r``).
        Returns line index -> sorted rule indexes, for lines with candidates
        beyond ``always`` (which the caller tries on every line)."""
        if self._db is None:
            return {}
        found: list[tuple[int, int]] = []
        append = found.append

        def on_match(pid: int, start: int, end: int, flags: int, ctx: object) -> None:
            append((end, pid))

        self._db.scan(buf, match_event_handler=on_match)
        if not found:
            return {}
        found.sort()
        hits: dict[int, set[int]] = {}
        rule_of = self._pattern_rule
        line, pos = 0, 0
        for end, pid in found:
            # the match's last character decides its line
            last = max(end - 1, 0)
            if last > pos:
                line += buf.count(b"\n", pos, last)
                pos = last
            hits.setdefault(line, set()).add(rule_of[pid])
        return {k: sorted(v) for k, v in hits.items()}


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


def _compile_checked(exprs: Sequence[str]) -> tuple[list[int], list[int]]:
    """Indexes that compile and those Hyperscan rejects (tried one by one only on failure)."""
    try:
        _compile(exprs)
        return list(range(len(exprs))), []
    except Exception:
        ok, bad = [], []
        for i, e in enumerate(exprs):
            try:
                _compile([e])
                ok.append(i)
            except Exception:
                bad.append(i)
        return ok, bad


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "corpus-cleaner"


def _load_or_compile(exprs: Sequence[str]) -> Any:
    """Compiling takes a fraction of a second per hundred patterns; the
    compiled database is cached on disk, keyed by the patterns and flags."""
    assert _hs is not None
    key = hashlib.sha256(
        repr((getattr(_hs, "__version__", ""), _flags(), list(exprs))).encode("utf-8")
    ).hexdigest()[:32]
    path = _cache_dir() / f"hs-{key}.db"
    if os.environ.get("CLEANER_NO_CACHE") != "1":
        try:
            return _hs.loadb(path.read_bytes())
        except Exception:
            pass
    db = _compile(exprs)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".hs-")
        with os.fdopen(fd, "wb") as f:
            f.write(_hs.dumpb(db))
        os.replace(tmp, path)
    except OSError:
        pass  # a read-only home only costs compile time
    return db
