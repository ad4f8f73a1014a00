"""The command table of ``sidecar.cli.main`` agrees with the modules that define the commands."""

from __future__ import annotations

import pytest

from sidecar.cli.main import COMMANDS, build_parser, main


@pytest.mark.parametrize("name", COMMANDS)
def test_each_command_has_its_help(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main([name, "--help"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.startswith(f"usage: sidecar {name} ")


@pytest.mark.parametrize("name", COMMANDS)
def test_the_tables_help_line_is_the_modules(name: str) -> None:
    # Built for this command, the listing shows the line its module wrote, not the table's.
    listing = " ".join(build_parser([name]).format_help().split())
    assert f" {name} {COMMANDS[name].help}" in listing


def test_an_unknown_command_is_refused_with_the_choices(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["nope"])
    assert exit_.value.code == 2
    assert "'health'" in capsys.readouterr().err
