from array import array
from collections.abc import Iterable

from .context import LineFeatures

RECORD_SIZE: int
FOLD_MAX: int

def near_fingerprints(text: str, ngram: int, k: int, near_min_words: int, /) -> tuple[int, list[int], int] | None: ...
def exact_fingerprint(text: str, /) -> int | None: ...
def xxh3_64(data: bytes, /) -> int: ...
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
    def __init__(self, words: Iterable[str], /) -> None: ...
    def has(self, word: str, /) -> bool: ...

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
