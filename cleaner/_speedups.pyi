from array import array
from collections.abc import Iterable
from typing import Any

from .context import LineFeatures, Verdict

RECORD_SIZE: int
FOLD_MAX: int

def near_fingerprints(text: str, ngram: int, k: int, near_min_words: int, /) -> tuple[int, list[int], int] | None: ...
def exact_fingerprint(text: str, /) -> int | None: ...
def xxh3_64(data: bytes, /) -> int: ...
def word_count(text: str, /) -> int: ...
def viterbi_forward(
    scores: list[float], va: float, vj: float, switch: float, back: bytearray, /
) -> tuple[float, float]: ...
def viterbi_trace(back: bytearray, n: int, state: bool, /) -> list[bool]: ...
def classify_lines(
    line_class: LineClass, lines: list[Any], start: int, stop: StopSet | None,
    crossdoc: tuple[list[array[int]], int, set[int] | None, int] | None, seen: set[str] | None,
    consts: tuple[object, ...], /,
) -> tuple[int, int, int]: ...
def context_lines(
    lines: list[Any], start: int, stop: int, prev: Any, consts: tuple[object, ...], /
) -> tuple[Any, list[float]]: ...
def verdict_lines(
    lines: list[Any], art: list[bool], end: int, consts: tuple[object, ...], flags: int,
    own: tuple[LineClass, StopSet | None, tuple[list[array[int]], int] | None] | None, /
) -> tuple[list[Verdict | None], list[int]]: ...
def setup(table: bytes, /) -> None: ...
def crossdoc_see(
    text: str, rows: list[array[int]], bits: int, pending: set[int] | None, max_pending: int, /
) -> int: ...
def crossdoc_count_doc(rows: list[array[int]], bits: int, pending: set[int], /) -> None: ...

# cleaner.index, cleaner.matcher
def probe(
    key: int, sketch: list[int], threshold: float, pid: int, exact_recent: dict[int, int], exact_runs: RunSet,
    near_recent: dict[int, int], near_runs: RunSet, /
) -> int | list[int] | None: ...
def dict_columns(recent: dict[int, int], key_bytes: int, /) -> tuple[bytes, bytes]: ...

class RunSet:
    def __init__(
        self, key_bytes: int, filter: object, shift: int, runs: list[tuple[object, object, int]], /
    ) -> None: ...
    def get(self, key: object, default: object = None, /) -> object: ...
    def owners(self, keys: list[int], recent: dict[int, int], /) -> list[int]: ...

# cleaner.prefilter

class StopSet:
    def __init__(self, words: Iterable[str], values: Iterable[int] | None = None, /) -> None: ...
    def has(self, word: str, /) -> bool: ...
    def get(self, word: str, /) -> int: ...
    def tally(self, text: str, limit: int, min_words: int, counts: list[int], /) -> int: ...

class Line:
    """context._Line in C."""

    art: bool
    feat: LineFeatures
    fixed: str | None
    index: int
    kind: str
    rep: bool
    score: float
    text: str
    why: str
    def __init__(self, index: int, text: str, fixed: str | None, /) -> None: ...

class LineClass:
    def __init__(
        self,
        params: tuple[float | int | bool, ...],
        constants: tuple[float | int, ...],
        chars: tuple[str, str, str, str, tuple[str, ...]],
        kinds: tuple[str, str, str, str, str, str],
        whys: tuple[str, str, str, str, str, str],
        features: type[tuple[object, ...]],
        /,
    ) -> None: ...
    def classify(
        self, text: str, stop: StopSet | None, xdocs: int, /
    ) -> tuple[str, str, float, LineFeatures, bool] | None: ...
