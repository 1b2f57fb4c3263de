from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import blake3
import pytest

import tether
from tether.tracking.capture import REDACTED, capture_command

PRINT_CAPTURE = (
    "import json\n"
    "from tether.tracking.capture import capture_command\n"
    "print(json.dumps(capture_command().to_dict()))\n"
)


def run_python(*args: str, cwd: Path, stdin: str | None = None) -> dict[str, Any]:
    """Run a fresh interpreter that prints its own capture_command()."""
    env = {**os.environ, "PYTHONPATH": str(cwd)}
    env.pop("JPY_SESSION_NAME", None)
    out = subprocess.run(
        [sys.executable, *args],
        cwd=cwd,
        env=env,
        check=True,
        capture_output=True,
        text=True,
        input=stdin,
    ).stdout
    result: dict[str, Any] = json.loads(out.splitlines()[-1])
    return result


def test_script_file_and_its_digest(tmp_path: Path) -> None:
    script = tmp_path / "train.py"
    script.write_text("print('training')\n")
    info = capture_command(["train.py", "--lr", "0.1"], cwd=tmp_path)
    assert info.entry_point == str(script.resolve())
    assert info.entry_point_digest == blake3.blake3(script.read_bytes()).hexdigest()
    assert info.argv == ("train.py", "--lr", "0.1")
    assert info.cwd == str(tmp_path)
    assert not info.interactive and info.module is None
    json.dumps(info.to_dict())


def test_module_resolves_to_its_file() -> None:
    info = capture_command(["-m", "tether", "--help"])
    assert info.module == "tether"
    assert info.entry_point == str(Path(tether.__file__).parent.joinpath("__main__.py").resolve())
    assert info.entry_point_digest is not None

    plain = capture_command(["-m", "json.tool"])
    assert plain.entry_point is not None and plain.entry_point.endswith("tool.py")


def test_unknown_module_or_missing_script_is_a_warning(tmp_path: Path) -> None:
    warnings: list[str] = []
    info = capture_command(["-m", "tether_no_such_module"], warnings=warnings)
    assert info.entry_point is None and info.entry_point_digest is None
    assert len(warnings) == 1 and "tether_no_such_module" in warnings[0]

    warnings.clear()
    info = capture_command(["gone.py"], cwd=tmp_path, warnings=warnings)
    assert info.entry_point is None and not info.interactive
    assert len(warnings) == 1 and "gone.py" in warnings[0]


@pytest.mark.parametrize("argv", [[""], ["-c", "print(1)"], ["-"], []])
def test_interactive_has_no_entry_point(argv: list[str]) -> None:
    info = capture_command(argv)
    assert info.interactive
    assert info.entry_point is None and info.entry_point_digest is None


def test_secrets_are_redacted_from_the_command_line(tmp_path: Path) -> None:
    info = capture_command(
        ["train.py", "--api-key=abc", "--password", "hunter2", "--max-tokens", "5"], cwd=tmp_path
    )
    assert info.argv == (
        "train.py",
        f"--api-key={REDACTED}",
        "--password",
        REDACTED,
        "--max-tokens",
        "5",
    )
    assert "hunter2" not in json.dumps(info.to_dict())


def test_real_script(tmp_path: Path) -> None:
    script = tmp_path / "job.py"
    script.write_text(PRINT_CAPTURE)
    info = run_python("job.py", "--epochs", "2", "--token", "xyz", cwd=tmp_path)
    assert info["entry_point"] == str(script.resolve())
    assert info["entry_point_digest"] == blake3.blake3(script.read_bytes()).hexdigest()
    assert info["argv"] == ["job.py", "--epochs", "2", "--token", REDACTED]
    assert info["orig_argv"][1:] == ["job.py", "--epochs", "2", "--token", REDACTED]
    assert info["module"] is None and not info["interactive"]


def test_real_module_and_real_c(tmp_path: Path) -> None:
    package = tmp_path / "jobs"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "fit.py").write_text(PRINT_CAPTURE)
    info = run_python("-X", "utf8", "-m", "jobs.fit", "--seed", "1", cwd=tmp_path)
    assert info["module"] == "jobs.fit"
    assert info["entry_point"] == str((package / "fit.py").resolve())
    assert info["orig_argv"][1:] == ["-X", "utf8", "-m", "jobs.fit", "--seed", "1"]

    inline = run_python("-c", PRINT_CAPTURE, cwd=tmp_path)
    assert inline["interactive"] and inline["entry_point"] is None


@pytest.mark.parametrize(
    ("args", "module"),
    [
        (["-m", "jobs.fit", "-m", "x"], "jobs.fit"),  # the script's own -m is an argument
        (["-mjobs.fit"], "jobs.fit"),
        (["-u", "-W", "ignore", "-X", "dev", "-m", "jobs.fit"], "jobs.fit"),
        (["job.py", "-m", "jobs.fit"], None),
        (["-c", PRINT_CAPTURE, "-m", "jobs.fit"], None),
        (["-", "-m", "jobs.fit"], None),  # the program from stdin
        ([], None),
    ],
)
def test_module_from_interpreter_command_line(
    tmp_path: Path, args: list[str], module: str | None
) -> None:
    """The module a real interpreter runs, read from its own command line (sys.orig_argv)."""
    (tmp_path / "jobs").mkdir()
    (tmp_path / "jobs" / "__init__.py").write_text("")
    (tmp_path / "jobs" / "fit.py").write_text(PRINT_CAPTURE)
    (tmp_path / "job.py").write_text(PRINT_CAPTURE)
    info = run_python(*args, cwd=tmp_path, stdin=PRINT_CAPTURE)
    assert info["module"] == module
    assert info["orig_argv"][1:] == args
