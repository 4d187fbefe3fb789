"""The README's quickstart is a contract: CI must run its test command verbatim."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _quickstart_commands():
    text = (ROOT / "README.md").read_text()
    section = text.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```bash\n(.+?)\n```", section, flags=re.S)


def test_quickstart_is_exactly_two_one_line_commands():
    commands = _quickstart_commands()
    assert len(commands) == 2
    assert all("\n" not in c for c in commands)
    assert commands[0].endswith("benchlab lab") and "pytest" in commands[1]


def test_ci_runs_the_readme_test_command_verbatim():
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert _quickstart_commands()[1] in ci


def test_documented_cli_commands_exist():
    from benchlab.cli import cli

    text = (ROOT / "README.md").read_text()
    documented = set(re.findall(r"`benchlab ([a-z-]+)", text))
    assert documented, "the README documents no command"
    missing = {c for c in documented if c not in cli.commands}
    assert missing == set(), f"README documents commands that do not exist: {sorted(missing)}"
