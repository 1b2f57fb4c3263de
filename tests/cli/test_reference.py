from pathlib import Path

from tether.cli.reference import render

DOC = Path(__file__).parents[2] / "docs" / "cli.md"


def test_cli_reference_is_current() -> None:
    assert DOC.read_text() == render(), (
        "docs/cli.md is out of date: run `python -m tether.cli.reference > docs/cli.md`"
    )


def test_every_command_is_documented() -> None:
    text = render()
    for command in (
        "tether data push",
        "tether runs compare",
        "tether pipeline resume",
        "tether remote add",
        "tether reproduce",
        "tether objects verify",
        "tether objects repair",
    ):
        assert f"## `{command}`" in text
