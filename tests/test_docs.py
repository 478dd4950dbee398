"""The README is part of the product: its commands, options and rule example must be true."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import click
import pytest

from cleaner.cli import SUBCOMMANDS, clean_command
from cleaner.rules import load_rules
from cleaner.ruletest import check_examples

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def quick_start_commands() -> list[str]:
    section = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return [line[4:] for line in section.splitlines() if line.startswith("    ")]


def test_quick_start_is_two_commands_install_run_and_test() -> None:
    cmds = quick_start_commands()
    assert len(cmds) == 2, cmds
    assert "pip install" in cmds[0] and "clean corpus_samples/yahoo-scmp-reuters-doubled.txt" in cmds[0]
    assert "pip install" in cmds[1] and "[test]" in cmds[1] and "pytest" in cmds[1]
    assert (ROOT / "corpus_samples" / "yahoo-scmp-reuters-doubled.txt").exists()


def test_ci_runs_the_readme_test_command() -> None:
    # .ci/run extracts the second quick-start command from the README; check it finds this one
    script = (ROOT / ".ci" / "run").read_text()
    awk = re.search(r"cmd=\$\(awk '(.+?)' README\.md\)", script)
    assert awk is not None
    got = subprocess.run(["awk", awk.group(1), "README.md"], cwd=ROOT, capture_output=True, text=True, check=True)
    assert got.stdout.strip() == quick_start_commands()[1]


def _commands() -> list[tuple[str, click.Command]]:
    """``clean`` and every subcommand, with the words that call it."""
    out: list[tuple[str, click.Command]] = [("clean", clean_command)]
    for name, cmd in SUBCOMMANDS.items():
        if isinstance(cmd, click.Group):
            out += [(f"clean {name} {sub}", c) for sub, c in cmd.commands.items()]
        else:
            out.append((f"clean {name}", cmd))
    return out


def undocumented(cmd: click.Command, text: str) -> list[str]:
    """Options of ``cmd`` (long and short, --no- forms included) that ``text``
    never names as a whole word: ``--index`` is not documented by ``--index-readonly``."""
    missing = []
    for p in cmd.params:
        if isinstance(p, click.Option):
            for opt in [*p.opts, *p.secondary_opts]:
                if opt not in ("-h", "--help") and not re.search(rf"(?<![\w-]){re.escape(opt)}(?![\w-])", text):
                    missing.append(opt)
    return sorted(missing)


def test_every_cli_option_is_documented_in_readme() -> None:
    missing = {words: undocumented(cmd, README) for words, cmd in _commands()}
    assert not any(missing.values()), f"options missing from README.md: {missing}"


def test_the_option_check_fails_on_an_undocumented_option() -> None:
    # the check above can fail: drop an option's mentions from the README and it is caught,
    # even when a longer option starting with the same name is still there
    assert "--index-readonly" in README
    for opt in ("--index", "--no-progress", "-j"):
        text = re.sub(rf"(?<![\w-]){re.escape(opt)}(?![\w-])", "", README)
        assert undocumented(clean_command, text) == [opt]


def test_every_subcommand_is_documented_in_readme() -> None:
    for name, cmd in SUBCOMMANDS.items():
        if isinstance(cmd, click.Group):
            for sub in cmd.commands:
                assert f"clean {name} {sub}" in README, f"'clean {name} {sub}' is not in README.md"
        else:
            assert f"clean {name} " in README, f"'clean {name}' is not in README.md"


def test_readme_rule_example_loads_and_its_examples_pass(tmp_path: Path) -> None:
    block = re.search(r"```toml\n(.*?)```", README, re.S)
    assert block is not None
    path = tmp_path / "podcasts.toml"
    path.write_text(block.group(1), encoding="utf-8")
    rs = load_rules([path])
    assert "podcasts.listen-on" in {r.id for r in rs.rules}
    fails = [f for f in check_examples(rs) if f.rule_id == "podcasts.listen-on"]
    assert not fails, [str(f) for f in fails]


@pytest.mark.parametrize("code", ["0", "1", "2"])
def test_exit_codes_documented(code: str) -> None:
    assert re.search(rf"^\| {code} \|", README, re.M)


def test_every_pre_commit_hook_id_is_documented() -> None:
    hooks = (ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8")
    ids = re.findall(r"^- id: (\S+)", hooks, re.M)
    assert {"clean", "clean-check"} <= set(ids)
    for hook_id in ids:  # a hook added later must be documented too
        assert f"| `{hook_id}` |" in README, hook_id
