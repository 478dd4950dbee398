"""Regex timeouts by timer signal (main thread) and by ``timeout=`` (elsewhere)."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path

import pytest
import regex
from conftest import ARTICLE, RULE_HEADER, rule_toml

from cleaner import Cleaner, Config, watchdog

SLOW = regex.compile(r"(a|aa)+$|!")  # exponential on "a" * n + "!"
LINE = "a" * 40 + "!"

pytestmark = pytest.mark.skipif(not hasattr(signal, "setitimer"), reason="no interval timers")


def _slow_cleaner(tmp_path: Path) -> Cleaner:
    path = tmp_path / "slow.toml"
    path.write_text(RULE_HEADER + rule_toml("junk.catastrophic", SLOW.pattern, drop=["aaa"]), encoding="utf-8")
    return Cleaner(Config(rules=(str(path),), default_rules=False, regex_timeout=0.05, use_hyperscan=False))


def test_timer_stops_a_runaway_search_within_two_timeouts() -> None:
    t = time.monotonic()
    with watchdog.scope(0.05), pytest.raises(TimeoutError):
        watchdog.search(SLOW, "a" * 34 + "!", 0.05)  # seconds without the timer
    assert time.monotonic() - t < 1


def test_timer_lets_fast_searches_be_and_a_late_tick_does_no_harm() -> None:
    with watchdog.scope(0.01):
        assert signal.getitimer(signal.ITIMER_REAL)[1] == pytest.approx(0.01)
        found = 0
        end = time.monotonic() + 0.2  # many ticks go by while short searches run
        while time.monotonic() < end:
            found += watchdog.search(SLOW, "aaaa", 0.01) is not None
            assert watchdog.sub(SLOW, "x", "aa!", 0.01) == "aax"
        assert found
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    # a tick that comes after the batch (valgrind delivers late) meets the
    # handler, never the default action, which would end the process
    assert signal.getsignal(signal.SIGALRM) is watchdog._tick
    signal.raise_signal(signal.SIGALRM)
    assert watchdog.search(SLOW, "aaaa", 0.01) is not None


def test_a_host_programs_sigalrm_handler_is_left_alone(tmp_path: Path) -> None:
    calls: list[int] = []
    prev = signal.signal(signal.SIGALRM, lambda s, f: calls.append(s))  # the host's own
    try:
        c = _slow_cleaner(tmp_path)
        assert c.clean_text(f"{ARTICLE[0]}\n{LINE}\n") == f"{ARTICLE[0]}\n{LINE}\n"  # regex's own timeout
        assert c.stats.regex_timeouts["junk.catastrophic"] == 1
        assert signal.getsignal(signal.SIGALRM) is not watchdog._tick
        assert not calls
    finally:
        signal.signal(signal.SIGALRM, prev)


def test_other_threads_use_regex_timeout(tmp_path: Path) -> None:
    c = _slow_cleaner(tmp_path)
    out: list[str] = []
    t = threading.Thread(target=lambda: out.append(c.clean_text(f"{LINE}\naaa\n")))
    t.start()
    t.join(30)
    assert out == [f"{LINE}\n"]
    assert c.stats.regex_timeouts["junk.catastrophic"] == 1


def test_main_thread_timeout_names_the_rule_and_keeps_the_line(tmp_path: Path) -> None:
    c = _slow_cleaner(tmp_path)
    assert c.clean_text(f"{ARTICLE[0]}\n{LINE}\naaa\n") == f"{ARTICLE[0]}\n{LINE}\n"
    assert c.stats.regex_timeouts["junk.catastrophic"] == 1


def test_timeouts_the_timer_cannot_hold_are_refused_or_left_to_regex() -> None:
    for bad in (float("inf"), float("nan"), 1e20, 0.0):
        with pytest.raises(ValueError, match="regex_timeout"):
            Config(regex_timeout=bad)
    with watchdog.scope(1e20):  # the timer cannot count this far: no timer, regex's own timeout
        assert not watchdog._State.armed
        assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


def test_a_child_forked_inside_a_batch_does_not_count_on_the_timer() -> None:
    import os
    with watchdog.scope(0.05):
        pid = os.fork()
        if pid == 0:  # the child: no timer, so the search must use regex's timeout
            try:
                watchdog.search(SLOW, "a" * 34 + "!", 0.05)
                os._exit(1)
            except TimeoutError:
                os._exit(0)
        _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


def test_at_exit_sigalrm_is_ignored_not_left_to_its_default() -> None:
    # Python's exit gives handled signals their default action back; a tick
    # delivered late (valgrind did) would then end a finished run
    with watchdog.scope(0.01):
        pass
    assert watchdog._State.exit_hook
    watchdog._quiet_at_exit()  # what atexit runs
    assert signal.getsignal(signal.SIGALRM) == signal.SIG_IGN
    signal.raise_signal(signal.SIGALRM)  # ignored: the test goes on
    with watchdog.scope(0.01):  # a later batch takes the signal again
        assert signal.getsignal(signal.SIGALRM) is watchdog._tick
