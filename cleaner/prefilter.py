"""Find, in one pass over a batch of lines, which rules could match which lines.

The full ``regex`` pattern of a rule then runs only on the lines where its
prefilter fired. With Hyperscan, all patterns are scanned at once over the
whole batch; the patterns are first widened (``\\w`` to ASCII word characters
plus any non-ASCII character, ``\\b`` dropped, ...) so that Hyperscan needs no
Unicode tables, which keeps compilation fast, while every line the real
pattern matches is still reported. Rules Hyperscan cannot compile are checked
on every line. Without Hyperscan (or with ``Config(use_hyperscan=False)``),
``literals.LiteralPrefilter`` reports the lines holding one of a rule's
required literals: slower, same output. ``CLEANER_PREFILTER`` (see
``prefilter_mode``) forces either, or none.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import tempfile
import time
from array import array
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import regex

from . import literals
from .dedup import speedup
from .files import cache_dir, cache_on, write_cache
from .literals import LiteralPrefilter

_hs: Any
try:  # optional speed-up: wheels exist for the common platforms only
    import hyperscan as _hs
except ImportError:  # pragma: no cover - depends on the platform
    _hs = None

# hyperscan 0.7.23 and later bundle Vectorscan 5.4.12, which misses matches
# once earlier lines of a buffer have been scanned (a multi-line ^ after some
# lines; many-pattern databases): see benchmarks/prefilter_check.py. A
# prefilter that misses changes the output, so other builds are not used.
GOOD_HYPERSCAN = ((0, 7, 13), (0, 7, 23))  # [from, to)
# Word tiers count the words of a line's first bytes only (see ``scan``).
WORD_COUNT_PREFIX = 4096


PREFILTER_MODES = ("auto", "hyperscan", "literal", "none")


def prefilter_mode() -> str:
    """``CLEANER_PREFILTER``: ``auto`` (default; also ``hyperscan``):
    Hyperscan where usable and allowed (``Config.use_hyperscan``), else the
    required-literal prefilter; ``literal``: the literal one even where
    Hyperscan is usable; ``none``: every rule's regex on every line (for
    checks and benchmarks). An unknown value counts as ``auto``."""
    mode = os.environ.get("CLEANER_PREFILTER", "auto").strip().lower() or "auto"
    if mode not in PREFILTER_MODES:
        if mode not in _WARNED:  # every mode gives the same output: say so once, go on
            _WARNED.add(mode)
            logging.getLogger("cleaner").warning(
                "CLEANER_PREFILTER=%s is not one of %s; using auto", mode, ", ".join(PREFILTER_MODES))
        return "auto"
    return mode


_WARNED: set[str] = set()


def hyperscan_status() -> str:
    """One line for --version and the benchmarks: which prefilter is used?"""
    mode = prefilter_mode()
    if mode == "none":
        return "prefilter: none (CLEANER_PREFILTER=none: every rule's regex runs on every line)"
    if mode == "literal":
        return "prefilter: required literals (CLEANER_PREFILTER=literal)"
    if _hs is None:
        return "hyperscan: not installed (prefilter: required literals)"
    version = getattr(_hs, "__version__", "?")
    if not _usable_version(version):
        return (f"hyperscan {version}: not used, a version known to miss matches (pip install 'hyperscan<0.7.23');"
                " prefilter: required literals")
    return f"hyperscan {version}: used as the rule prefilter"


def _usable_version(version: str) -> bool:
    try:
        parts = tuple(int(x) for x in version.split(".")[:3])
    except ValueError:
        return False
    return GOOD_HYPERSCAN[0] <= parts < GOOD_HYPERSCAN[1]


_hs_usable = _hs is not None and _usable_version(getattr(_hs, "__version__", ""))

_ANY_NON_ASCII = r"\x{80}-\x{10FFFF}"
# Every character the regex module's \s matches beyond ASCII. The scan
# buffer has each of them replaced by one ASCII space (line breaks do not
# move, so match offsets still give line numbers), which lets the widened
# patterns treat \s as ASCII whitespace: a far cheaper automaton.
_UNICODE_SPACES = [chr(c) for c in (0x85, 0xA0, 0x1680, *range(0x2000, 0x200B), 0x2028, 0x2029, 0x202F, 0x205F, 0x3000)]
_UNICODE_SPACES_UTF8 = [c.encode("utf-8") for c in _UNICODE_SPACES]
_ASCII_SPACE = r"\x{9}\x{b}-\x{d}\x{20}"  # no \n: a line never holds one
# What the word tiers split words at (bytes.split on the scan buffer).
_BLANKS = frozenset("\t\x0b\x0c\r " + "".join(_UNICODE_SPACES))
_CODEPOINT_ESCAPE = regex.compile(r"\\(?:x([0-9A-Fa-f]{2})|x\{([0-9A-Fa-f]+)\}|u([0-9A-Fa-f]{4})|U([0-9A-Fa-f]{8}))")


_UNICODE_SPACE_BYTES = re.compile(b"|".join(re.escape(sp) for sp in _UNICODE_SPACES_UTF8))  # stdlib re: faster here


def canonical(buf: bytes) -> bytes:
    """The scan buffer: Unicode spaces replaced by ASCII spaces."""
    if buf.isascii():
        return buf
    return _UNICODE_SPACE_BYTES.sub(b" ", buf)


# Under (?i) the regex module matches these non-ASCII letters for ASCII ones
# and back (found by trying every code point): the widened patterns list
# them explicitly, as Hyperscan's caseless mode does not.
_FOLD_TO_ASCII = {"\u0130": "iI", "\u0131": "iI", "\u017f": "sS", "\u212a": "kK"}
_FOLD_UTF8 = [c.encode("utf-8") for c in _FOLD_TO_ASCII]
_FOLD_FROM_ASCII = {a: "".join(f"\\x{{{ord(c):x}}}" for c, letters in _FOLD_TO_ASCII.items() if a in letters)
                    for a in "iIsSkK"}
# A group opening ("(?i)", "(?:", "(?P<name>", "(?=" ...): copied as it is.
_GROUP_OPEN = regex.compile(r"\(\?(?:[a-zA-Z]*(?:-[a-zA-Z]+)?[:)]|P?<[A-Za-z_]\w*>|P=\w+\)|<?[=!]|>|\|)")
# Line anchors become the line break itself: the scan buffer starts and ends
# with one, so Hyperscan needs no multi-line mode. Hyperscan 0.9.1 was seen
# to miss ^-anchored matches after some earlier lines in multi-line mode
# (even with one pattern per database); plain \n literals do not.
_LINE_EDGE = "\\n"
_OUTSIDE = {"A": _LINE_EDGE, "Z": _LINE_EDGE, "z": _LINE_EDGE, "b": "", "B": "", "G": ""}
# Counted repeats above this bound become * or + : a superset, and far
# cheaper for Hyperscan to compile than {0,120} over UTF-8.
_MAX_COUNT = 4
_COUNTED = regex.compile(r"\{(\d*)(?:,(\d*))?\}")
_PROPERTY = regex.compile(r"\\([pP])(\{[^}]*\}|[A-Za-z])")
# a V1 flag turns [[a-z]--[aeiou]] into set operations this does not parse
_VERSION1 = regex.compile(r"\(\?[a-zA-Z]*V1")


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


def _literal(ch: str, in_class: bool, negated: bool, folds: bool = True) -> str:
    """One literal character of the pattern, widened (``folds``: with the
    non-ASCII letters an ASCII one matches under (?i))."""
    if ch in _UNICODE_SPACES:  # the scan buffer holds an ASCII space there
        return _ASCII_SPACE if in_class else f"[{_ASCII_SPACE}]"
    if not ch.isascii():
        # any non-ASCII character (inside a negated class: dropped), plus
        # the ASCII letters it matches under (?i). Hyperscan 0.9.1 in
        # UTF-8 mode was seen to miss lines with non-ASCII literals.
        if in_class and negated:
            return ""
        body = _ANY_NON_ASCII + _FOLD_TO_ASCII.get(ch, "")
        return body if in_class else f"[{body}]"
    esc = f"\\x{{{ord(ch):x}}}" if not ch.isalnum() else ch
    if folds and ch in _FOLD_FROM_ASCII and not in_class:
        return f"[{esc}{_FOLD_FROM_ASCII[ch]}]"
    return esc


def _class_folds(cls: str, folds: bool = True) -> str:
    """The extra members a non-negated class needs for the (?i) letter folds
    (``folds`` false: only the ASCII ones)."""
    try:
        pat = regex.compile("(?i)" + cls)
    except regex.error:
        return ("".join(_FOLD_FROM_ASCII.values()) if folds else "") + "iIsSkK"
    out = [_FOLD_FROM_ASCII[a] for a in "iIsSkK" if folds and pat.fullmatch(a)]
    out += [_FOLD_TO_ASCII[c] for c in _FOLD_TO_ASCII if pat.fullmatch(c)]
    return "".join(dict.fromkeys(out))


def widen(pattern: str, folds: bool = True) -> str:
    """Rewrite a ``regex`` pattern into a Hyperscan pattern that matches at
    least every line the original matches, with no Unicode property tables:
    a Unicode class becomes its ASCII members plus every non-ASCII character
    (inside a negated class: its ASCII members only), word boundaries are
    dropped, line anchors become line breaks and long counted repeats become
    ``*``/``+``. Raises ``Unwidenable`` for the few constructs this cannot
    handle. With ``folds`` false the result holds only for text without the
    four non-ASCII letters of ``_FOLD_TO_ASCII`` (a cheaper automaton)."""
    if _VERSION1.search(pattern):
        raise Unwidenable("version 1 syntax (nested sets, set operations)")
    out: list[str] = []
    i, n = 0, len(pattern)
    in_class = negated = False
    class_start = class_out = 0
    while i < n:
        c = pattern[i]
        if not in_class and c == "(":
            m = _GROUP_OPEN.match(pattern, i)
            if m:
                out.append(m.group(0))
                i = m.end()
                continue
        if c == "\\" and i + 1 < n:
            e = pattern[i + 1]
            cp = _CODEPOINT_ESCAPE.match(pattern, i)
            if cp:
                out.append(_literal(chr(int(next(g for g in cp.groups() if g), 16)), in_class, negated, folds))
                i = cp.end()
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
            elif e.isalnum() or e.isspace():  # \n, \t ... (a letter escape with a meaning)
                out.append(esc)
            else:  # an escaped literal: \. \( \' ...
                out.append(_literal(e, in_class, negated, folds))
            continue
        if in_class:
            if c == "[" and pattern[i + 1:i + 2] in (":", "=", "."):
                raise Unwidenable("a POSIX class ([[:space:]] ...)")
            if c == "]" and not (out and out[-1] in ("[", "[^")):
                in_class = False
                if not negated:  # first, so that a trailing "-" stays literal
                    out.insert(class_out, _class_folds(pattern[class_start:i + 1], folds))
                out.append("]")
                i += 1
                continue
            if c == "-" or c == "^":
                out.append("\\" + c if c == "^" else c)
            else:
                out.append(_literal(c, in_class, negated, folds))
            i += 1
            continue
        if c == "{":
            m = _COUNTED.match(pattern, i)
            if m and (m.group(1) or m.group(2) is not None):  # regex reads {,n} as {0,n}, Hyperscan as text
                lo = int(m.group(1) or 0)
                hi = lo if m.group(2) is None else (int(m.group(2)) if m.group(2) else None)
                if hi is None or hi > _MAX_COUNT or lo > _MAX_COUNT:
                    out.append("*" if lo == 0 else "+")
                else:
                    out.append(f"{{{lo}}}" if hi == lo else f"{{{lo},{hi}}}")
                i = m.end()
                continue
            out.append("\\{")  # "{" or "{}": literal text to regex
            i += 1
            continue
        if c in "^$":
            out.append(_LINE_EDGE)
        elif c == "[":
            in_class, negated = True, pattern.startswith("[^", i)
            class_start = i
            if negated and _excludes_ascii_space(pattern, i + 2):
                # [^ ] matches a non-breaking space, which the scan buffer turned into " "
                raise Unwidenable("a negated class that excludes ASCII whitespace but not \\s")
            out.append("[^" if negated else "[")
            class_out = len(out)
            i += 2 if negated else 1
            if pattern.startswith("]", i):  # a leading ] is a member
                out.append("\\]")
                i += 1
            continue
        elif c in "().|*+?":
            out.append(c)
        else:
            out.append(_literal(c, in_class, negated, folds))
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


# Rules limited to at most N words scan only the lines that short: long
# article lines carry most of the bytes and meet few rules. A pattern goes
# to the smallest tier that holds its rule's limit or the most words of a
# line it can match (``literals.line_words``), the lower (lines of <= 12
# words are about 4% of a news stream's bytes, <= 24 about 8%, <= 40 about
# 27%). The 24-word tier spares a third of the 40-word one's patterns the
# lines of 25-40 words: 6% fewer prefilter instructions, for a fourth scan.
WORD_TIERS = (12, 24, 40)


class Prefilter:
    """Maps a batch of lines to the rules worth trying on each line."""

    def __init__(self, patterns: Sequence[tuple[int, str]], *, use_hyperscan: bool = True,
                 groups: Sequence[int] = (), max_words: Sequence[int | None] = ()) -> None:
        # patterns: (rule index, regex source); a rule may own several.
        # groups[rule]: rules of one group share databases (the default
        # pack, user rule files), so editing a user file does not recompile
        # the pack. max_words[rule]: the rule never matches longer lines.
        # Databases are cached on disk.
        # tier -> [(database, rule of each pattern id)]; tier None: every line.
        # Two sets: _full for any text, _fast for text without the letters
        # of _FOLD_TO_ASCII (nearly all text; its automata are cheaper).
        # _blank: the blank-led halves of every tier's _fast patterns (see
        # _split_lead), scanned over every blank-led line: those are few.
        self._full: dict[int | None, list[_Database]] = {}
        self._fast: dict[int | None, list[_Database]] = {}
        self._blank: list[_Database] = []
        always: set[int] = set()
        self._literal: LiteralPrefilter | None = None
        mode = prefilter_mode()
        if use_hyperscan and _hs_usable and patterns and mode in ("auto", "hyperscan"):
            by_group: dict[tuple[int, int], list[_Expr]] = {}
            widened = _widened([p for _, p in patterns])
            for rule, pat in patterns:
                pair = widened[pat]
                if pair is None:  # Unwidenable
                    always.add(rule)
                    continue
                full, fast, ends, words, in_bytes = pair
                limit = max_words[rule] if rule < len(max_words) else None
                if words is not None and (limit is None or words < limit):
                    limit = words  # a line that long cannot match: the pattern's own limit
                tier = next((t for t in WORD_TIERS if limit is not None and limit <= t), 0)  # 0: no tier
                group = groups[rule] if rule < len(groups) else 0
                # the byte-mode fast form pays over all lines and the shortest, costs over the others (measured)
                in_bytes = in_bytes if tier in (0, 12) else None
                by_group.setdefault((group, tier), []).append((rule, full, fast, in_bytes, ends))
            for (_, tier), exprs in sorted(by_group.items()):
                dbs = _databases(exprs)
                if dbs is None:  # a pattern Hyperscan rejects: its rule runs on every line
                    bad = {x[0] for x in exprs if _databases([x]) is None}
                    always.update(bad)
                    exprs = [x for x in exprs if x[0] not in bad]
                    dbs = _databases(exprs) if exprs else None
                if dbs is not None:
                    self._full.setdefault(tier or None, []).append(dbs[0])
                    self._fast.setdefault(tier or None, []).append(dbs[1])
                    self._blank += dbs[2:]
                else:  # cannot happen once the rejected patterns are out; never lose a rule
                    always.update(x[0] for x in exprs)
        elif mode != "none" and patterns:
            self._literal = LiteralPrefilter(patterns, max_words, _derived([p for _, p in patterns]))
            always.update(self._literal.always)
        else:
            always.update(r for r, _ in patterns)
        self.always: tuple[int, ...] = tuple(sorted(always))
        self.uses_hyperscan = bool(self._full)
        self.kind = "hyperscan" if self.uses_hyperscan else "literal" if self._literal is not None else "none"
        self._limits = tuple(sorted(t for t in self._fast if t is not None))
        self._most = max(self._limits, default=0)

    def scan(self, buf: bytes) -> dict[int, list[int]]:
        """``buf`` holds lines joined by ``\\n`` (valid UTF-8).
        Returns line index -> sorted rule indexes, for lines with candidates
        beyond ``always`` (which the caller tries on every line)."""
        if not self.uses_hyperscan:
            return self._literal.scan(buf) if self._literal is not None else {}
        padded, special = (_c_scan_buffer or _scan_buffer_py)(buf)
        tiers = self._fast
        pairs = bytearray()  # (line, rule) as native uint32, from every database
        if special:  # the few lines the fast automata may miss: the full ones of their tiers
            # split no further than the last of them (padded starts with a break: line i is item i + 1)
            split = padded.split(b"\n", special[-1] + 2)
            lines = [split[i + 1] for i in special]
            words = [len(line[:WORD_COUNT_PREFIX].split(None, self._most)) for line in lines]
            for limit, dbs in self._full.items():
                fit = [k for k, n in enumerate(words) if limit is None or n <= limit]
                if fit:  # a tier's database is large: touch it only for lines it may match
                    text = b"\n" + b"\n".join([lines[k] for k in fit]) + b"\n"
                    _scan_into(pairs, dbs, text, array("I", [special[k] for k in fit]).tobytes())
        if None in tiers:
            _scan_into(pairs, tiers[None], padded, None)
        with memoryview(padded) as view:
            blank = (_c_blank_led or _blank_led_py)(view[1:-1]) if self._blank else None
            selected = (_c_select_tiers or _select_tiers_py)(view[1:-1], self._limits, WORD_COUNT_PREFIX)
        if blank is not None and blank[1]:
            _scan_into(pairs, self._blank, *blank)
        for limit, (joined, keep) in zip(self._limits, selected, strict=True):
            if keep:
                _scan_into(pairs, tiers[limit], joined, keep)
        return (_c_group_pairs or _group_pairs_py)(pairs)


def _scan_buffer_py(buf: bytes) -> tuple[bytes, list[int]]:
    """The scan buffer, ``b"\\n" + canonical(buf) + b"\\n"`` (line k of
    ``buf`` lies between its k-th and (k+1)-th line break, so anchors, now
    \\n literals, match at both its edges), and the indexes of the lines of
    ``buf`` holding a letter of ``_FOLD_TO_ASCII`` (``_speedups.scan_buffer``
    gives the same)."""
    starts = [] if buf.isascii() else sorted(i for f in _FOLD_UTF8 for i in _find_all(buf, f))
    return b"\n" + canonical(buf) + b"\n", sorted(set(_count_breaks_py(buf, starts)))


def _find_all(buf: bytes, sub: bytes) -> list[int]:
    """The offsets of ``sub`` in ``buf`` (``sub`` cannot overlap itself)."""
    out: list[int] = []
    i = buf.find(sub)
    while i >= 0:
        out.append(i)
        i = buf.find(sub, i + len(sub))
    return out


def _select_tiers_py(buf: bytes | memoryview, limits: tuple[int, ...],
                     prefix: int) -> list[tuple[bytes, bytes]]:
    """For each limit: the lines whose first ``prefix`` bytes hold at most
    ``limit`` words, joined by \\n between a leading and a trailing \\n,
    and their indexes as native uint32 (``_speedups.select_tiers`` gives the
    same)."""
    # bytes.split() never counts more words than the engine's str.split()
    # (it splits on fewer characters): never too few lines. A prefix can only
    # count fewer words (the line is then scanned in more tiers), and spares
    # a long line the copy of its remainder; the split stops past the limit.
    lines = bytes(buf).split(b"\n")
    most = max(limits, default=0)
    words = [len(line[:prefix].split(None, most)) for line in lines]  # exact up to most + 1
    return [_picked(lines, [i for i, n in enumerate(words) if n <= limit]) for limit in limits]


def _blank_led_py(buf: bytes | memoryview) -> tuple[bytes, bytes]:
    """The lines that start with an ASCII blank, joined by \\n between a
    leading and a trailing \\n, and their indexes as native uint32
    (``_speedups.blank_led`` gives the same)."""
    lines = bytes(buf).split(b"\n")
    return _picked(lines, [i for i, line in enumerate(lines) if line[:1].isspace()])


def _picked(lines: list[bytes], keep: list[int]) -> tuple[bytes, bytes]:
    """Lines ``keep`` as a scan buffer (joined by \n between a leading and a
    trailing \n) and their indexes as native uint32."""
    return b"\n" + b"\n".join([lines[i] for i in keep]) + b"\n", array("I", keep).tobytes()


def _on_match_py(pid: int, start: int, end: int, flags: int, found: bytearray) -> None:
    """A Hyperscan match handler: the match's end and pattern id, appended to
    ``found`` as native uint32 (``_speedups.on_match`` does the same)."""
    found += array("I", (end, pid)).tobytes()


def _match_lines_py(padded: bytes, found: bytearray, rule_of: list[int], line_map: bytes | None,
                    pairs: bytearray, ends: bytes | None = None) -> None:
    """Appends (line, rule) to ``pairs`` for each match of ``found``: the line
    holding its last byte, and the next line too if that byte is a line break
    unless ``ends`` (a byte per pattern id) says the pattern's matches all
    end at their line's end (``_speedups.match_lines`` does the same)."""
    if ends is not None and len(ends) != len(rule_of):
        raise ValueError("match_lines: ends must hold one byte per rule_of item")
    at_end = array("I", found)
    if not all(1 <= end <= len(padded) for end in at_end[::2]):
        raise ValueError("match_lines: a match end out of range")
    lines = None if line_map is None else array("I", line_map)
    counts = _count_breaks_py(padded, [end - 1 for end in at_end[::2]] + [len(padded)])
    n_lines = counts.pop() - 1  # lines lie between line breaks
    for end, pid, breaks in zip(at_end[::2], at_end[1::2], counts, strict=True):
        line = breaks - 1
        touched = [line] if 0 <= line < n_lines else []
        # a line break ends one line and starts the next
        if padded[end - 1] == 0x0A and breaks < n_lines and not (ends is not None and ends[pid]):
            touched.append(breaks)
        for k in touched:
            pairs += array("I", (k if lines is None else lines[k], rule_of[pid])).tobytes()


def _group_pairs_py(pairs: bytearray) -> dict[int, list[int]]:
    """line -> its distinct rules, ascending, from (line, rule) native uint32
    pairs; lines ascending (``_speedups.group_pairs`` gives the same)."""
    values = array("I", pairs)
    if len(values) % 2:
        raise ValueError("group_pairs: an odd number of uint32")
    grouped: dict[int, set[int]] = {}
    for line, rule in zip(values[::2], values[1::2], strict=True):
        grouped.setdefault(line, set()).add(rule)
    return {line: sorted(grouped[line]) for line in sorted(grouped)}


# ``_speedups``' versions of the functions above, or None (``dedup.speedup``)
_c_scan_buffer: Callable[[bytes], tuple[bytes, list[int]]] | None = speedup("scan_buffer")
_c_select_tiers: Callable[[bytes | memoryview, tuple[int, ...], int], list[tuple[bytes, bytes]]] | None = (
    speedup("select_tiers"))
_c_blank_led: Callable[[bytes | memoryview], tuple[bytes, bytes]] | None = speedup("blank_led")
_c_on_match: Callable[[int, int, int, int, bytearray], None] | None = speedup("on_match")
_c_match_lines: Callable[[bytes, bytearray, list[int], bytes | None, bytearray, bytes | None], None] | None = (
    speedup("match_lines"))
_c_group_pairs: Callable[[bytearray], dict[int, list[int]]] | None = speedup("group_pairs")


# (Hyperscan database, rule of each pattern id, per id 1 if its matches all
# end at their line's end: see ``_match_lines_py``)
_Database = tuple[Any, list[int], bytes]
_Expr = tuple[int, str, str, str | None, bool]  # (rule, full, fast, fast's byte-mode form, ends lines)
# (full, fast, ends lines, most words, ``bytewise_form`` of fast)
_Widened = tuple[str, str, bool, int | None, str | None]


def _databases(exprs: Sequence[_Expr]) -> tuple[_Database, ...] | None:
    """The full and fast databases of (rule, full, fast, fast's byte-mode
    form, ends) widened patterns: the full one as they are (it scans few
    lines), the fast one the first halves of ``_split_lead`` (of the
    byte-mode forms if all have one) and a third (none if no pattern is
    split) the blank-led halves. None where Hyperscan rejects a pattern."""
    def database(items: list[tuple[int, str, bool]], utf8: bool = True) -> _Database | None:
        db = _load_or_compile([e for _, e, _ in items], utf8)
        return None if db is None else (db, [rule for rule, _, _ in items], bytes(end for _, _, end in items))

    in_bytes = all(b is not None for _, _, _, b, _ in exprs)
    # (a byte-mode form starts \n[blanks]* where its fast form does: split alike)
    heads = [(rule, _split_lead(b if in_bytes and b is not None else f)[0], end) for rule, _, f, b, end in exprs]
    fast = database(heads, utf8=not in_bytes)
    blank = [(rule, parts[1], end) for rule, _, f, _, end in exprs if len(parts := _split_lead(f)) == 2]
    full = database([(rule, e, end) for rule, e, _, _, end in exprs])
    dbs = [full, fast] + ([database(blank)] if blank else [])
    return None if None in dbs else tuple(db for db in dbs if db is not None)


# A widened pattern that starts a line with optional blanks, \n[blanks]*R,
# is scanned as two: \nR over every line and \n[blanks]+R over the lines
# that start with a blank (few), the same lines. Hyperscan can then look for
# \n followed by R's literals, far rarer than R's literals anywhere, and the
# second half, which looks for R's literals anywhere, scans almost nothing.
_LEAD = ("\\n", f"[{_ASCII_SPACE}]*")


def _split_lead(expr: str) -> list[str]:
    flags = "(?i)" if expr.startswith("(?i)") else ""
    head = flags + "".join(_LEAD)
    rest = expr[len(head):]
    # a quantifier on the blanks' * (*? *+ ...) would change what it means
    if not expr.startswith(head) or rest[:1] in ("?", "+", "*", "{"):
        return [expr]
    return [flags + _LEAD[0] + rest, flags + _LEAD[0] + f"[{_ASCII_SPACE}]+" + rest]


# Hyperscan's UTF-8 mode builds larger, slower automata for "any non-ASCII
# character" than its byte mode does for "a byte >= 0x80 and the rest of
# its character". A fast widened pattern names non-ASCII characters only as
# the class range below and in negated classes (whose members are ASCII),
# so in byte mode it only needs each such one-character class or ``.`` to
# take the continuation bytes after it (``*``/``+`` after it do already).
# a run this keeps as it is, a class, an escape or "." (stdlib re: faster here)
_BYTEWISE_TOKEN = re.compile(r"(?:[^\\\[.]|\\x\{[0-9A-Fa-f]+\}|\\[^A-Za-z0-9])+"
                             r"|\[\^?(?:\\x\{[0-9A-Fa-f]+\}|\\.|[^\]\\])*\]|\\.|.", re.S)
_NON_ASCII_RANGE = "\\x{80}-\\x{10FFFF}"
_CONTINUATION = "[\\x{80}-\\x{bf}]*"
_BEYOND_ASCII = re.compile(r"\\x\{0*(?:[89A-Fa-f][0-9A-Fa-f]|[1-9A-Fa-f][0-9A-Fa-f]{2,})\}")  # \x{80} and up
_PLAIN_ESCAPES = frozenset("ntrfvea")  # letter escapes that name one ASCII byte
_CLASS_ESCAPE = re.compile(r"\\([A-Za-z])")  # a letter escape (\x{..}: x), in a class
_COMPLEMENT_ESCAPES = frozenset("xsSWD")  # known in a class: \s is ASCII in the scan buffer
_WIDE_ESCAPES = frozenset("SWD")  # in a class, these hold non-ASCII characters


def bytewise_form(expr: str) -> str | None:
    """A fast widened pattern (``widen(..., folds=False)``) for Hyperscan's
    byte mode, matching at least every line it matches in UTF-8 mode (text
    without the letters of ``_FOLD_TO_ASCII``); None if it holds a construct
    this does not know."""
    rest = expr.replace(_NON_ASCII_RANGE, "")
    if not rest.isascii() or _BEYOND_ASCII.search(rest):
        return None  # a non-ASCII character of its own
    out: list[str] = []
    for m in _BYTEWISE_TOKEN.finditer(expr):
        tok = m.group(0)
        if tok.startswith("[") and len(tok) > 1:
            escapes = set(_CLASS_ESCAPE.findall(tok)) - _PLAIN_ESCAPES
            if escapes - _COMPLEMENT_ESCAPES:
                return None  # \p, \w ...: a set of characters this does not know
            # \S, \W, \D hold non-ASCII characters: the class takes their continuation bytes
            wide = tok.startswith("[^") or _NON_ASCII_RANGE in tok or bool(escapes & _WIDE_ESCAPES)
            tok = tok.replace(_NON_ASCII_RANGE, "\\x{80}-\\x{ff}")
        elif tok == "\\S":  # (no Unicode spaces in the scan buffer)
            tok, wide = "[^\\x{9}-\\x{d}\\x{20}]", True
        elif tok.startswith("\\") and len(tok) == 2 and tok[1].isalnum():
            if tok[1] not in _PLAIN_ESCAPES:  # \W \p ...: a character class of its own
                return None
            wide = False
        else:
            wide = tok == "."
        # one character, unless * or + repeats it (its class holds the continuation bytes)
        if wide and expr[m.end():m.end() + 1] not in ("*", "+"):
            tok = f"(?:{tok}{_CONTINUATION})"
        out.append(tok)
    return "".join(out)


def _widened(patterns: Sequence[str]) -> dict[str, _Widened | None]:
    """Each pattern widened with and without folds, whether its matches all
    end at the line's end (``literals.ends_lines``), the most words of a
    line it matches (``literals.line_words``) and the byte-mode form of the
    fast one (``bytewise_form``), or None: ``Unwidenable``.
    Remembered in the cache, keyed by the source of this module and of
    ``literals.py`` and the versions of regex and Python (its parser) they
    depend on: this costs ~0.4 s per start."""
    import sys

    src = Path(__file__).read_bytes() + Path(literals.__file__).read_bytes()
    ident = hashlib.sha256(src + regex.__version__.encode() + sys.version.encode()).hexdigest()[:32]
    name = f"widen-{ident}.json"
    known = _read_widened(cache_dir() / name) if cache_on() else {}
    if len(known) > WIDEN_CACHE_MAX:  # rule edits pile up entries: start again
        known = {}
    missing = [p for p in dict.fromkeys(patterns) if p not in known]
    for pat in missing:
        try:
            fast = widen(pat, folds=False)
            known[pat] = (widen(pat), fast, literals.ends_lines(pat), literals.line_words(pat, _BLANKS),
                          bytewise_form(fast))
        except Unwidenable:
            known[pat] = None
    if missing:
        write_cache(name, json.dumps(known).encode("utf-8"))
    return known


def _derived(patterns: Sequence[str]) -> dict[str, frozenset[literals.Lit] | None]:
    """Each pattern's required literals (None: none, the rule runs on every
    line). Remembered in the cache like ``_widened``, keyed by the source of
    ``literals.py``, the regex version and the Python version (its parser)."""
    import sys

    src = Path(literals.__file__).read_bytes() + regex.__version__.encode() + sys.version.encode()
    name = f"literals-{hashlib.sha256(src).hexdigest()[:32]}.json"
    known = _read_derived(cache_dir() / name) if cache_on() else {}
    if len(known) > WIDEN_CACHE_MAX:
        known = {}
    missing = [p for p in dict.fromkeys(patterns) if p not in known]
    for pat in missing:
        try:
            known[pat] = literals.required_literals(pat)
        except literals.NoLiterals:
            known[pat] = None
    if missing:
        data = {p: None if v is None else sorted([ci, s] for ci, s in v) for p, v in known.items()}
        write_cache(name, json.dumps(data).encode("utf-8"))
    return known


def _read_derived(path: Path) -> dict[str, frozenset[literals.Lit] | None]:
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    out: dict[str, frozenset[literals.Lit] | None] = {}
    for pat, lits in data.items() if isinstance(data, dict) else ():
        if lits is None:
            out[pat] = None
        elif (isinstance(lits, list) and lits and all(isinstance(x, list) and len(x) == 2 and isinstance(x[0], bool)
                                                      and isinstance(x[1], str) and x[1] for x in lits)):
            out[pat] = frozenset((x[0], x[1]) for x in lits)
        else:
            return {}  # not ours: derive again
    return out


def _read_widened(path: Path) -> dict[str, _Widened | None]:
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    out: dict[str, _Widened | None] = {}
    for pat, item in data.items() if isinstance(data, dict) else ():
        if item is None:
            out[pat] = None
        elif (isinstance(item, list) and len(item) == 5 and isinstance(item[0], str) and isinstance(item[1], str)
              and isinstance(item[2], bool) and (item[3] is None or (type(item[3]) is int and item[3] >= 0))
              and (item[4] is None or isinstance(item[4], str))):
            out[pat] = (item[0], item[1], item[2], item[3], item[4])
        else:
            return {}  # not ours: widen again
    return out


def _scan_into(pairs: bytearray, dbs: list[_Database], padded: bytes, line_map: bytes | None) -> None:
    """Scans ``padded`` (lines between line breaks) with each database and
    appends what matched where to ``pairs`` (see ``_match_lines_py``)."""
    on_match = _c_on_match or _on_match_py
    for db, rule_of, ends in dbs:
        found = bytearray()  # (end, pattern id) as native uint32
        db.scan(padded, match_event_handler=on_match, context=found)
        if found:
            (_c_match_lines or _match_lines_py)(padded, found, rule_of, line_map, pairs, ends)


def _count_breaks_py(buf: bytes, offsets: list[int]) -> list[int]:
    """For each offset, the line breaks in ``buf[:offset]``; fastest with
    ascending offsets (``_speedups.count_breaks`` gives the same)."""
    out: list[int] = []
    breaks = pos = 0  # line breaks in buf[:pos]
    for off in offsets:
        if not 0 <= off <= len(buf):
            raise ValueError("count_breaks: offset out of range")
        if off < pos:  # not ascending: count again from the start
            breaks = pos = 0
        breaks += buf.count(b"\n", pos, off)
        pos = off
        out.append(breaks)
    return out


def _flags(utf8: bool = True) -> int:
    """UTF-8 (else byte mode) prefilter patterns."""
    assert _hs is not None
    return int(_hs.HS_FLAG_UTF8 | _hs.HS_FLAG_PREFILTER) if utf8 else int(_hs.HS_FLAG_PREFILTER)


def _compile(exprs: Sequence[str], utf8: bool = True) -> Any:
    assert _hs is not None
    db = _hs.Database()
    db.compile(
        expressions=[e.encode("utf-8") for e in exprs],
        ids=list(range(len(exprs))),
        elements=len(exprs),
        flags=[_flags(utf8)] * len(exprs),
    )
    return db


def _load_or_compile(exprs: Sequence[str], utf8: bool = True) -> Any:
    """The database of widened patterns (ids in list order), or None if
    Hyperscan rejects one. Databases are cached on disk, keyed by the
    patterns, the flags and the Hyperscan version."""
    assert _hs is not None
    ident = repr((getattr(_hs, "__version__", ""), _flags(utf8), tuple(exprs)))
    key = hashlib.sha256(ident.encode("utf-8")).hexdigest()[:32]
    path = cache_dir() / f"hs1-{key}.db"
    if cache_on():
        try:
            data = path.read_bytes()
            if data == b"rejected":
                return None
            db = _hs.loadb(data, _hs.HS_MODE_BLOCK)
            db.scratch = _hs.Scratch(db)  # a loaded database comes without scratch space
            with contextlib.suppress(OSError):
                os.utime(path)  # the mtime is the last use, for pruning
            return db
        except Exception:
            pass
    try:
        db = _compile(exprs, utf8)
    except Exception:
        db = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".hs-")
        with os.fdopen(fd, "wb") as f:
            f.write(_hs.dumpb(db) if db is not None else b"rejected")
        os.replace(tmp, path)
        _prune(path.parent, keep=path)
    except OSError:
        pass  # a read-only home only costs compile time
    return db


# Every edit of a rule file makes new databases: the cache keeps the most
# recently used ones up to this many bytes, and none unused for this long.
CACHE_MAX_BYTES = 256 * 1024 * 1024
CACHE_MAX_AGE_S = 30 * 24 * 3600
WIDEN_CACHE_MAX = 20_000  # remembered widened patterns


def _prune(folder: Path, keep: Path) -> None:
    now = time.time()
    files = []
    for f in [*folder.glob("hs1-*.db"), *folder.glob("widen-*.json"), *folder.glob("literals-*.json"),
              *folder.glob("speedups-*.bin"), *folder.glob("toml-*.json")]:
        try:
            st = f.stat()
        except OSError:
            continue  # removed by another process meanwhile
        files.append((st.st_mtime, st.st_size, f))
    files.sort(reverse=True)  # most recently used first
    total = 0
    for mtime, size, f in files:
        total += size
        if f != keep and (total > CACHE_MAX_BYTES or now - mtime > CACHE_MAX_AGE_S):
            with contextlib.suppress(OSError):
                f.unlink()
