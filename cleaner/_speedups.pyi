from collections.abc import Callable, Iterable

from .context import LineFeatures

RECORD_SIZE: int
FOLD_MAX: int

def near_fingerprints(text: str, ngram: int, k: int, near_min_words: int, /) -> tuple[int, list[int], int] | None: ...
def exact_fingerprint(text: str, /) -> int | None: ...
def xxh3_64(data: bytes, /) -> int: ...
def setup(table: bytes, long_hash: Callable[[bytes], int], /) -> None: ...

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
