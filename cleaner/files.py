"""Files: safe in-place rewrites, output folders, and telling text from binary."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO

# A file is binary when it holds a NUL byte anywhere, or when more than
# BINARY_INVALID_SHARE of its first SNIFF_BYTES are not valid UTF-8: scraped
# text has a few bad bytes at most, images and archives are mostly "invalid".
SNIFF_BYTES = 1 << 16
BINARY_INVALID_SHARE = 0.10


def cache_dir() -> Path:
    """Where compiled rule data is cached (``$XDG_CACHE_HOME/corpus-cleaner``)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "corpus-cleaner"


def cache_on() -> bool:
    """Whether the cache is used (``CLEANER_NO_CACHE=1``: nothing is read from or written to it)."""
    return os.environ.get("CLEANER_NO_CACHE") != "1"


def read_cache(name: str) -> bytes | None:
    """A file of the cache folder; None when the cache is off or it cannot be read."""
    if not cache_on():
        return None
    try:
        return (cache_dir() / name).read_bytes()
    except OSError:
        return None


def write_cache(name: str, data: bytes) -> None:
    """Replace a file of the cache folder atomically; nothing when the cache
    is off, and a home that cannot be written to only costs the work again."""
    if not cache_on():
        return
    path = cache_dir() / name
    with suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, data)


def is_binary(head: bytes) -> bool:
    """Judge a file by its first bytes (see SNIFF_BYTES)."""
    if b"\0" in head:
        return True
    if head.isascii():
        return False
    text = head.decode("utf-8", "replace")
    # a multi-byte character cut at the end of the sample is not invalid
    bad = text[:-4].count("\ufffd")
    return bad > BINARY_INVALID_SHARE * max(len(head), 1)


def sniff(path: str | os.PathLike[str]) -> bool:
    """Is the file binary (see above)? Decided before any of it is cleaned,
    so a NUL byte deep in the file cannot leave a half-cleaned file behind
    or duplicate state fed from it; the scan for NUL runs at memchr speed."""
    with open(path, "rb") as f:
        if is_binary(f.read(SNIFF_BYTES)):
            return True
        while block := f.read(1 << 20):
            if b"\0" in block:
                return True
    return False


@contextmanager
def atomic_writer(path: str | os.PathLike[str], *, like: str | os.PathLike[str] | None = None) -> Iterator[IO[bytes]]:
    """Write ``path`` so that a crash at any moment leaves either the old file
    or the new one: a temporary file in the same folder, flushed and fsynced,
    given the permissions of ``like`` (default: the original), renamed over
    the original when the block ends without an exception."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".clean-tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        src = Path(like) if like is not None else path
        # mkstemp makes the file 0600; a new file gets what open() would give it
        os.chmod(tmp, src.stat().st_mode & 0o7777 if src.exists() else 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        with suppress(OSError):
            os.unlink(tmp)
        raise


def _umask() -> int:
    mask = os.umask(0o022)  # reading the umask means setting it; put it back at once
    os.umask(mask)
    return mask


def write_atomic(path: str | os.PathLike[str], data: bytes, *, like: str | os.PathLike[str] | None = None) -> None:
    """Replace ``path`` with ``data`` atomically (see ``atomic_writer``)."""
    with atomic_writer(path, like=like) as f:
        f.write(data)


def in_place_path(name: str) -> Path:
    """The file an in-place rewrite replaces: a symlink's target, so the
    link stays a link (renaming over the link itself would turn it into a
    copy and leave the target dirty)."""
    return Path(os.path.realpath(name))


def out_path(out_dir: str | os.PathLike[str], name: str) -> Path:
    """Where ``--out-dir`` puts the output of input ``name``: the same
    relative path under the folder (absolute inputs lose their root)."""
    rel = Path(name)
    if rel.is_absolute():
        rel = rel.relative_to(rel.anchor)
    parts = [p for p in rel.parts if p not in ("..", ".")]
    return Path(out_dir, *parts)
