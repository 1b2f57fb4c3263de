"""Each user mistake gets one clear line on stderr and exit code 1, never a traceback."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import run


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    assert run("init") == 0
    return tmp_path


def _fails(capsys: pytest.CaptureFixture[str], args: list[str], *fragments: str) -> str:
    code = run(*args)
    err = capsys.readouterr().err
    assert code == 1, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in err, f"{fragment!r} not in {err!r}"
    return err


def test_no_workspace(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    _fails(capsys, ["config", "show"], "no Tether workspace found", str(tmp_path), "tether init")


def test_invalid_config_names_the_key(ws: Path, capsys) -> None:
    (ws / ".tether" / "config.toml").write_text("[objects]\nworkers = 'lots'\n")
    _fails(capsys, ["config", "show"], "objects.workers", "config.toml")
    (ws / ".tether" / "config.toml").write_text("[objects]\nwrokers = 2\n")
    _fails(capsys, ["config", "show"], "unknown setting 'objects.wrokers'")


def test_unparsable_and_unreadable_config(ws: Path, capsys) -> None:
    cfg = ws / ".tether" / "config.toml"
    cfg.write_text("this is = = not toml")
    _fails(capsys, ["config", "show"], "not valid TOML", str(cfg))
    cfg.unlink()
    cfg.mkdir()  # unreadable even for root
    _fails(capsys, ["config", "show"], "cannot read config file", str(cfg))


def test_unknown_store_scheme(ws: Path, capsys) -> None:
    _fails(
        capsys,
        ["--store-url", "mysql://db.example.com/t", "store", "info"],
        "'mysql'",
        "sqlite",
        "postgresql",
    )


def test_unreachable_database_hides_password(ws: Path, capsys) -> None:
    url = "postgresql+psycopg://alice:s3cret@127.0.0.1:1/tether"
    err = _fails(capsys, ["--store-url", url, "store", "info"], "127.0.0.1:1", "alice")
    assert "s3cret" not in err


def test_objects_folder_not_writable(ws: Path, capsys) -> None:
    blocker = ws / "a-file"
    blocker.write_text("not a folder")
    data = ws / "data.bin"
    data.write_bytes(b"x" * 100)
    _fails(
        capsys,
        ["--objects-url", str(blocker / "objects"), "objects", "put", str(data)],
        str(blocker),
    )


def test_object_not_found(ws: Path, capsys) -> None:
    digest = "0" * 64
    _fails(capsys, ["objects", "get", digest, str(ws / "out")], digest)
    assert not (ws / "out").exists()


def test_object_corrupted(ws: Path, capsys) -> None:
    data = ws / "data.bin"
    data.write_bytes(os.urandom(4096))
    assert run("objects", "put", str(data)) == 0
    digest = capsys.readouterr().out.split()[0]
    stored = ws / ".tether" / "objects" / digest[:2] / digest[2:]
    stored.chmod(0o644)
    stored.write_bytes(b"tampered")
    _fails(capsys, ["objects", "verify"], digest)
    _fails(capsys, ["objects", "verify", digest], digest)


def test_console_script_reports_errors_without_traceback(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TETHER_")}
    proc = subprocess.run(
        [sys.executable, "-m", "tether", "config", "show"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 1
    assert proc.stderr.startswith("error: no Tether workspace found")
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["runs", "ls", "--bogus"], "No such option: --bogus"),
        (["runs", "show"], "Missing argument"),
        (["nonsense"], "No such command"),
    ],
)
def test_usage_mistakes_get_usage_not_a_traceback(
    ws: Path, capsys: pytest.CaptureFixture[str], args: list[str], fragment: str
) -> None:
    assert run(*args) == 2
    err = capsys.readouterr().err
    assert "Usage: tether" in err and fragment in err and "Traceback" not in err
