"""The other doors: in-place files, folders, JSON Lines, several processes (pre-commit: test_pre_commit.py)."""

from __future__ import annotations

import importlib.util
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
from hypothesis import given, settings
from hypothesis import strategies as st

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


def test_check_reasons_are_the_same_with_and_without_explain(tmp_path: Path) -> None:
    # without --explain the engine makes no decision records: the reasons come from the stats
    files = [str(p) for p in SAMPLES]
    stdin = b"\f\n".join(p.read_bytes() for p in SAMPLES)
    for args, data in (([*files], None), (["-j", "2", *files], None), ([], stdin), (["-j", "2"], stdin)):
        plain = run("--check", *args, input=data, cwd=tmp_path)
        explained = run("--check", "--explain", "e.jsonl", *args, input=data, cwd=tmp_path)
        assert plain.returncode == explained.returncode == 1
        assert plain.stderr == explained.stderr and b"would clean" in plain.stderr
        if data is None:
            continue
        counts: dict[str, int] = {}  # one input (stdin): its reasons are the explained removals
        for line in (tmp_path / "e.jsonl").read_text("utf-8").splitlines():
            rule = json.loads(line)["rule"]
            counts[rule] = counts.get(rule, 0) + 1
        assert all(f"{rule} {n}".encode() in plain.stderr for rule, n in counts.items())


def test_check_with_an_index_reads_it_and_writes_nothing(tmp_path: Path) -> None:
    para = "Prime Minister Jonas Gahr Store told reporters in Oslo on Monday that the budget would come next week.\n"
    (tmp_path / "a.txt").write_text("The first article opens with a sentence of its own, long enough.\n\n" + para)
    (tmp_path / "b.txt").write_text("The second article opens with another sentence, long enough too.\n\n" + para)
    r = run("--check", "--index", "c.idx", "a.txt", "b.txt", cwd=tmp_path)
    assert (r.returncode, r.stderr) == (1, b"would clean b.txt (dedup.repeat 1, layout.blank-lines 1)\n")
    assert not (tmp_path / "c.idx").exists()
    assert run("--index", "c.idx", "a.txt", cwd=tmp_path).returncode == 0
    before = (tmp_path / "c.idx").read_bytes()
    r = run("--check", "--index", "c.idx", "b.txt", cwd=tmp_path)
    assert (r.returncode, r.stderr) == (1, b"would clean b.txt (dedup.repeat 1, layout.blank-lines 1)\n")
    assert (tmp_path / "c.idx").read_bytes() == before


@pytest.mark.parametrize("jobs", [["-j", "1"], ["-j", "2", "--dedup", "stream"]])
def test_in_place_through_a_symlink_rewrites_the_target(tmp_path: Path, jobs: list[str]) -> None:
    (tmp_path / "real.txt").write_bytes(SAMPLES[0].read_bytes())
    (tmp_path / "link.txt").symlink_to("real.txt")
    other = tmp_path / "other.txt"
    other.write_bytes(expected(SAMPLES[1]))
    r = run(*jobs, "--in-place", "link.txt", "other.txt", cwd=tmp_path)
    assert (r.returncode, r.stdout) == (1, b"Fixing link.txt\n")
    assert (tmp_path / "link.txt").is_symlink()
    assert (tmp_path / "real.txt").read_bytes() == expected(SAMPLES[0])


def test_binary_files_are_skipped_never_rewritten(tmp_path: Path) -> None:
    blob = tmp_path / "image.txt"
    data = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR" + bytes(range(256)) * 4
    blob.write_bytes(data)
    r = run("--in-place", str(blob))
    assert r.returncode == 0
    assert b"skipping" in r.stderr and b"binary" in r.stderr
    assert blob.read_bytes() == data
    # a NUL byte far past the first block read to judge the file
    late = tmp_path / "late.txt"
    text = b"".join(s.read_bytes() for s in SAMPLES) * 20
    assert len(text) > 1 << 17
    late.write_bytes(text + b"\0tail\n")
    for mode in ("--in-place", "--check"):
        r = run(mode, str(late))
        assert (r.returncode, r.stderr) == (0, f"clean: skipping {late}: binary file\n".encode())
        assert late.read_bytes() == text + b"\0tail\n"
    # invalid UTF-8 throughout and no NUL: not text either
    noise = tmp_path / "noise.txt"
    noise.write_bytes(bytes(range(128, 256)) * 64)
    r = run("--in-place", str(noise))
    assert b"skipping" in r.stderr and noise.read_bytes() == bytes(range(128, 256)) * 64


def test_sigkill_mid_run_leaves_every_file_wholly_old_or_wholly_new(tmp_path: Path) -> None:
    big = b"".join(s.read_bytes().rstrip(b"\n") + b"\n\n" for s in SAMPLES) * 40
    files = []
    for i in range(120):
        p = tmp_path / f"page{i:03d}.txt"
        p.write_bytes(f"Unique opening sentence number {i} of this page, long enough to keep.\n".encode() + big)
        p.chmod(0o640)
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
        assert stat.S_IMODE(p.stat().st_mode) == 0o640, p.name
    assert new >= 1 and old >= 1, (new, old)
    # what a kill can leave: at most the hidden temporary file being written
    litter = {p.name for p in tmp_path.iterdir()} - {p.name for p in files}
    assert len(litter) <= 1 and all(n.startswith(".page") and n.endswith(".clean-tmp") for n in litter), litter


# -- folders and processes ------------------------------------------------------------

@pytest.mark.parametrize("scope", ["doc", "stream"])
def test_jobs_give_the_same_output_explain_and_out_dir(tmp_path: Path, scope: str) -> None:
    files = []
    for i in range(40):  # 80 files: several batches (cleaner.batch.BATCH_FILES) for the workers
        for s in SAMPLES:
            p = tmp_path / "in" / f"{i:02d}-{s.name}"
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


def _mixed_corpus(folder: Path) -> list[str]:
    """Files cut from the samples: overlapping runs of lines (repeats within
    and across files), CRLF files, and one file the rules empty entirely."""
    import random

    lines = [x for s in SAMPLES for x in s.read_bytes().splitlines(keepends=True)]
    rnd = random.Random(5)
    folder.mkdir()
    names = []
    for i in range(16):
        start = rnd.randrange(len(lines))
        body = lines[start:start + rnd.randint(5, 60)] + rnd.sample(lines, 8) + [b"\n"] + lines[start:start + 3]
        if i % 5 == 0:
            body = [x.replace(b"\n", b"\r\n") for x in body]
        if i == 7:
            body = [b"Your email address will not be published. Required fields are marked *\n", *body]
        (folder / f"f{i:02d}.txt").write_bytes(b"".join(body))
        names.append(f"{folder.name}/f{i:02d}.txt")
    return names


@pytest.mark.parametrize("opts", [["--index", "corpus.idx"], ["--repeated-boilerplate", "3"],
                                  ["--dedup", "stream", "--unit", "block"]])
def test_jobs_with_cross_file_duplicates_match_one_process(tmp_path: Path, opts: list[str]) -> None:
    # the duplicate pass runs in the parent: output, explain (with the first
    # copy's input line), --stats, --check's reasons and the saved index are
    # those of -j 1 (without the classifier, which would make -j 2 run in one process)
    files = _mixed_corpus(tmp_path / "in")
    runs = {}
    for j in ("1", "2"):
        args = ["--no-classifier", *[o.replace("corpus.idx", f"j{j}.idx") for o in opts]]
        r = run("-j", j, *args, "--stats", "--explain", f"e{j}.jsonl", *files, cwd=tmp_path)
        assert r.returncode == 0, r.stderr
        runs[j] = r
    assert runs["1"].stdout == runs["2"].stdout and runs["1"].stdout
    assert runs["1"].stderr == runs["2"].stderr and b"lines: " in runs["1"].stderr
    explain = (tmp_path / "e1.jsonl").read_bytes()
    assert explain == (tmp_path / "e2.jsonl").read_bytes()
    assert b'"first"' in explain
    if "--index" in opts:
        assert (tmp_path / "j1.idx").read_bytes() == (tmp_path / "j2.idx").read_bytes()
    checks = [run("-j", j, "--no-classifier", *[o.replace("corpus.idx", "c.idx") for o in opts], "--check", *files,
                  cwd=tmp_path)
              for j in ("1", "2")]
    assert checks[0].returncode == checks[1].returncode == 1
    assert checks[0].stderr == checks[1].stderr


def test_files_go_to_workers_in_ordered_batches_by_count_and_size(tmp_path: Path) -> None:
    from cleaner.batch import BATCH_BYTES, BATCH_FILES, batches

    small = [tmp_path / f"s{i:03d}.txt" for i in range(BATCH_FILES + 10)]
    for p in small:
        p.write_bytes(b"x\n")
    big = tmp_path / "big.txt"
    big.write_bytes(b"y" * BATCH_BYTES)
    names = [str(p) for p in small[:3]] + [str(big)] + [str(p) for p in small[3:]]
    got = list(batches(names))
    assert [n for b in got for n in b] == names
    assert [len(b) for b in got] == [4, BATCH_FILES, 7]


def test_workers_never_run_far_ahead_of_the_caller() -> None:
    # outcomes hold whole files: at most `ahead` of them wait in memory for a slower parent
    import multiprocessing as mp

    from cleaner.batch import in_order

    consumed: list[int] = []

    def tasks():  # type: ignore[no-untyped-def]
        for i in range(60):
            consumed.append(i)
            yield -i

    got: list[int] = []
    with mp.get_context("forkserver").Pool(2) as pool:
        for x in in_order(pool, abs, tasks(), ahead=4):
            got.append(x)
            assert len(consumed) <= len(got) + 4
    assert got == list(range(60))


def test_jobs_in_place_with_cross_file_duplicates_skip_binary_files(tmp_path: Path) -> None:
    blob = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR More in World\n\n\nLeave a Reply\n"
    trees = {}
    for j in ("1", "2"):
        files = [f"{j}/{s.name}" for s in SAMPLES] + [f"{j}/image.txt", f"{j}/again.txt"]
        (tmp_path / j).mkdir()
        for s in SAMPLES:
            shutil.copy(s, tmp_path / j / s.name)
        shutil.copy(SAMPLES[0], tmp_path / j / "again.txt")
        (tmp_path / j / "image.txt").write_bytes(blob)
        r = run("-j", j, "--no-classifier", "--dedup", "stream", "--in-place", *files, cwd=tmp_path)  # (-j 2 in parallel)
        assert r.returncode == 1
        assert r.stderr == f"clean: skipping {j}/image.txt: binary file\n".encode()
        assert r.stdout.decode().splitlines() == [f"Fixing {f}" for f in files if "image" not in f]
        assert (tmp_path / j / "image.txt").read_bytes() == blob
        trees[j] = {p.name: p.read_bytes() for p in (tmp_path / j).iterdir()}
    assert trees["1"] == trees["2"]
    assert trees["1"]["again.txt"] == b""  # every paragraph was kept in an earlier file


def on_terminal(args: list[str], *, stdout: str, input: bytes | None = None, cwd: Path) -> bytes:
    """Run clean with stderr on a real pseudo-terminal; ``stdout`` is "pipe",
    "file" or "terminal". Returns what the terminal received."""
    import pty
    import threading

    master, slave = pty.openpty()
    out_file = (cwd / "stdout.bin").open("wb") if stdout == "file" else None
    out = slave if stdout == "terminal" else out_file if out_file is not None else subprocess.PIPE
    proc = subprocess.Popen([*CLEAN, *args], stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
                            stdout=out, stderr=slave, cwd=cwd)
    os.close(slave)
    if proc.stdout is not None:
        threading.Thread(target=proc.stdout.read, daemon=True).start()
    if proc.stdin is not None:
        proc.stdin.write(input or b"")
        proc.stdin.close()
    got = b""
    while True:
        try:
            data = os.read(master, 4096)
        except OSError:  # EIO: the last holder of the terminal closed it
            break
        if not data:
            break
        got += data
    proc.wait(timeout=300)
    os.close(master)
    if out_file is not None:
        out_file.close()
    return got


def test_progress_bar_on_a_terminal_never_in_pipes(tmp_path: Path) -> None:
    files = []
    for i in range(3):
        for s in SAMPLES:
            shutil.copy(s, tmp_path / f"{i}-{s.name}")
            files.append(f"{i}-{s.name}")
    n = len(files)
    # several FILEs, output redirected to a file, stderr a terminal: a bar
    shown = on_terminal(files, stdout="file", cwd=tmp_path)
    assert f"100%  {n}/{n} files".encode() in shown and b"MB/s" in shown
    assert (tmp_path / "stdout.bin").read_bytes() == run(*files, cwd=tmp_path).stdout
    assert f"100%  {n}/{n} files".encode() in on_terminal(["-j", "2", "--out-dir", "o", *files], stdout="pipe",
                                                          cwd=tmp_path)
    assert on_terminal(["--no-progress", *files], stdout="file", cwd=tmp_path) == b""
    # a filter in a pipe, or output going down a pipe: never by default
    assert on_terminal([], stdout="pipe", input=SAMPLES[0].read_bytes(), cwd=tmp_path) == b""
    assert on_terminal(files, stdout="pipe", cwd=tmp_path) == b""
    # forced on, stderr not a terminal
    forced = run("--progress", *files, cwd=tmp_path)
    assert f"{n}/{n} files".encode() in forced.stderr
    assert forced.stdout == (tmp_path / "stdout.bin").read_bytes()
    # "Fixing" lines on the same terminal start on a line of their own
    shown = on_terminal(["--in-place", *files], stdout="terminal", cwd=tmp_path)
    assert shown.count(b"Fixing ") == n
    assert shown.count(b"\x1b[KFixing ") == n


def test_progress_waits_for_a_long_run_and_clears_itself() -> None:
    import io

    from cleaner.progress import Progress

    quiet = io.StringIO()
    bar = Progress(1, 1000, enabled=True, delay=3600.0, out=quiet)  # the run is never "long"
    bar.advance(500)
    bar.step()
    bar.done()
    assert quiet.getvalue() == ""
    shown = io.StringIO()
    bar = Progress(2, 1000, enabled=True, out=shown)
    bar.advance(500)
    bar.step()
    assert "\r\x1b[Kclean: [############------------]  50%  0/2 files  0.0/0.0 MB" in shown.getvalue()
    bar.clear()
    assert shown.getvalue().endswith("\r\x1b[K")
    bar.advance(500)
    bar.step()
    bar.done()
    assert "100%  2/2 files" in shown.getvalue() and shown.getvalue().endswith("\n")


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


def test_jsonl_records_are_the_documents_of_dedup_and_explain() -> None:
    para = "Prime Minister Jonas Gahr Store told reporters in Oslo on Monday that the budget would come next week."
    recs = [{"id": "a", "text": f"First record opening sentence, long enough to keep.\n{para}\n"},
            {"id": "b", "text": f"Second record has its own opening sentence too.\n{para}\n"}]
    data = "".join(json.dumps(r) + "\n" for r in recs).encode()
    # within each record by default; across records with --dedup stream, the first record keeping it
    assert run("--jsonl", input=data).stdout == data
    r = run("--jsonl", "--id-field", "id", "--dedup", "stream", "--explain", "-", input=data)
    assert [json.loads(x)["text"] for x in r.stdout.splitlines()] == [recs[0]["text"], recs[1]["text"].split(para)[0]]
    (why,) = [json.loads(x) for x in r.stderr.splitlines()]
    assert (why["doc"], why["line"], why["rule"], why["first"]) == ("b", 2, "dedup.repeat", {"doc": "a", "line": 2})
    # without --id-field, records are named by source and line number
    r = run("--jsonl", "--dedup", "stream", "--explain", "-", input=data)
    assert json.loads(r.stderr)["first"] == {"doc": "<stdin>#1", "line": 2}


def test_jsonl_bad_line_stops_with_its_number_or_is_set_aside(tmp_path: Path) -> None:
    data = b'{"text": "A fine sentence that is long enough."}\n{not json}\n{"text": 3}\n{"text": "Another."}\n'
    r = run("--jsonl", input=data)
    assert r.returncode == 2 and b"<stdin>:2" in r.stderr
    rej = tmp_path / "rejects.jsonl"
    r = run("--jsonl", "--on-error", "skip", "--rejects", str(rej), "--stats", input=data)
    assert r.returncode == 0
    assert len(r.stdout.splitlines()) == 2
    assert rej.read_bytes() == b'{not json}\n{"text": 3}\n'
    assert b"records: 2 rejected, 0 dropped as empty" in r.stderr
    # without --stats, skipped lines are still reported
    r = run("--jsonl", "--on-error", "skip", input=data)
    assert (r.returncode, r.stderr) == (0, b"clean: 2 bad JSON Lines line(s) skipped\n")
    r = run("--jsonl", "--rejects", str(rej), input=data)
    assert r.returncode == 2 and b"--rejects needs --on-error skip" in r.stderr


def test_jsonl_files_in_several_processes_keep_their_rejects(tmp_path: Path) -> None:
    for name, bad in (("a.jsonl", b"{oops}\n"), ("b.jsonl", b"[1, 2]\n")):
        (tmp_path / name).write_bytes(b'{"text": "A fine sentence that is long enough to keep."}\n' + bad
                                      + b'{"text": "Leave a Reply\\nName *\\n"}\n')
    got = []
    for j in ("1", "2"):
        r = run("--jsonl", "-j", j, "--on-error", "skip", "--rejects", f"rej{j}", "--stats", "a.jsonl", "b.jsonl",
                cwd=tmp_path)
        assert r.returncode == 0, r.stderr
        assert b"records: 2 rejected" in r.stderr
        got.append((r.stdout, (tmp_path / f"rej{j}").read_bytes()))
    assert got[0] == got[1]
    assert got[0][1] == b"{oops}\n[1, 2]\n"


def test_jsonl_keeps_every_other_byte_of_a_record() -> None:
    lines = [
        b'{"id": 7, "n": 1e400, "m": 1.10, "u": "\\u00e9", "text": "A sentence long enough to stay in the text.\\n72\\n",'
        b' "tail": [1, {"text": "nested, not the field"}]}\n',
        b'{"text":"A sentence long enough to stay in the text, untouched.\\n",  "x" : 1.0}\r\n',
        b'{"text": "A line with an escaped bad byte \\udc80, long enough to keep.\\nLeave a Reply\\nName *\\n"}',
    ]
    r = run("--jsonl", input=b"".join(lines))
    assert r.returncode == 0, r.stderr
    out = r.stdout.splitlines(keepends=True)
    assert out[0] == lines[0].replace(b"\\n72\\n", b"\\n")
    assert out[1] == lines[1]  # unchanged: as it came, CRLF included
    assert out[2] == b'{"text": "A line with an escaped bad byte \\udc80, long enough to keep.\\n"}\n'
    assert json.loads(out[2])["text"] == "A line with an escaped bad byte \udc80, long enough to keep.\n"


_json = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
                     lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=5), c, max_size=3),
                     max_leaves=8)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(max_size=6).filter(lambda k: k != "text"), _json, max_size=5), st.text(), st.text(),
       st.integers(0, 5), st.sampled_from([(", ", ": "), (",", ":"), (" , ", " : ")]), st.booleans())
def test_replacing_the_text_value_changes_nothing_else(rec: dict[str, object], old: str, new: str, at: int,
                                                       seps: tuple[str, str], ascii_only: bool) -> None:
    from cleaner.jsonl import replace_value

    comma, colon = seps

    def field(k: str, v: object) -> str:
        return json.dumps(k, ensure_ascii=ascii_only) + colon + json.dumps(v, separators=seps, ensure_ascii=ascii_only)

    items = list(rec.items())
    before = "".join(field(k, v) + comma for k, v in items[:at])
    after = "".join(comma + field(k, v) for k, v in items[at:])
    line = "{" + before + field("text", old) + after + "}\n"
    assert json.loads(line) == {**rec, "text": old}
    got = replace_value(line, "text", new).decode("utf-8")
    assert got == "{" + before + '"text"' + colon + json.dumps(new, ensure_ascii=False) + after + "}\n"


@pytest.mark.parametrize("bad", [b'{"text": "lone \\ud800 surrogate"}', b'{"text": "bad byte \xff"}'])
def test_jsonl_text_that_is_not_unicode_is_a_bad_record(tmp_path: Path, bad: bytes) -> None:
    data = b'{"text": "A fine sentence that is long enough."}\n' + bad + b"\n"
    r = run("--jsonl", input=data)
    assert r.returncode == 2 and b"<stdin>:2: bad JSON Lines record" in r.stderr
    assert b"Traceback" not in r.stderr
    r = run("--jsonl", "--on-error", "skip", "--rejects", str(tmp_path / "rej"), input=data)
    assert r.returncode == 0 and len(r.stdout.splitlines()) == 1
    assert (tmp_path / "rej").read_bytes() == bad + b"\n"


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


def _clean_in_worker(args: tuple[Cleaner, str]) -> str:
    cleaner, text = args
    return cleaner.clean_text(text)


def test_cleaner_with_an_index_copies_to_workers_only_read_only(tmp_path: Path) -> None:
    import multiprocessing as mp

    from cleaner import Config

    para = "A paragraph some earlier run kept, long enough to be indexed as a duplicate.\n"
    with Cleaner(Config(index_path=str(tmp_path / "seen.idx"))) as writer:
        writer.clean_text(para, doc_id="earlier")
        # a copy would wait forever for the lock this one holds: refused, with the way out
        with pytest.raises(TypeError, match=r"own index_path.*index_readonly=True"):
            pickle.dumps(writer)
    reader = Cleaner(Config(index_path=str(tmp_path / "seen.idx"), index_readonly=True))
    fresh = "A fresh sentence no run has seen before, long enough to be kept.\n"
    with mp.get_context("forkserver").Pool(2) as pool:
        got = pool.map(_clean_in_worker, [(reader, fresh + para)] * 4)
    assert got == [fresh] * 4
    reader.close()


def test_clean_records_names_the_record_it_cannot_clean() -> None:
    from cleaner.errors import InputError

    recs = [{"text": "A fine sentence that is long enough."}, {"text": "lone \ud800 surrogate"}]
    out = Cleaner().clean_records(recs)
    assert next(out) == recs[0]
    with pytest.raises(InputError, match="record 2: field 'text' holds a lone surrogate"):
        next(out)


def test_docs_pool_example_runs_and_dedups_across_shards(tmp_path: Path) -> None:
    script = ROOT / "docs/examples/pool_jsonl_shards.py"
    r = subprocess.run([sys.executable, str(script), str(tmp_path)], capture_output=True, text=True, timeout=300,
                       cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("25 records cleaned") == 4
    assert r.stdout.rstrip().endswith("the wire paragraph is kept in record(s) 0-3 only")
    for shard in sorted((tmp_path / "shards").glob("*.jsonl")):
        raw = [json.loads(x) for x in shard.open(encoding="utf-8")]
        clean = [json.loads(x) for x in (tmp_path / "clean" / shard.name).open(encoding="utf-8")]
        assert [c["id"] for c in clean] == [x["id"] for x in raw]
        assert all(c["source"] == "example" and "Leave a Reply" not in c["text"] for c in clean)
        assert all(c["text"] == x["text"].split("Leave a Reply")[0].rstrip("\n") + "\n" for c, x in zip(clean, raw, strict=True))


def test_datasets_map_example(tmp_path: Path) -> None:
    # find_spec, not import: pyarrow (under datasets) imported after hyperscan
    # aborts the process with some wheels (docs/etl.md); the example imports it first
    if importlib.util.find_spec("datasets") is None:
        pytest.skip("datasets is not installed")
    r = subprocess.run([sys.executable, str(ROOT / "docs/examples/hf_datasets_map.py")], capture_output=True,
                       text=True, timeout=300, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "cleaned 8 records; columns kept: ['text', 'id']" in r.stdout
