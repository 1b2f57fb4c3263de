from __future__ import annotations

import json
from pathlib import Path

import pytest

from tether.tracking.capture import capture_all


def test_capture_all_in_a_repository(committed: Path) -> None:
    (committed / "train.py").write_text("lr = 0.2\n")
    capture = capture_all(committed, argv=["train.py", "--lr", "0.2"])
    assert capture.git is not None and capture.git.dirty
    assert capture.command.entry_point == str((committed / "train.py").resolve())
    assert capture.environment.packages_digest
    assert capture.host.cpu_count
    assert capture.warnings == ()
    record = json.loads(json.dumps(capture.to_dict()))
    assert set(record) == {"git", "environment", "host", "command", "warnings"}
    assert record["git"]["diff_digest"] == capture.git.diff_digest()


def test_capture_all_outside_a_repository(tmp_path: Path) -> None:
    capture = capture_all(tmp_path, argv=[""])
    assert capture.git is None
    assert capture.to_dict()["git"] is None
    assert capture.warnings == ()


def test_capture_all_without_git_or_nvidia_smi(
    committed: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "bin").mkdir()
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    capture = capture_all(committed, argv=["train.py"])
    assert capture.git is None
    assert capture.host.gpus == ()
    assert any("git is not installed" in w for w in capture.warnings)
    assert capture.command.entry_point_digest is not None
