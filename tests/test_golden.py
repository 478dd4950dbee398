"""Golden files: every corpus sample becomes exactly its ``.expected.txt``."""

from __future__ import annotations

import pytest
from conftest import line_text, output_explained, run_clean, sample_names, sample_paths, split_lines

from cleaner import Cleaner

SAMPLES = sample_names()


def test_there_are_samples() -> None:
    assert SAMPLES, "corpus_samples/ holds no X.txt with an X.expected.txt"
    for name in SAMPLES:
        _, expected = sample_paths(name)
        assert expected.is_file(), f"{name}.txt has no {name}.expected.txt"


@pytest.mark.parametrize("name", SAMPLES)
def test_library_clean_bytes(name: str, default_cleaner: Cleaner) -> None:
    src, expected = sample_paths(name)
    assert default_cleaner.clean_bytes(src.read_bytes()) == expected.read_bytes()


@pytest.mark.parametrize("name", SAMPLES)
def test_library_fresh_cleaner(name: str) -> None:
    src, expected = sample_paths(name)
    assert Cleaner().clean_bytes(src.read_bytes(), doc_id=name) == expected.read_bytes()


@pytest.mark.parametrize("name", SAMPLES)
def test_cli_file_argument(name: str) -> None:
    src, expected = sample_paths(name)
    r = run_clean([src], None)
    assert r.returncode == 0, r.stderr.decode()
    assert r.stdout == expected.read_bytes()
    assert r.stderr == b""


@pytest.mark.parametrize("name", SAMPLES)
def test_cli_stdin(name: str) -> None:
    src, expected = sample_paths(name)
    r = run_clean([], src.read_bytes())
    assert r.returncode == 0, r.stderr.decode()
    assert r.stdout == expected.read_bytes()
    assert r.stderr == b""


@pytest.mark.parametrize("name", SAMPLES)
def test_expected_is_a_fixed_point(name: str, default_cleaner: Cleaner) -> None:
    """Cleaning the expected output changes nothing."""
    _, expected = sample_paths(name)
    data = expected.read_bytes()
    assert default_cleaner.clean_bytes(data) == data


@pytest.mark.parametrize("name", SAMPLES)
def test_kept_lines_are_input_lines_in_order(name: str, default_cleaner: Cleaner) -> None:
    src, _ = sample_paths(name)
    data = src.read_bytes()
    decisions: list = []
    out = default_cleaner.clean_bytes(data, sink=decisions.append)
    lines = split_lines(data)
    for d in decisions:
        assert line_text(lines[d.line - 1]) == d.text, d
    assert output_explained(out, data, decisions)
