"""Regex timeouts by a periodic timer signal where one can be used.

``regex`` costs about 2.5 microseconds per call when given ``timeout=`` (it
reads the clock), more than many of our rules' searches take without it. In
the main thread a ``SIGALRM`` timer does the job for nearly nothing: it ticks
every ``timeout`` seconds while the engine works, each search bumps a counter,
and a tick that finds the search it saw at the previous tick still running
raises ``TimeoutError``, which ``regex`` passes on (it checks for signals as
it matches). A search is so stopped after between one and two ``timeout``s.
Elsewhere (another thread, no ``setitimer``, or ``SIGALRM`` or its timer in
use by the host program) the ``timeout=`` argument is used.

Once installed, the handler stays (it ignores a tick outside a search), and
at exit SIGALRM is ignored: a tick already on its way when the timer is
stopped must never meet the default action, which ends the process. (Under
valgrind, which delivers signals late, both happened: with the handler put
back after each batch, and once Python's exit had put the default back.)
"""

from __future__ import annotations

import atexit
import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import regex

_MAIN = threading.main_thread().ident
_HAS_TIMER = hasattr(signal, "setitimer") and hasattr(signal, "SIGALRM")


class _State:
    armed = False  # the timer ticks (main thread, inside ``scope``)
    searching = False  # a search runs: only then may a tick raise
    started = 0  # searches started so far
    seen = -1  # the search running at the last tick
    exit_hook = False  # _quiet_at_exit is registered


def _disarm_in_child() -> None:
    # a fork inside a batch: the child has no timer (timers are not inherited)
    _State.armed = _State.searching = False


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_disarm_in_child)


def _quiet_at_exit() -> None:
    # at exit Python gives the signals it handled their default action back:
    # a tick still on its way then (valgrind and some sandboxes deliver late)
    # would end a finished run with an alarm status; ignored, it cannot
    if signal.getsignal(signal.SIGALRM) is _tick:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, signal.SIG_IGN)


def _tick(signum: int, frame: object) -> None:
    if _State.searching:
        if _State.seen == _State.started:
            raise TimeoutError("regex timeout")
        _State.seen = _State.started


@contextmanager
def scope(timeout: float) -> Iterator[None]:
    """Let the timer tick for the time of one batch of engine work, when this
    is the main thread and nobody else uses ``SIGALRM`` or its timer (the
    handler is installed at the first batch and left in place)."""
    if _State.armed or not _HAS_TIMER or threading.get_ident() != _MAIN:
        yield
        return
    prev = signal.getsignal(signal.SIGALRM)
    if prev not in (_tick, signal.SIG_DFL, signal.SIG_IGN) or signal.getitimer(signal.ITIMER_REAL) != (0.0, 0.0):
        yield
        return
    if prev is not _tick:
        signal.signal(signal.SIGALRM, _tick)
        if not _State.exit_hook:
            _State.exit_hook = True
            atexit.register(_quiet_at_exit)
    try:
        signal.setitimer(signal.ITIMER_REAL, timeout, timeout)
        ticking = True
    except (OverflowError, ValueError, OSError):  # a timeout the timer cannot hold: regex's own
        ticking = False
    if not ticking:
        yield
        return
    _State.armed = True
    try:
        yield
    finally:
        _State.armed = False
        signal.setitimer(signal.ITIMER_REAL, 0)


def search(pat: regex.Pattern[str], text: str, timeout: float) -> regex.Match[str] | None:
    """``pat.search(text)``; ``TimeoutError`` when it runs too long."""
    if not _State.armed or threading.get_ident() != _MAIN:
        return pat.search(text, timeout=timeout)
    _State.started += 1
    _State.searching = True
    try:
        return pat.search(text)
    finally:
        _State.searching = False


def sub(pat: regex.Pattern[str], repl: str, text: str, timeout: float) -> str:
    """``pat.sub(repl, text)``; ``TimeoutError`` when it runs too long."""
    if not _State.armed or threading.get_ident() != _MAIN:
        return pat.sub(repl, text, timeout=timeout)
    _State.started += 1
    _State.searching = True
    try:
        return pat.sub(repl, text)
    finally:
        _State.searching = False
