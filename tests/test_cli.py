"""The ``clean`` command, run as a real process (and in-process via CliRunner)."""

from __future__ import annotations

import json
import re
import subprocess
from collections import Counter
from pathlib import Path

import pytest
from conftest import (
    ARTICLE,
    CLEAN,
    CORPUS,
    DROP_LINE,
    JUNK,
    RULE_HEADER,
    clean_env,
    invoke_clean,
    line_text,
    parse_jsonl,
    rule_toml,
    run_clean,
    run_main,
    sample_names,
    sample_paths,
    split_lines,
)

from cleaner import __version__

SAMPLES = sample_names()
DIRTY = sample_paths(SAMPLES[0])[0] if SAMPLES else CORPUS / "missing.txt"
DIRTY_EXPECTED = sample_paths(SAMPLES[0])[1] if SAMPLES else CORPUS / "missing.expected.txt"
EXPLAIN_KEYS = {"doc", "line", "rule", "category", "action", "text"}


# -- input and output -----------------------------------------------------------


def test_stdin_to_stdout_without_file() -> None:
    r = run_clean([], DIRTY.read_bytes())
    assert r.returncode == 0
    assert r.stdout == DIRTY_EXPECTED.read_bytes()


def test_stdin_to_stdout_with_dash() -> None:
    r = run_clean(["-"], DIRTY.read_bytes())
    assert r.returncode == 0
    assert r.stdout == DIRTY_EXPECTED.read_bytes()


@pytest.mark.parametrize("name", SAMPLES)
def test_file_and_pipe_give_identical_bytes(name: str, tmp_path: Path) -> None:
    src, _ = sample_paths(name)
    out1, out2 = tmp_path / "out1.txt", tmp_path / "out2.txt"
    py = " ".join(f"'{c}'" for c in CLEAN)
    subprocess.run(f"{py} '{src}' > '{out1}'", shell=True, check=True, env=clean_env(), timeout=180)
    subprocess.run(f"cat '{src}' | {py} > '{out2}'", shell=True, check=True, env=clean_env(), timeout=180)
    assert out1.read_bytes() == out2.read_bytes()
    assert out1.read_bytes() != b""


def test_several_files_are_separate_documents(tmp_path: Path) -> None:
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text(f"{ARTICLE[0]}\n{JUNK}\n{ARTICLE[1]}\n", encoding="utf-8")
    b.write_text(f"{ARTICLE[0]}\n{ARTICLE[2]}\n", encoding="utf-8")
    r = run_main([a, b], None)
    assert r.returncode == 0, r.stderr.decode()
    # truncation stops at the end of a.txt; the repeat in b.txt is another document's
    assert r.stdout == f"{ARTICLE[0]}\n{ARTICLE[0]}\n{ARTICLE[2]}\n".encode()


def test_file_named_rules_given_as_dot_slash(tmp_path: Path) -> None:
    (tmp_path / "rules").write_text(f"{ARTICLE[0]}\n{DROP_LINE}\n", encoding="utf-8")
    r = run_clean(["./rules"], None, cwd=tmp_path)
    assert r.returncode == 0, r.stderr.decode()
    assert r.stdout == f"{ARTICLE[0]}\n".encode()


# -- --explain --------------------------------------------------------------------


def _check_explain(records: list[dict], doc_lines: dict[str, list[bytes]]) -> None:
    assert records, "nothing explained"
    for rec in records:
        assert set(rec) >= EXPLAIN_KEYS, rec
        assert rec["action"] in {"drop_line", "drop_block", "truncate_after", "strip"}, rec
        lines = doc_lines[rec["doc"]]
        assert 1 <= rec["line"] <= len(lines), rec
        assert line_text(lines[rec["line"] - 1]) == rec["text"], rec
        if rec["rule"] == "dedup.repeat":
            first = rec["first"]
            assert set(first) == {"doc", "line"}
            assert first["doc"] == rec["doc"]
            assert first["line"] < rec["line"]
        else:
            assert "first" not in rec, rec
        assert isinstance(rec["line"], int) and all(isinstance(rec[k], str) for k in EXPLAIN_KEYS - {"line"})


@pytest.mark.parametrize("name", SAMPLES)
def test_explain_to_file(name: str, tmp_path: Path) -> None:
    src, expected = sample_paths(name)
    log = tmp_path / "explain.jsonl"
    r = run_clean(["--explain", log, src], None)
    assert r.returncode == 0, r.stderr.decode()
    assert r.stdout == expected.read_bytes()
    assert r.stderr == b""
    records = parse_jsonl(log.read_bytes())
    data = src.read_bytes()
    _check_explain(records, {str(src): split_lines(data)})
    # one record per removed line: the kept lines are exactly the others
    removed = {rec["line"] for rec in records if rec["action"] != "strip"}
    if not any(rec["action"] == "strip" for rec in records):
        kept = [raw for i, raw in enumerate(split_lines(data), 1) if i not in removed]
        assert b"".join(kept) == expected.read_bytes()


def test_explain_to_stderr_on_stdin() -> None:
    data = DIRTY.read_bytes()
    r = run_main(["--explain", "-"], data)
    assert r.returncode == 0
    assert r.stdout == DIRTY_EXPECTED.read_bytes()
    records = parse_jsonl(r.stderr)
    _check_explain(records, {"<stdin>#1": split_lines(data)})


def test_explain_line_numbers_and_first_copy() -> None:
    doc = "\n".join([
        ARTICLE[0],          # 1
        DROP_LINE,           # 2
        ARTICLE[1],          # 3
        ARTICLE[0].upper(),  # 4: a repeat of line 1
        ARTICLE[2],          # 5
        JUNK,                # 6: truncates
        "Name *",            # 7
    ]) + "\n"
    r = run_main(["--explain", "-"], doc.encode())
    assert r.returncode == 0
    assert r.stdout == f"{ARTICLE[0]}\n{ARTICLE[1]}\n{ARTICLE[2]}\n".encode()
    recs = sorted(parse_jsonl(r.stderr), key=lambda d: d["line"])
    assert [(d["line"], d["action"]) for d in recs] == [
        (2, "drop_line"), (4, "drop_line"), (6, "truncate_after"), (7, "truncate_after")]
    assert recs[0]["rule"] == "promos.report-error" and recs[0]["category"] == "promos"
    assert recs[1]["rule"] == "dedup.repeat"
    assert recs[1]["first"] == {"doc": "<stdin>#1", "line": 1}
    assert recs[1]["text"] == ARTICLE[0].upper()
    assert {d["rule"] for d in recs[2:]} == {"comments.leave-a-reply"}
    assert recs[3]["text"] == "Name *"
    assert all(d["doc"] == "<stdin>#1" for d in recs)


def test_explain_line_numbers_restart_per_document() -> None:
    doc = f"{ARTICLE[0]}\n{DROP_LINE}\n\f\n{ARTICLE[1]}\n{ARTICLE[2]}\n{DROP_LINE}\n"
    r = run_main(["--explain", "-"], doc.encode())
    assert r.returncode == 0
    recs = parse_jsonl(r.stderr)
    assert sorted((d["doc"], d["line"]) for d in recs) == [("<stdin>#1", 2), ("<stdin>#2", 3)]


def test_explain_is_valid_json_for_odd_text(tmp_path: Path) -> None:
    src = tmp_path / "odd.txt"
    src.write_bytes(ARTICLE[0].encode() + b"\n" + DROP_LINE.encode() + b"\n" + b"\"quoted\" \xff\xfe tab\t\n" * 2)
    log = tmp_path / "log.jsonl"
    r = run_main(["--explain", log, src], None)
    assert r.returncode == 0, r.stderr.decode()
    for line in log.read_text(encoding="utf-8").splitlines():
        json.loads(line)


def test_explain_unwritable_path_is_a_usage_error(tmp_path: Path) -> None:
    log = tmp_path / "no-such-dir" / "explain.jsonl"
    r = run_clean(["--explain", log], ARTICLE[0].encode() + b"\n")
    assert "Traceback" not in r.stderr.decode(), r.stderr.decode()
    assert r.returncode == 2


# -- --stats ----------------------------------------------------------------------


def _parse_stats(err: str) -> tuple[dict[str, int], dict[str, int], tuple[int, int]]:
    by_rule: dict[str, int] = {}
    by_cat: dict[str, int] = {}
    section: dict[str, int] | None = None
    bytes_io = (-1, -1)
    for line in err.splitlines():
        m = re.match(r"bytes: (\d+) in, (\d+) out$", line)
        if m:
            bytes_io = (int(m.group(1)), int(m.group(2)))
        elif line == "by category:":
            section = by_cat
        elif line == "by rule:":
            section = by_rule
        elif re.match(r"\S", line):
            section = None
        elif section is not None:
            n, name = line.split()
            section[name] = int(n)
    return by_rule, by_cat, bytes_io


@pytest.mark.parametrize("name", SAMPLES)
def test_stats(name: str, tmp_path: Path) -> None:
    src, expected = sample_paths(name)
    log = tmp_path / "explain.jsonl"
    r = run_clean(["--stats", "--explain", log, src], None)
    assert r.returncode == 0
    assert r.stdout == expected.read_bytes()
    by_rule, by_cat, (b_in, b_out) = _parse_stats(r.stderr.decode())
    assert (b_in, b_out) == (src.stat().st_size, expected.stat().st_size)
    records = parse_jsonl(log.read_bytes())
    assert by_rule == dict(Counter(d["rule"] for d in records))
    assert by_cat == dict(Counter(d["category"] for d in records))
    assert by_rule, "no per-rule counts"


def test_stats_on_clean_input() -> None:
    data = DIRTY_EXPECTED.read_bytes()
    r = run_main(["--stats"], data)
    assert r.returncode == 0
    assert r.stdout == data
    by_rule, by_cat, bytes_io = _parse_stats(r.stderr.decode())
    assert by_rule == {} and by_cat == {}
    assert bytes_io == (len(data), len(data))


# -- --check ----------------------------------------------------------------------


def test_check_dirty_file_exits_1(tmp_path: Path) -> None:
    r = run_clean(["--check", DIRTY], None)
    assert r.returncode == 1
    assert r.stdout == b""
    assert str(DIRTY) in r.stderr.decode()


@pytest.mark.parametrize("name", SAMPLES)
def test_check_clean_file_exits_0(name: str) -> None:
    _, expected = sample_paths(name)
    r = run_clean(["--check", expected], None)
    assert r.returncode == 0, r.stderr.decode()
    assert r.stdout == b""


def test_check_stdin() -> None:
    dirty = run_main(["--check"], DIRTY.read_bytes())
    assert (dirty.returncode, dirty.stdout) == (1, b"")
    clean = run_main(["--check", "-"], DIRTY_EXPECTED.read_bytes())
    assert (clean.returncode, clean.stdout) == (0, b"")


def test_check_lists_only_changed_files(tmp_path: Path) -> None:
    r = run_main(["--check", DIRTY_EXPECTED, DIRTY], None)
    assert r.returncode == 1
    assert r.stdout == b""
    err = r.stderr.decode()
    assert str(DIRTY) in err
    assert str(DIRTY_EXPECTED) not in err


def test_check_leaves_file_untouched(tmp_path: Path) -> None:
    src = tmp_path / "page.txt"
    data = DIRTY.read_bytes()
    src.write_bytes(data)
    r = run_main(["--check", src], None)
    assert r.returncode == 1
    assert src.read_bytes() == data


# -- usage errors, version, help -----------------------------------------------


USAGE_ERRORS = [
    ["--no-such-option"],
    ["/no/such/file.txt"],
    ["--dedup", "sideways"],
    ["--regex-timeout", "0"],
    ["--dedup-min-words", "0"],
    ["rules", "--no-such-option"],
    ["rules", "nosuchcommand"],
    ["rules", "list", "--nope"],
]


@pytest.mark.parametrize("args", USAGE_ERRORS)
def test_usage_errors_exit_2(args: list[str]) -> None:
    r = run_main(args, b"")
    assert r.returncode == 2, r
    assert r.stdout == b""
    assert r.stderr.strip()


@pytest.mark.parametrize("args", [["--no-such-option"], ["/no/such/file.txt"]], ids=["unknown-option", "missing-file"])
def test_usage_errors_exit_2_real_process(args: list[str]) -> None:
    r = run_clean(args, b"")
    assert r.returncode == 2, r
    assert r.stdout == b""
    assert b"Traceback" not in r.stderr
    assert b"Usage:" in r.stderr


def test_version() -> None:
    r = run_main(["--version"], None)
    assert r.returncode == 0
    assert __version__ in r.stdout.decode()


@pytest.mark.parametrize("flag", ["-h", "--help"])
def test_help_shows_examples(flag: str) -> None:
    r = run_main([flag], None)
    assert r.returncode == 0
    out = r.stdout.decode()
    assert "Examples:" in out
    assert "clean page.txt" in out
    for option in ("--rules", "--no-default-rules", "--explain", "--stats", "--check", "--dedup",
                   "--regex-timeout", "--version"):
        assert option in out, option


@pytest.mark.parametrize("args", [["rules", "-h"], ["rules", "list", "--help"], ["rules", "test", "-h"]])
def test_subcommand_help(args: list[str]) -> None:
    r = run_main(args, None)
    assert r.returncode == 0
    assert b"Usage:" in r.stdout


def test_clirunner_in_process_matches_subprocess() -> None:
    data = DIRTY.read_bytes()
    res = invoke_clean([], data)
    assert res.exit_code == 0, res.output
    assert res.stdout_bytes == DIRTY_EXPECTED.read_bytes()


# -- broken pipe ------------------------------------------------------------------


def _big_file(tmp_path: Path, *, form_feeds: bool) -> Path:
    """A few MB: the corpus samples over and over (with form-feed lines between
    copies, each copy is its own document on stdin, so the output is big too)."""
    chunk = b"".join(sample_paths(n)[0].read_bytes().rstrip(b"\n") + b"\n" for n in SAMPLES)
    if form_feeds:
        chunk += b"\f\n"
    else:  # one document: make every line distinct so that dedup keeps them
        chunk = b""
    big = tmp_path / "big.txt"
    with big.open("wb") as f:
        if form_feeds:
            while f.tell() < 4_000_000:
                f.write(chunk)
        else:
            i = 0
            while f.tell() < 4_000_000:
                f.write(f"Paragraph {i}: {ARTICLE[i % len(ARTICLE)]}\n".encode())
                i += 1
    return big


@pytest.mark.parametrize("form_feeds", [False, True], ids=["one-doc", "form-feeds"])
def test_pipe_into_head_exits_quietly(form_feeds: bool, tmp_path: Path) -> None:
    big = _big_file(tmp_path, form_feeds=form_feeds)
    clean = subprocess.Popen([*CLEAN, str(big)] if not form_feeds else CLEAN,
                             stdin=big.open("rb") if form_feeds else subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=clean_env())
    head = subprocess.Popen(["head", "-1"], stdin=clean.stdout, stdout=subprocess.PIPE)
    assert clean.stdout is not None
    clean.stdout.close()  # head holds the only read end now
    first, _ = head.communicate(timeout=180)
    _, err = clean.communicate(timeout=180)
    assert first.endswith(b"\n") and first.count(b"\n") == 1
    assert b"Traceback" not in err, err.decode()
    assert err == b""
    assert clean.returncode == 0


def test_shell_pipe_into_head(tmp_path: Path) -> None:
    big = _big_file(tmp_path, form_feeds=False)
    py = " ".join(f"'{c}'" for c in CLEAN)
    r = subprocess.run(["bash", "-c", f"{py} '{big}' | head -1; echo \"status=${{PIPESTATUS[0]}}\" >&2"],
                       capture_output=True, env=clean_env(), timeout=180)
    assert r.stdout == f"Paragraph 0: {ARTICLE[0]}\n".encode()
    assert r.stderr.decode().strip() == "status=0"


# -- regex timeout ----------------------------------------------------------------

# ``(a|aa)+$`` backtracks exponentially in ``regex`` on "aaa...a!"; the ``|!``
# alternative makes the prefilter report the rule on that line, so the slow
# regex really runs (``(a+)+$`` is handled in linear time by ``regex``, and a
# pattern the prefilter can rule out never reaches the regex at all).
CATASTROPHIC = r"(a|aa)+$|!"


def _timeout_rules(write_rules) -> Path:
    return write_rules("slow.toml", RULE_HEADER + rule_toml(
        "junk.catastrophic", CATASTROPHIC, drop=["aaa"], description="catastrophic backtracking"))


def test_regex_timeout_keeps_line_and_names_rule(write_rules) -> None:
    rules = _timeout_rules(write_rules)
    line = b"a" * 40 + b"!\n"
    args = ["--no-default-rules", "--rules", rules, "--regex-timeout", "0.05"]
    r = run_clean(args, ARTICLE[0].encode() + b"\n" + line, timeout=30)
    assert r.returncode == 0, r.stderr.decode()
    assert r.stdout == ARTICLE[0].encode() + b"\n" + line
    assert "junk.catastrophic" in r.stderr.decode()
    assert "Traceback" not in r.stderr.decode()


def test_regex_timeout_counted_in_stats(write_rules) -> None:
    rules = _timeout_rules(write_rules)
    r = run_clean(["--no-default-rules", "--rules", rules, "--regex-timeout", "0.05", "--stats"],
                  b"a" * 40 + b"!\n", timeout=30)
    assert r.returncode == 0
    err = r.stderr.decode()
    assert "timeout" in err and "junk.catastrophic" in err


def test_spec_pattern_finishes_and_keeps_line(write_rules) -> None:
    """The spec's own example pattern: whatever the engine does with it, the
    process ends promptly and the non-matching line is kept."""
    rules = write_rules("spec.toml", RULE_HEADER + rule_toml("junk.nested-plus", "(a+)+$", drop=["aaa"]))
    line = b"a" * 40 + b"!\n"
    r = run_clean(["--no-default-rules", "--rules", rules, "--regex-timeout", "0.05"], line, timeout=30)
    assert r.returncode == 0
    assert r.stdout == line
