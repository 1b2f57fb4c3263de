import json
import os
from pathlib import Path

from .conftest import run


def test_init_then_config_show(tmp_path: Path, capsys) -> None:
    assert run("init", "--project", "churn") == 0
    assert "Initialised" in capsys.readouterr().out
    assert run("init") == 0
    assert "already exists" in capsys.readouterr().out

    assert run("config", "show", "--json") == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["core.project"] == {
        "value": "churn",
        "source": str(tmp_path / ".tether" / "config.toml"),
    }
    assert shown["objects.url"]["source"] == "default"

    assert run("--project", "flagged", "config", "show") == 0
    table = capsys.readouterr().out
    assert "flagged" in table and "flag" in table and "store.url" in table

    assert run("config", "get", "core.project") == 0
    assert capsys.readouterr().out.strip() == "churn"


def test_workspace_flag_and_subfolders(tmp_path: Path, capsys, monkeypatch) -> None:
    assert run("init", str(tmp_path / "proj")) == 0
    capsys.readouterr()
    sub = tmp_path / "proj" / "src" / "deep"
    sub.mkdir(parents=True)
    monkeypatch.chdir(sub)
    assert run("config", "get", "objects.url") == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "proj" / ".tether" / "objects")
    monkeypatch.chdir(tmp_path)
    assert run("-C", "proj", "config", "get", "core.project") == 0
    assert capsys.readouterr().out.strip() == "proj"


def test_objects_put_get_verify_roundtrip(tmp_path: Path, capsys) -> None:
    run("init")
    capsys.readouterr()
    folder = tmp_path / "data"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.txt").write_text("alpha\n")
    (folder / "sub" / "b.bin").write_bytes(os.urandom(10_000))

    assert run("objects", "put", str(folder / "a.txt")) == 0
    blob = capsys.readouterr().out.split()[0]
    assert run("objects", "put", str(folder)) == 0
    tree = capsys.readouterr().out.split()[0]

    assert run("objects", "get", blob, str(tmp_path / "a-copy.txt")) == 0
    assert (tmp_path / "a-copy.txt").read_text() == "alpha\n"
    assert run("objects", "get", "--tree", tree, str(tmp_path / "restored")) == 0
    assert (tmp_path / "restored" / "sub" / "b.bin").read_bytes() == (
        folder / "sub" / "b.bin"
    ).read_bytes()

    assert run("objects", "show", tree) == 0
    listing = capsys.readouterr().out
    assert "a.txt" in listing and "sub/b.bin" in listing
    assert run("objects", "ls") == 0
    assert blob in capsys.readouterr().out.split()
    assert run("objects", "verify") == 0
    assert "objects ok" in capsys.readouterr().out


def test_store_info_creates_the_embedded_database(tmp_path: Path, capsys) -> None:
    run("init")
    assert run("store", "info") == 0
    out = capsys.readouterr().out
    assert "sqlite:///" in out
    assert (tmp_path / ".tether" / "tether.db").exists()


def test_demo_runs_end_to_end_and_is_repeatable(tmp_path: Path, capsys) -> None:
    assert run("demo", str(tmp_path / "d")) == 0
    first = capsys.readouterr().out
    assert "dataset   demo-points@1" in first
    assert "4 of 4 steps cached" in first  # the second pipeline run reuses every step
    assert "model     demo-centroids v1  alias champion" in first
    lineage = first[first.index("lineage") : first.index("code ")]
    assert "train" in lineage and "validate" in lineage and "dataset demo-points@1" in lineage
    assert "verified" in first
    assert run("demo", str(tmp_path / "d")) == 0
    second = capsys.readouterr().out
    assert "demo-points@1" in second  # unchanged data is not versioned again
    assert "demo-centroids v1" in second  # nor is the same model registered twice
    assert run("-C", str(tmp_path / "d"), "pipeline", "ls", "--json") == 0
    assert capsys.readouterr().out.count('"demo"') >= 4


def test_init_follows_the_root_options(tmp_path: Path, capsys) -> None:
    assert run("-C", "here", "--project", "rooted", "init") == 0
    assert str(tmp_path / "here" / ".tether") in capsys.readouterr().out
    assert not (tmp_path / ".tether").exists()
    assert run("-C", "here", "config", "get", "core.project") == 0
    assert capsys.readouterr().out.strip() == "rooted"
