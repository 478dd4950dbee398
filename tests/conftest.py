"""Shared fixtures: the real ``clean`` CLI as a subprocess, click's CliRunner
in-process, the corpus samples and a few helpers to write rule files."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus_samples"
if str(ROOT) not in sys.path:  # the package is used from the checkout, not installed
    sys.path.insert(0, str(ROOT))

from cleaner.cli import clean_command, main  # noqa: E402
from cleaner.dedup import speedup  # noqa: E402

# for tests of what the library does with its C paths (as dedup.speedup gives
# them): with CLEANER_SPEEDUPS=0, or no extension built, it takes none
c_in_use = pytest.mark.skipif(speedup("check_lines") is None,
                              reason="the library's C paths are off (not built, or CLEANER_SPEEDUPS=0)")


def sample_names() -> list[str]:
    """Every ``corpus_samples/X.txt`` that has an ``X.expected.txt`` (as ``X``)."""
    return sorted(
        p.name[: -len(".txt")]
        for p in CORPUS.glob("*.txt")
        if not p.name.endswith(".expected.txt")
    )


def sample_paths(name: str) -> tuple[Path, Path]:
    return CORPUS / f"{name}.txt", CORPUS / f"{name}.expected.txt"


def clean_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.pop("PYTHONWARNINGS", None)
    return env


CLEAN = [sys.executable, "-m", "cleaner"]


def run_clean(args: Sequence[str | os.PathLike[str]], input_bytes: bytes | None = b"", *,
              timeout: float = 180, cwd: str | os.PathLike[str] | None = None) -> subprocess.CompletedProcess[bytes]:
    """Run the real CLI (``python -m cleaner ARGS``) with ``input_bytes`` on stdin
    (``None``: stdin is /dev/null); stdout and stderr are captured as bytes."""
    return subprocess.run(
        [*CLEAN, *map(str, args)],
        input=input_bytes,
        stdin=subprocess.DEVNULL if input_bytes is None else None,
        capture_output=True,
        timeout=timeout,
        env=clean_env(),
        cwd=cwd or ROOT,
        check=False,
    )


@dataclass
class MainResult:
    returncode: int
    stdout: bytes
    stderr: bytes


def run_main(args: Sequence[str | os.PathLike[str]], input_bytes: bytes | None = b"") -> MainResult:
    """Run ``cleaner.cli.main(argv)`` in-process (same door as the ``clean``
    script, subcommands included) with byte stdin and captured byte outputs."""
    with CliRunner().isolation(input=input_bytes or b"") as (out, err, _mixed):
        code = main([str(a) for a in args])
        sys.stdout.flush()
        sys.stderr.flush()
        return MainResult(code, out.getvalue(), err.getvalue())


def invoke_clean(args: Sequence[str], input_bytes: bytes | None = None) -> Result:
    """Run ``clean_command`` in-process through click's CliRunner."""
    return CliRunner().invoke(clean_command, list(args), input=input_bytes, catch_exceptions=True)


def parse_jsonl(data: bytes | str) -> list[dict[str, Any]]:
    text = data.decode("utf-8") if isinstance(data, bytes) else data
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def split_lines(data: bytes) -> list[bytes]:
    """Lines with their endings, split on ``\\n`` only (as the cleaner does)."""
    parts = data.split(b"\n")
    last = parts.pop()
    out = [p + b"\n" for p in parts]
    if last:
        out.append(last)
    return out


def line_text(raw: bytes) -> str:
    """A line as ``--explain`` shows it: decoded, without its ending."""
    if raw.endswith(b"\n"):
        raw = raw[:-1]
    if raw.endswith(b"\r"):
        raw = raw[:-1]
    return raw.decode("utf-8", "surrogateescape")


RULE_HEADER = 'version = 1\n[categories]\njunk = "Test junk"\n'


def rule_toml(rule_id: str, pattern: str = "^JUNK LINE$", *, action: str = "drop_line",
              category: str = "junk", drop: Sequence[str] = ("JUNK LINE",), keep: Sequence[str] = (),
              extra: str = "", examples_extra: str = "", description: str | None = "a test rule") -> str:
    """One ``[[rule]]`` table (TOML)."""
    lines = ["[[rule]]", f'id = "{rule_id}"', f'category = "{category}"', f'action = "{action}"']
    if description is not None:
        lines.append(f'description = "{description}"')
    lines.append(f"pattern = '''{pattern}'''")
    if extra:
        lines.append(extra.strip())
    lines.append("[rule.examples]")
    lines.append("drop = [" + ", ".join(json.dumps(d) for d in drop) + "]")
    if keep:
        lines.append("keep = [" + ", ".join(json.dumps(k) for k in keep) + "]")
    if examples_extra:
        lines.append(examples_extra.strip())
    return "\n".join(lines) + "\n\n"


@pytest.fixture
def write_rules(tmp_path: Path) -> Callable[..., Path]:
    """``write_rules(name, text)`` -> path of a rule file in tmp_path."""

    def write(name: str, text: str) -> Path:
        p = tmp_path / name
        p.write_text(text, encoding="utf-8")
        return p

    return write


@pytest.fixture(scope="session", autouse=True)
def _warm_up() -> None:
    """Build the prefilter database cache once, so that the first timed-sensitive
    subprocess (the streaming test) does not pay for it."""
    run_clean([], b"warm up\n", timeout=600)


@pytest.fixture(scope="session")
def default_cleaner() -> Any:
    from cleaner import Cleaner

    return Cleaner()


# Plain article sentences: long, ending like sentences, distinct, hit no rule.
ARTICLE = [
    "The city council approved the new transit budget after a long debate on Tuesday evening.",
    "Officials said the first buses on the extended routes would run early next spring.",
    "Residents who spoke at the meeting were divided over the cost of the project.",
    "The mayor told reporters that the plan would be reviewed again in the autumn.",
    "Engineers expect the work on the northern bridge to take about eighteen months.",
    "A spokesperson for the transport authority declined to comment on the schedule.",
    "Several shop owners along the route welcomed the decision at the meeting.",
    "The opposition group said it would continue to press for a public referendum.",
]
JUNK = "Leave a Reply"  # comments.leave-a-reply: truncates the rest of the document
DROP_LINE = "Do you want to report an error or a typo? Click here!"  # promos.report-error


def output_explained(out: bytes, data: bytes, decisions: Sequence[Any]) -> bool:
    """Is ``out`` exactly the input lines minus the lines a decision removed?
    A line a strip rule changed may appear changed, or be gone."""
    removed = {d.line for d in decisions if d.action != "strip"}
    stripped = {d.line for d in decisions if d.action == "strip"}
    outl = split_lines(out)
    states = {0}
    for i, raw in enumerate(split_lines(data), 1):
        if i in removed:
            continue
        new: set[int] = set()
        for j in states:
            if i in stripped:
                new.add(j)
                if j < len(outl):
                    new.add(j + 1)
            elif j < len(outl) and outl[j] == raw:
                new.add(j + 1)
        states = new
    return len(outl) in states


def assert_chunking_invariant(new_cleaner: Callable[[], Any], data: bytes, draw: Any) -> tuple[bytes, bool]:
    """Feeding ``data`` in chunks cut where hypothesis ``draw`` says gives the
    bytes feeding it whole gives (each run on a fresh ``new_cleaner()``).
    Returns the output and whether form feeds split documents."""
    import hypothesis.strategies as st

    cuts = sorted(draw.draw(st.lists(st.integers(0, len(data)), max_size=12)))
    split_docs = draw.draw(st.booleans())
    chunks = [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]
    whole = new_cleaner().stream("doc", split_docs=split_docs)
    expected = whole.feed(data) + whole.close()
    s = new_cleaner().stream("doc", split_docs=split_docs)
    got = b"".join(s.feed(c) for c in chunks) + s.close()
    assert got == expected
    return got, split_docs


Arrival = tuple[float, "bytes | None"]  # (time.monotonic(), line; None at the end of the output)


@contextmanager
def producer_into_clean(producer_code: str, args: Sequence[str] = ()) -> Iterator[
        tuple[subprocess.Popen[bytes], queue.Queue[Arrival]]]:
    """A Python producer (``producer_code``) piped into the real ``clean ARGS``;
    yields the producer (its stdin open, for the test to unblock it) and a queue
    of clean's output lines as they arrive. On leaving, both processes are
    waited for (killed if the test failed) and clean must have exited 0."""
    producer = subprocess.Popen([sys.executable, "-c", producer_code], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    clean = subprocess.Popen([*CLEAN, *args], stdin=producer.stdout, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, env=clean_env())
    assert producer.stdout is not None and clean.stdout is not None and clean.stderr is not None
    producer.stdout.close()  # clean holds the read end
    q: queue.Queue[Arrival] = queue.Queue()

    def read(stream: Any) -> None:
        for line in iter(stream.readline, b""):
            q.put((time.monotonic(), line))
        q.put((time.monotonic(), None))

    threading.Thread(target=read, args=(clean.stdout,), daemon=True).start()
    try:
        yield producer, q
        producer.wait(timeout=30)
        clean.wait(timeout=30)
    finally:
        for proc in (producer, clean):
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    err = clean.stderr.read()
    clean.stderr.close()
    clean.stdout.close()
    assert clean.returncode == 0, err.decode()
