"""JSON Lines: clean one text field of each record, keep the rest and the order.

A record's line is written back with only the text field's value replaced;
every other byte of it (other fields, key order, number spellings, escapes,
spacing) is kept, and a record whose text does not change is written back
as it came. Each output line ends with a newline.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any

from .errors import InputError
from .explain import Decision, Stats

ON_ERROR = ("stop", "skip")


@dataclass(frozen=True)
class JsonlOptions:
    """``--jsonl`` settings: which field holds the text, which one names the
    record (for explain and duplicate ownership), what to do with bad lines."""

    text_field: str = "text"
    id_field: str | None = None
    on_error: str = "stop"
    drop_empty: bool = False

    def __post_init__(self) -> None:
        if self.on_error not in ON_ERROR:
            raise ValueError(f"on_error must be one of {', '.join(ON_ERROR)}; got {self.on_error!r}")


class RecordError(InputError):
    """A JSON Lines record could not be read (with its line number)."""


def parse_record(line: str, opts: JsonlOptions) -> dict[str, Any]:
    """The record of one line, or ``ValueError`` saying what is wrong with it."""
    obj = json.loads(line)
    if not isinstance(obj, dict):
        raise ValueError("not a JSON object")
    if not isinstance(obj.get(opts.text_field), str):
        raise ValueError(f"field {opts.text_field!r} is missing or not a string")
    return obj


_DECODER = json.JSONDecoder()


def _skip_ws(line: str, pos: int) -> int:
    while pos < len(line) and line[pos] in " \t\n\r":
        pos += 1
    return pos


def value_span(line: str, key: str) -> tuple[int, int]:
    """Start and end of the value of top-level ``key`` in ``line``, a JSON
    object json.loads has already read (so well formed); of a repeated key,
    the last, as json.loads keeps. (-1, -1) if the key is absent."""
    pos = _skip_ws(line, _skip_ws(line, 0) + 1)  # past "{"
    span = (-1, -1)
    while line[pos] == '"':
        name, pos = _DECODER.raw_decode(line, pos)
        pos = _skip_ws(line, _skip_ws(line, pos) + 1)  # past ":"
        _, end = _DECODER.raw_decode(line, pos)
        if name == key:
            span = (pos, end)
        pos = _skip_ws(line, end)
        if line[pos] == ",":
            pos = _skip_ws(line, pos + 1)
    return span


def replace_value(line: str, key: str, value: str) -> bytes:
    """``line`` with the string value of ``key`` replaced, as UTF-8."""
    start, end = value_span(line, key)
    try:
        return (line[:start] + json.dumps(value, ensure_ascii=False) + line[end:]).encode("utf-8")
    except UnicodeEncodeError:
        # lone surrogates (\udc80-\udcff escapes survive cleaning): keep them escaped
        return (line[:start] + json.dumps(value) + line[end:]).encode("utf-8")


def record_id(obj: dict[str, Any], opts: JsonlOptions, source: str, number: int) -> str:
    if opts.id_field is not None and opts.id_field in obj:
        return str(obj[opts.id_field])
    return f"{source}#{number}"


def clean_jsonl(
    clean: Callable[[str, str, Callable[[Decision], None] | None], str],
    lines: Iterable[bytes],
    source: str,
    opts: JsonlOptions,
    stats: Stats,
    sink: Callable[[Decision], None] | None = None,
    rejects: IO[bytes] | None = None,
) -> Iterator[tuple[bytes, bool]]:
    """Yield (output line, changed) per record; ``clean(text, doc_id, sink)``
    cleans one document. Blank lines are not records and are passed over."""
    for number, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        try:
            line = raw.decode("utf-8")
            obj = parse_record(line, opts)
            text = obj[opts.text_field]
            try:
                cleaned = clean(text, record_id(obj, opts, source, number), sink)
            except UnicodeEncodeError:
                # an escape like \ud800 alone: valid JSON syntax, but not Unicode text
                raise ValueError(f"field {opts.text_field!r} holds a lone surrogate, not Unicode text") from None
        except ValueError as e:  # UnicodeDecodeError and JSONDecodeError included
            if opts.on_error == "stop":
                raise RecordError(f"{source}:{number}: bad JSON Lines record: {e} "
                                  "(use --on-error skip to set such lines aside)") from None
            stats.rejected += 1
            if rejects is not None:
                rejects.write(raw if raw.endswith(b"\n") else raw + b"\n")
            continue
        if not cleaned and opts.drop_empty:
            stats.dropped_records += 1
            yield b"", True
            continue
        if cleaned == text:
            yield (raw if raw.endswith(b"\n") else raw + b"\n"), False
            continue
        out = replace_value(line, opts.text_field, cleaned)
        yield (out if out.endswith(b"\n") else out + b"\n"), True
