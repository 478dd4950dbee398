"""JSON Lines: clean one text field of each record, keep the rest and the order."""

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


def parse_record(line: bytes, opts: JsonlOptions) -> dict[str, Any]:
    """The record of one line, or ``ValueError`` saying what is wrong with it."""
    obj = json.loads(line)
    if not isinstance(obj, dict):
        raise ValueError("not a JSON object")
    if not isinstance(obj.get(opts.text_field), str):
        raise ValueError(f"field {opts.text_field!r} is missing or not a string")
    return obj


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
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            obj = parse_record(line, opts)
        except ValueError as e:
            if opts.on_error == "stop":
                raise RecordError(f"{source}:{number}: bad JSON Lines record: {e} "
                                  "(use --on-error skip to set such lines aside)") from None
            stats.rejected += 1
            if rejects is not None:
                rejects.write(line if line.endswith(b"\n") else line + b"\n")
            continue
        text = obj[opts.text_field]
        cleaned = clean(text, record_id(obj, opts, source, number), sink)
        changed = cleaned != text
        if not cleaned and opts.drop_empty:
            stats.dropped_records += 1
            yield b"", True
            continue
        obj[opts.text_field] = cleaned
        yield (json.dumps(obj, ensure_ascii=False) + "\n").encode("utf-8", "surrogateescape"), changed
