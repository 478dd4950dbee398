"""The other doors: in-place files, folders, JSON Lines, several processes, pre-commit."""

from __future__ import annotations

import json
import os
import pickle
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cleaner import Cleaner

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = sorted(p for p in (ROOT / "corpus_samples").glob("*.txt") if not p.name.endswith(".expected.txt"))
CLEAN = [sys.executable, "-m", "cleaner"]


def expected(p: Path) -> bytes:
    return p.with_name(p.name[:-4] + ".expected.txt").read_bytes()


def run(*args: str, input: bytes | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([*CLEAN, *args], input=input, capture_output=True, cwd=cwd, timeout=300)


# -- in place -------------------------------------------------------------------

def test_in_place_fixes_dirty_files_and_leaves_clean_ones_alone(tmp_path: Path) -> None:
    dirty = tmp_path / "dirty.txt"
    shutil.copy(SAMPLES[0], dirty)
    dirty.chmod(0o640)
    tidy = tmp_path / "tidy.txt"
    tidy.write_bytes(expected(SAMPLES[0]))
    old = time.time() - 3600
    os.utime(tidy, (old, old))
    r = run("--in-place", str(dirty), str(tidy))
    assert r.returncode == 1
    assert r.stdout.decode() == f"Fixing {dirty}\n"
    assert dirty.read_bytes() == expected(SAMPLES[0])
    assert stat.S_IMODE(dirty.stat().st_mode) == 0o640
    assert tidy.stat().st_mtime == old
    assert run("--in-place", str(dirty), str(tidy)).returncode == 0
    assert not [p for p in tmp_path.iterdir() if "clean-tmp" in p.name]


def test_binary_files_are_skipped_never_rewritten(tmp_path: Path) -> None:
    blob = tmp_path / "image.txt"
    data = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR" + bytes(range(256)) * 4
    blob.write_bytes(data)
    r = run("--in-place", str(blob))
    assert r.returncode == 0
    assert b"skipping" in r.stderr and b"binary" in r.stderr
    assert blob.read_bytes() == data


def test_sigkill_mid_run_leaves_every_file_wholly_old_or_wholly_new(tmp_path: Path) -> None:
    big = b"".join(s.read_bytes().rstrip(b"\n") + b"\n\n" for s in SAMPLES) * 40
    files = []
    for i in range(120):
        p = tmp_path / f"page{i:03d}.txt"
        p.write_bytes(f"Unique opening sentence number {i} of this page, long enough to keep.\n".encode() + big)
        files.append(p)
    originals = {p.name: p.read_bytes() for p in files}
    first_line = originals[files[0].name].split(b"\n", 1)[0] + b"\n"
    tail = run(str(files[0])).stdout[len(first_line):]
    assert tail and len(tail) < len(big)
    proc = subprocess.Popen([*CLEAN, "--in-place", *map(str, files)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None
    proc.stdout.readline()  # at least one file is done
    time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    new = old = 0
    for p in files:
        got = p.read_bytes()
        if got == originals[p.name]:
            old += 1
        else:
            assert got == originals[p.name].split(b"\n", 1)[0] + b"\n" + tail, p.name
            new += 1
    assert new >= 1 and old >= 1, (new, old)


# -- folders and processes ------------------------------------------------------------

@pytest.mark.parametrize("scope", ["doc", "stream"])
def test_jobs_give_the_same_output_explain_and_out_dir(tmp_path: Path, scope: str) -> None:
    files = []
    for i in range(6):
        for s in SAMPLES:
            p = tmp_path / "in" / f"{i}-{s.name}"
            p.parent.mkdir(exist_ok=True)
            shutil.copy(s, p)
            files.append(str(p.relative_to(tmp_path)))
    one = run("--dedup", scope, "--explain", "e1.jsonl", *files, cwd=tmp_path)
    two = run("--dedup", scope, "-j", "2", "--explain", "e2.jsonl", *files, cwd=tmp_path)
    assert one.returncode == two.returncode == 0
    assert one.stdout == two.stdout and one.stdout
    assert (tmp_path / "e1.jsonl").read_bytes() == (tmp_path / "e2.jsonl").read_bytes()
    assert run("--dedup", scope, "-j", "2", "--out-dir", "out", *files, cwd=tmp_path).returncode == 0
    joined = b"".join((tmp_path / "out" / f).read_bytes() for f in files)
    assert joined == one.stdout


def test_progress_only_when_asked_or_on_a_terminal(tmp_path: Path) -> None:
    files = [str(s) for s in SAMPLES]
    assert b"files" not in run(*files).stderr
    assert b"2/2 files" in run("--progress", *files).stderr


# -- JSON Lines -------------------------------------------------------------------------

def test_jsonl_cleans_the_text_field_and_keeps_the_rest(tmp_path: Path) -> None:
    recs = [{"id": f"r{i}", "text": s.read_text(encoding="utf-8"), "meta": {"n": i}} for i, s in enumerate(SAMPLES)]
    recs.append({"id": "empty", "text": "Leave a Reply\nName *\n", "meta": None})
    data = "".join(json.dumps(r) + "\n" for r in recs).encode()
    r = run("--jsonl", "--id-field", "id", "--explain", "-", input=data)
    assert r.returncode == 0, r.stderr
    out = [json.loads(x) for x in r.stdout.splitlines()]
    assert [o["id"] for o in out] == ["r0", "r1", "empty"]
    assert [list(o) for o in out] == [["id", "text", "meta"]] * 3
    assert out[0]["text"].encode() == expected(SAMPLES[0])
    assert out[2]["text"] == ""
    docs = {json.loads(x)["doc"] for x in r.stderr.splitlines() if x.startswith(b"{")}
    assert docs == {"r0", "r1", "empty"}
    dropped = run("--jsonl", "--drop-empty", input=data)
    assert len(dropped.stdout.splitlines()) == 2


def test_jsonl_bad_line_stops_with_its_number_or_is_set_aside(tmp_path: Path) -> None:
    data = b'{"text": "A fine sentence that is long enough."}\n{not json}\n{"text": 3}\n{"text": "Another."}\n'
    r = run("--jsonl", input=data)
    assert r.returncode == 2 and b"<stdin>:2" in r.stderr
    rej = tmp_path / "rejects.jsonl"
    r = run("--jsonl", "--on-error", "skip", "--rejects", str(rej), "--stats", input=data)
    assert r.returncode == 0
    assert len(r.stdout.splitlines()) == 2
    assert rej.read_bytes() == b'{not json}\n{"text": 3}\n'
    assert b"2 rejected" in r.stderr


# -- library ------------------------------------------------------------------------------

def test_clean_records_is_lazy_and_cleaner_pickles() -> None:
    c = Cleaner()
    consumed: list[int] = []

    def source():  # type: ignore[no-untyped-def]
        for i in range(10**6):
            consumed.append(i)
            yield {"text": f"Sentence number {i} is here.\n72\n", "n": i}

    first = next(iter(c.clean_records(source())))
    assert first == {"text": "Sentence number 0 is here.\n", "n": 0}
    assert len(consumed) == 1
    copy = pickle.loads(pickle.dumps(c))
    page = "Our newsroom\nThe council met on Tuesday and approved the budget for the new school year.\nLeave a Reply\nx\n"
    assert copy.clean_text(page) == c.clean_text(page)
    assert copy.clean_text(page) == "The council met on Tuesday and approved the budget for the new school year.\n"
    assert copy.config == c.config


def test_docs_etl_examples_run(tmp_path: Path) -> None:
    for script in ("docs/examples/pool_jsonl_shards.py",):
        r = subprocess.run([sys.executable, str(ROOT / script), str(tmp_path)], capture_output=True, text=True,
                           timeout=300, cwd=tmp_path)
        assert r.returncode == 0, r.stderr
        assert "cleaned" in r.stdout


def test_datasets_map_example(tmp_path: Path) -> None:
    pytest.importorskip("datasets")
    r = subprocess.run([sys.executable, str(ROOT / "docs/examples/hf_datasets_map.py")], capture_output=True,
                       text=True, timeout=300, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "cleaned" in r.stdout


# -- pre-commit -------------------------------------------------------------------------------

def _git(repo: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@t"}
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, env=env, check=check)


def test_pre_commit_hook_stops_fixes_and_lets_the_next_commit_through(tmp_path: Path) -> None:
    pre_commit = shutil.which("pre-commit") or str(Path(sys.executable).with_name("pre-commit"))
    if not Path(pre_commit).exists():
        pytest.fail("pre-commit is not installed (pip install '.[test]')")
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
    repo = tmp_path / "corpus"
    repo.mkdir()
    _git(repo, "init", "-q")
    (repo / ".pre-commit-config.yaml").write_text(
        f"repos:\n- repo: {ROOT}\n  rev: {head}\n  hooks:\n  - id: clean\n  - id: clean-check\n    stages: [manual]\n"
    )
    tidy = repo / "tidy.txt"
    tidy.write_bytes(expected(SAMPLES[0]))
    _git(repo, "add", ".")
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "pc-home")}
    subprocess.run([pre_commit, "install"], cwd=repo, check=True, capture_output=True, env=env)
    first = subprocess.run(["git", "commit", "-qm", "tidy"], cwd=repo, capture_output=True, text=True,
                           env={**env, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t",
                                "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"})
    assert first.returncode == 0, first.stdout + first.stderr
    mtime = tidy.stat().st_mtime_ns
    dirty = repo / "page.txt"
    shutil.copy(SAMPLES[1], dirty)
    _git(repo, "add", "page.txt")
    commit_env = {**env, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
                  "GIT_COMMITTER_EMAIL": "t@t"}
    stopped = subprocess.run(["git", "commit", "-qm", "add page"], cwd=repo, capture_output=True, text=True,
                             env=commit_env)
    assert stopped.returncode != 0
    assert "Fixing page.txt" in stopped.stdout + stopped.stderr
    assert dirty.read_bytes() == expected(SAMPLES[1])
    check = subprocess.run([pre_commit, "run", "clean-check", "--hook-stage", "manual", "--all-files"], cwd=repo,
                           capture_output=True, text=True, env=env)
    assert check.returncode == 0, check.stdout
    _git(repo, "add", "page.txt")
    ok = subprocess.run(["git", "commit", "-qm", "add page"], cwd=repo, capture_output=True, text=True, env=commit_env)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert tidy.stat().st_mtime_ns == mtime
