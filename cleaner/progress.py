"""A one-line progress display on stderr for runs over many files."""

from __future__ import annotations

import sys
import time


class Progress:
    """``clean: 12/100 files, 3.4 s`` redrawn at most ten times a second."""

    def __init__(self, total: int, *, enabled: bool) -> None:
        self.total = total
        self.enabled = enabled
        self.count = 0
        self.start = self.last = time.monotonic()

    def step(self, name: str) -> None:
        self.count += 1
        now = time.monotonic()
        if self.enabled and (now - self.last >= 0.1 or self.count == self.total):
            self.last = now
            sys.stderr.write(f"\rclean: {self.count}/{self.total} files, {now - self.start:.1f} s")
            sys.stderr.flush()

    def done(self) -> None:
        if self.enabled and self.count:
            sys.stderr.write("\n")
            sys.stderr.flush()
