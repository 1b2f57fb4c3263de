"""`tether objects verify` names damaged objects and packs, `tether data add` stores damaged
objects again, and `tether objects repair` drops what is damaged so that an add restores it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tether.objects import hash_bytes

from .conftest import run

BIG = 1024 * 1024 + 100  # stored loose, not packed


@pytest.fixture
def data(ws: Path) -> dict[str, bytes]:
    """A folder ``data`` of small (packed) files and one big (loose) file, added."""
    files = {f"small/{i}.txt": os.urandom(200) for i in range(10)}
    files["big.bin"] = os.urandom(BIG)
    for rel, content in files.items():
        (ws / "data" / rel).parent.mkdir(parents=True, exist_ok=True)
        (ws / "data" / rel).write_bytes(content)
    assert run("data", "add", "data") == 0
    return files


def _objects(ws: Path) -> Path:
    return ws / ".tether" / "objects"


def _loose(ws: Path, content: bytes) -> Path:
    digest = hash_bytes(content)
    return _objects(ws) / digest[:2] / digest[2:]


def _verify(capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    capsys.readouterr()
    code = run("objects", "verify")
    out, err = capsys.readouterr()
    return code, out, err


def _checkout_matches(ws: Path, files: dict[str, bytes]) -> None:
    assert run("data", "checkout", "data", "--to", "restored") == 0
    for rel, content in files.items():
        assert (ws / "restored" / rel).read_bytes() == content


def test_add_stores_again_an_object_cut_short(
    ws: Path, data: dict[str, bytes], capsys: pytest.CaptureFixture[str]
) -> None:
    stored = _loose(ws, data["big.bin"])
    stored.chmod(0o644)
    stored.write_bytes(data["big.bin"][:100])  # a cut-short copy: its size tells
    assert run("data", "add", "data") == 0
    assert stored.read_bytes() == data["big.bin"]
    assert _verify(capsys)[0] == 0
    _checkout_matches(ws, data)


def test_add_stores_again_an_object_verify_found_corrupt(
    ws: Path, data: dict[str, bytes], capsys: pytest.CaptureFixture[str]
) -> None:
    stored = _loose(ws, data["big.bin"])
    stored.chmod(0o644)
    with open(stored, "r+b") as f:  # same size: only a re-hash finds it
        f.seek(1000)
        f.write(b"X" * 10)
    code, out, err = _verify(capsys)
    assert code == 1
    assert f"corrupt: {hash_bytes(data['big.bin'])}" in out
    assert "tether objects repair" in err

    assert run("data", "add", "data") == 0  # verify noted it: add stores it again
    assert stored.read_bytes() == data["big.bin"]
    assert _verify(capsys)[0] == 0
    _checkout_matches(ws, data)


def test_repair_then_add_restores_a_damaged_pack(
    ws: Path, data: dict[str, bytes], capsys: pytest.CaptureFixture[str]
) -> None:
    (pack,) = (_objects(ws) / "packs").glob("*.pack")
    pack.chmod(0o644)
    os.truncate(pack, pack.stat().st_size // 2)

    code, out, err = _verify(capsys)
    assert code == 1
    assert f"damaged pack: {pack} (the .pack file is cut short" in out
    assert "lost: " in out and "tether objects repair" in err
    # the big file is loose: it still reads
    assert run("objects", "get", hash_bytes(data["big.bin"]), "big.out") == 0
    assert (ws / "big.out").read_bytes() == data["big.bin"]

    assert run("objects", "repair") == 0
    out = capsys.readouterr().out
    assert f"repaired pack: {pack}" in out and "tether data add" in out
    assert _verify(capsys)[0] == 0  # what is left is whole
    assert run("data", "add", "data") == 0
    assert _verify(capsys)[0] == 0
    _checkout_matches(ws, data)


def test_repair_of_a_clean_store(ws: Path, data: dict[str, bytes], capsys) -> None:
    capsys.readouterr()
    assert run("objects", "repair") == 0
    assert "nothing to repair" in capsys.readouterr().out
