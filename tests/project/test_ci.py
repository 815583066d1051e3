"""CI runs exactly what the README tells people to run."""

from __future__ import annotations

import re

from ..conftest import REPO


def readme_commands() -> list[str]:
    quick_start = (REPO / "README.md").read_text().split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```(?:bash|sh)\n(.+?)\n```", quick_start)


def test_quick_start_has_two_one_line_commands():
    commands = readme_commands()
    assert len(commands) == 2, commands
    assert all("\n" not in c for c in commands)
    assert "notebooks/01-quickstart.ipynb" in commands[0] and "jupyter" in commands[0]
    assert "pytest" in commands[1]


def test_ci_runs_the_readme_test_command_verbatim():
    ci = (REPO / ".ci" / "run").read_text().splitlines()
    assert readme_commands()[1] in ci


def test_quick_start_says_to_clone_and_cd_first():
    quick_start = (REPO / "README.md").read_text().split("## Quick start", 1)[1].split("```", 1)[0]
    assert "git clone https://github.com/twibox/twibox_nb.git" in quick_start
    assert "cd twibox_nb" in quick_start


def test_ci_then_runs_the_suite_on_other_dates_under_faketime():
    ci = (REPO / ".ci" / "run").read_text()
    assert "FAKETIME_DONT_FAKE_MONOTONIC=1" in ci
    dates = re.findall(r"faketime_suite '(\d{4}-\d{2}-\d{2}) \d{2}:\d{2}:\d{2}'", ci)
    assert "2028-02-29" in dates and any(d >= "2027-07-15" for d in dates), dates
    assert "--ignore=tests/ui" in ci and "--ignore=tests/binder" in ci
