"""A one-line progress bar on stderr for runs over many files or long ones."""

from __future__ import annotations

import os
import stat
import sys
import time
from typing import IO

WIDTH = 24  # characters of the bar itself
REDRAW = 0.1  # seconds between redraws at most
LONG_RUN = 1.0  # seconds a one-file run lasts before its bar appears


class Progress:
    """``clean: [#########-------]  56%  3/5 files  67.1/120.0 MB  11.8 MB/s``

    Files and bytes read so far against the totals (bytes only when the size
    is unknown). Nothing is drawn before ``delay`` seconds have passed, so a
    short run does not flicker and a long one still shows where it is.
    ``clear`` erases the line before other output goes to the terminal.
    """

    def __init__(self, files: int, total_bytes: int | None, *, enabled: bool, delay: float = 0.0,
                 out: IO[str] | None = None) -> None:
        self.files = files
        self.total = total_bytes
        self.enabled = enabled
        self.delay = delay
        self.out = out if out is not None else sys.stderr
        self.count = 0
        self.bytes = 0
        self.start = time.monotonic()
        self.last = -1.0
        self.shown = False

    def advance(self, nbytes: int) -> None:
        """``nbytes`` more of the input were read."""
        self.bytes += nbytes
        self._draw(final=False)

    def step(self) -> None:
        """One more input is done."""
        self.count += 1
        self._draw(final=self.count == self.files)

    def _draw(self, *, final: bool) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        elapsed = now - self.start
        if elapsed < self.delay or (not final and now - self.last < REDRAW):
            return
        self.last = now
        mb = self.bytes / 1e6
        speed = f"{mb / elapsed:.1f} MB/s" if elapsed > 0 else ""
        if self.total:
            share = min(self.bytes / self.total, 1.0)
            full = int(share * WIDTH)
            line = (f"clean: [{'#' * full}{'-' * (WIDTH - full)}] {share:4.0%}  {self.count}/{self.files} files  "
                    f"{mb:.1f}/{self.total / 1e6:.1f} MB  {speed}")
        else:
            line = f"clean: {self.count}/{self.files} files  {mb:.1f} MB  {speed}"
        self.out.write("\r\x1b[K" + line)
        self.out.flush()
        self.shown = True

    def clear(self) -> None:
        """Erase the bar (it is redrawn at the next update)."""
        if self.shown:
            self.out.write("\r\x1b[K")
            self.out.flush()
            self.last = -1.0

    def done(self) -> None:
        """End the bar's line, so what follows starts on its own."""
        if self.shown:
            self.out.write("\n")
            self.out.flush()
            self.shown = False


def default_enabled(names: list[str], *, writes_text_to_stdout: bool, stderr_busy: bool) -> bool:
    """Progress by default: stderr is a terminal, the inputs are FILEs (a
    filter in a pipe never shows it), stderr carries nothing else (explain),
    and the cleaned text does not go to the terminal or down a pipe."""
    if stderr_busy or "-" in names or not sys.stderr.isatty():
        return False
    if not writes_text_to_stdout:
        return True  # --in-place, --out-dir, --check: stdout only says what changed
    try:
        mode = os.fstat(sys.stdout.fileno()).st_mode
    except (OSError, ValueError):
        return False
    # redirected to a file (> all.txt) or to /dev/null, not a pipe or the terminal
    return stat.S_ISREG(mode) or (stat.S_ISCHR(mode) and not sys.stdout.isatty())


def total_size(names: list[str]) -> int | None:
    """The inputs' size in bytes, None for stdin."""
    if "-" in names:
        return None
    return sum(os.path.getsize(n) for n in names)
