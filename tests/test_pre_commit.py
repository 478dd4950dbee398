"""The pre-commit door, end to end with the real ``pre-commit`` tool: a
temporary corpus repository installs this project's hooks with the configs
the README shows, and real ``git commit`` runs go through them."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
SAMPLES = sorted(p for p in (ROOT / "corpus_samples").glob("*.txt") if not p.name.endswith(".expected.txt"))

OPENING_A = "The first article opens with a sentence of its own, long enough to count.\n"
OPENING_B = "The second article has an opening line that is different from the first.\n"
PASTED = ("Prime Minister Jonas Gahr Store told reporters in Oslo on Monday that the government "
          "would present its budget plan next week.\n")
PODCAST = "Listen to this on Apple Podcasts every Friday morning\n"  # only the README's example rule


def expected(p: Path) -> bytes:
    return p.with_name(p.name[:-4] + ".expected.txt").read_bytes()


def pre_commit_exe() -> str:
    exe = shutil.which("pre-commit") or str(Path(sys.executable).with_name("pre-commit"))
    if not Path(exe).exists():
        pytest.fail("pre-commit is not installed (pip install '.[test]')")
    return exe


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """git and pre-commit isolated from the user's configuration; one
    PRE_COMMIT_HOME for the module, so the hook environment is built once."""
    home = tmp_path_factory.mktemp("home")
    (home / "gitconfig").write_text("[user]\n\tname = t\n\temail = t@t\n[init]\n\tdefaultBranch = main\n")
    return {**os.environ, "GIT_CONFIG_GLOBAL": str(home / "gitconfig"), "GIT_CONFIG_NOSYSTEM": "1",
            "PRE_COMMIT_HOME": str(home / "pre-commit")}


def git(repo: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, env=env, timeout=300)


@pytest.fixture(scope="module")
def hooks_repo(tmp_path_factory: pytest.TempPathFactory, env: dict[str, str]) -> tuple[Path, str]:
    """This project's working tree (not its last commit) as a git repository
    pre-commit can install from: the hooks under test are the ones on disk."""
    repo = tmp_path_factory.mktemp("hooks")
    names = subprocess.run(["git", "ls-files", "-z", "-co", "--exclude-standard"], cwd=ROOT, capture_output=True,
                           check=True).stdout.decode().split("\0")
    for name in filter(None, names):
        src = ROOT / name
        if src.is_file():
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, repo / name)
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "snapshot"]):
        assert git(repo, env, *args).returncode == 0
    return repo, git(repo, env, "rev-parse", "HEAD").stdout.strip()


def readme_configs(repo: Path, rev: str) -> list[str]:
    """The ``.pre-commit-config.yaml`` blocks of the README's pre-commit
    section, pointed at ``repo`` at ``rev``."""
    section = README.split("## In a corpus repository: pre-commit", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```yaml\n(.*?)```", section, re.S)
    assert len(blocks) == 2, "the README shows a basic config and one with a duplicate index"
    return [re.sub(r"rev: \S+", f"rev: {rev}", re.sub(r"repo: \S+", f"repo: {repo}", b)) for b in blocks]


def corpus_repo(path: Path, env: dict[str, str], config: str) -> Path:
    """A corpus repository with ``config`` installed and the README's rule
    example as its own rule folder (``corpus-rules/``)."""
    path.mkdir()
    assert git(path, env, "init", "-q").returncode == 0
    (path / ".pre-commit-config.yaml").write_text(config)
    (path / ".gitignore").write_text(".clean-index*\n")
    (path / "corpus-rules").mkdir()
    toml = re.search(r"```toml\n(.*?)```", README, re.S)
    assert toml is not None
    (path / "corpus-rules" / "podcasts.toml").write_text(toml.group(1))
    subprocess.run([pre_commit_exe(), "install"], cwd=path, check=True, capture_output=True, env=env)
    return path


def said(r: subprocess.CompletedProcess[str]) -> str:
    return r.stdout + r.stderr  # under git commit, pre-commit reports on stderr


def commit(repo: Path, env: dict[str, str], *files: str) -> subprocess.CompletedProcess[str]:
    assert git(repo, env, "add", *files).returncode == 0
    return git(repo, env, "commit", "-qm", "change")


def test_hooks_stop_fix_report_why_and_let_the_next_commit_through(tmp_path: Path, env: dict[str, str],
                                                                   hooks_repo: tuple[Path, str]) -> None:
    config = readme_configs(*hooks_repo)[0]
    config += "  - id: clean-check\n    args: [--rules, corpus-rules/]\n    stages: [manual]\n"
    repo = corpus_repo(tmp_path / "corpus", env, config)
    # a clean file goes through, and the hook does not touch it
    tidy = repo / "tidy.txt"
    tidy.write_bytes(expected(SAMPLES[0]))
    os.utime(tidy, ns=(1_000_000_000_000_000_000, 1_000_000_000_000_000_000))
    first = commit(repo, env, ".")
    assert first.returncode == 0, first.stdout + first.stderr
    assert "Passed" in said(first)  # the hook ran on tidy.txt
    assert tidy.stat().st_mtime_ns == 1_000_000_000_000_000_000
    # two dirty files: one of the samples, one with a line only the corpus's own rules remove
    page = repo / "page.txt"
    shutil.copy(SAMPLES[1], page)
    promo = repo / "promo.txt"
    promo.write_text(OPENING_A + PODCAST)
    default_only = subprocess.run([sys.executable, "-m", "cleaner", str(promo)], capture_output=True, check=True)
    assert default_only.stdout == promo.read_bytes()  # so the args really reach the hook
    assert git(repo, env, "add", "page.txt", "promo.txt").returncode == 0
    # clean-check: fails, says which files and why, changes nothing
    check = subprocess.run([pre_commit_exe(), "run", "clean-check", "--hook-stage", "manual"], cwd=repo,
                           capture_output=True, text=True, env=env)
    assert check.returncode == 1
    assert re.search(r"would clean page\.txt \(\S+ \d+", said(check))
    assert "would clean promo.txt (podcasts.listen-on 1)" in said(check)
    assert page.read_bytes() == SAMPLES[1].read_bytes() and promo.read_text() == OPENING_A + PODCAST
    # clean: the commit stops, the files are fixed
    stopped = git(repo, env, "commit", "-qm", "add pages")
    assert stopped.returncode != 0
    assert "Fixing page.txt" in said(stopped) and "Fixing promo.txt" in said(stopped)
    assert page.read_bytes() == expected(SAMPLES[1])
    assert promo.read_text() == OPENING_A
    assert git(repo, env, "log", "--oneline").stdout.count("\n") == 1
    # staged again, the commit goes through
    ok = commit(repo, env, "page.txt", "promo.txt")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    # every file clean: both hooks pass over all of them and rewrite none
    mtimes = {p.name: p.stat().st_mtime_ns for p in (tidy, page, promo)}
    for hook in (["clean"], ["clean-check", "--hook-stage", "manual"]):
        r = subprocess.run([pre_commit_exe(), "run", *hook, "--all-files"], cwd=repo, capture_output=True,
                           text=True, env=env)
        assert r.returncode == 0, r.stdout
    assert {p.name: p.stat().st_mtime_ns for p in (tidy, page, promo)} == mtimes
    assert git(repo, env, "status", "--porcelain").stdout == ""


def test_index_hook_catches_a_paragraph_pasted_into_two_files(tmp_path: Path, env: dict[str, str],
                                                              hooks_repo: tuple[Path, str]) -> None:
    config = readme_configs(*hooks_repo)[1]
    assert "--index" in config and "require_serial: true" in config
    repo = corpus_repo(tmp_path / "corpus", env, config)
    (repo / "a.txt").write_text(OPENING_A + "\n" + PASTED)
    ok = commit(repo, env, ".")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert (repo / ".clean-index").exists()
    # the paragraph pasted into a later commit's file is caught against the index
    (repo / "b.txt").write_text(OPENING_B + "\n" + PASTED)
    stopped = commit(repo, env, "b.txt")
    assert stopped.returncode != 0 and "Fixing b.txt" in said(stopped)
    assert (repo / "b.txt").read_text() == OPENING_B
    assert (repo / "a.txt").read_text() == OPENING_A + "\n" + PASTED
    assert commit(repo, env, "b.txt").returncode == 0
    # two new files of one commit: the first in file order keeps it
    other = "A different shared paragraph of the two new files, with words enough to be judged.\n"
    (repo / "c.txt").write_text("Farmers in the north expect a late harvest after weeks of heavy rain.\n\n" + other)
    (repo / "d.txt").write_text("The city council voted to extend the night bus service into the suburbs.\n\n" + other)
    stopped = commit(repo, env, "c.txt", "d.txt")
    assert stopped.returncode != 0
    assert "Fixing d.txt" in said(stopped) and "Fixing c.txt" not in said(stopped)
    assert (repo / "d.txt").read_text() == "The city council voted to extend the night bus service into the suburbs.\n"
    assert commit(repo, env, "c.txt", "d.txt").returncode == 0
    # a file edited later is not flagged against its own earlier copy
    with (repo / "a.txt").open("a") as f:
        f.write("One more line at the end of the first article, long enough again.\n")
    edited = commit(repo, env, "a.txt")
    assert edited.returncode == 0, edited.stdout + edited.stderr
    assert PASTED in (repo / "a.txt").read_text()
    # the index stays out of the repository (README: .clean-index* in .gitignore)
    assert git(repo, env, "status", "--porcelain").stdout == ""
