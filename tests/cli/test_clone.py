"""A fresh `git clone` gets its data: `tether data pull` + `checkout` from the default remote.

Every test makes a real git project (tether init, two versions of a dataset pushed to a remote,
pointers and .tether/config.toml committed) and a real `git clone` of it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from tether.config import find_workspace, load_settings
from tether.data.remote_records import record_path
from tether.objects import ObjectStore
from tether.objects.digest import hash_bytes
from tether.store import open_store_from_settings

from .conftest import run

BUCKET = "tether-clone-test"
V1 = {"a.txt": b"one\n", "b.txt": b"two\n"}
V2 = {"a.txt": b"one\n", "b.txt": b"TWO\n", "sub/c.txt": b"three\n"}


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True, timeout=60
    )
    return done.stdout


def write(folder: Path, files: dict[str, bytes]) -> None:
    if folder.exists():
        shutil.rmtree(folder)
    for rel, data in files.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_bytes(data)


def read(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


FOLDER_AND_S3 = ["folder", pytest.param("s3", marks=pytest.mark.s3)]


@pytest.fixture(params=FOLDER_AND_S3)
def remote_args(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> list[str]:
    """``tether remote add origin ...`` arguments: a local folder, or a prefix on moto (or on
    the GCS or Azure emulator, reached through the environment as a user's would be)."""
    if request.param == "folder":
        return [str(tmp_path / "remote")]
    if request.param == "gcs":
        monkeypatch.setenv("STORAGE_EMULATOR_HOST", request.getfixturevalue("gcs_bucket")(BUCKET))
        return [f"gs://{BUCKET}/{uuid.uuid4().hex}"]
    if request.param == "azure":
        connection_string = request.getfixturevalue("azure_container")(BUCKET)
        monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", connection_string)
        return [f"az://{BUCKET}/{uuid.uuid4().hex}"]
    endpoint = request.getfixturevalue("s3_bucket")(BUCKET)
    for var, value in [
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_DEFAULT_REGION", "us-east-1"),
        ("AWS_MAX_ATTEMPTS", "1"),
    ]:
        monkeypatch.setenv(var, value)
    return [f"s3://{BUCKET}/{uuid.uuid4().hex}", "--endpoint-url", endpoint]


@pytest.fixture
def project(tmp_path: Path, remote_args: list[str], capsys: pytest.CaptureFixture[str]) -> Path:
    """A git project whose dataset ``images`` has two versions, both pushed, pointers committed."""
    return make_project(tmp_path, remote_args, capsys)


@pytest.fixture
def folder_project(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """The same, with a local-folder remote at ``tmp_path / "remote"``."""
    return make_project(tmp_path, [str(tmp_path / "remote")], capsys)


def make_project(
    tmp_path: Path, remote_args: list[str], capsys: pytest.CaptureFixture[str]
) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.email", "t@example.com")
    git(root, "config", "user.name", "t")
    os.chdir(root)
    assert run("init", "--project", "p") == 0
    assert run("remote", "add", "origin", *remote_args, "--default") == 0
    write(root / "data" / "images", V1)
    assert run("data", "add", "data/images", "-m", "first") == 0
    assert run("data", "push") == 0
    write(root / "data" / "images", V2)
    assert run("data", "add", "data/images", "-m", "second") == 0
    assert run("data", "push") == 0
    assert "wrote 1 dataset-version record" in capsys.readouterr().out
    git(root, "add", "-A")
    git(root, "commit", "-qm", "data")
    return root


def clone(project: Path) -> Path:
    dest = project.parent / f"clone-{uuid.uuid4().hex[:6]}"
    git(project.parent, "clone", "-q", str(project), str(dest))
    os.chdir(dest)
    return dest


def json_lines(out: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in out.splitlines() if line.strip()]


@pytest.mark.parametrize(
    "remote_args",
    [
        *FOLDER_AND_S3,
        pytest.param("gcs", marks=pytest.mark.gcs),
        pytest.param("azure", marks=pytest.mark.azure),
    ],
    indirect=True,
)
def test_a_fresh_clone_pulls_checks_out_and_knows_its_versions(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    here = clone(project)
    assert not (here / "data" / "images").exists()  # git has the pointer, not the data
    assert run("data", "pull") == 0
    out = capsys.readouterr().out
    assert "pulled 1 version from origin" in out
    # images@2's 3 files (b.txt and c.txt new, a.txt shared) + its tree + images@1's tree
    assert "copied 5 objects (" in out
    assert "registered 2 versions in this workspace: images@1, images@2" in out
    assert run("data", "checkout") == 0
    assert "data/images: images@2 (3 written" in capsys.readouterr().out
    assert read(here / "data" / "images") == V2

    assert run("data", "status") == 0
    assert "data/images  (images@2): up to date" in capsys.readouterr().out
    assert run("data", "ls", "--json") == 0
    [latest] = json_lines(capsys.readouterr().out)
    assert (latest["dataset"], latest["version"], latest["file_count"]) == ("images", 2, 3)
    assert run("data", "log", "images", "--json") == 0
    log = json_lines(capsys.readouterr().out)
    original = json_lines(in_folder(project, capsys, "data", "log", "images", "--json"))
    assert log == original  # numbers, trees, counts, messages and times, as made
    assert [(v["version"], v["message"]) for v in log] == [(2, "second"), (1, "first")]
    assert run("data", "diff", "images@1", "images@2", "--json") == 0
    summary = json.loads(capsys.readouterr().out)["summary"]
    assert (summary["added"], summary["modified"], summary["unchanged"]) == (1, 1, 1)

    assert run("data", "pull") == 0  # again: nothing to copy, nothing to register
    out = capsys.readouterr().out
    assert "copied 0 objects" in out and "registered" not in out
    assert run("data", "pull", "images@1") == 0
    assert "copied 1 objects" in capsys.readouterr().out  # only b.txt of images@1 was missing
    assert run("data", "checkout", "images@1") == 0
    assert read(here / "data" / "images") == V1


def in_folder(folder: Path, capsys: pytest.CaptureFixture[str], *args: str) -> str:
    """The output of ``tether ARGS`` run in ``folder`` (then back to where we were)."""
    back = os.getcwd()
    os.chdir(folder)
    try:
        capsys.readouterr()
        assert run(*args) == 0
        return capsys.readouterr().out
    finally:
        os.chdir(back)


def registered(here: Path) -> list[tuple[str, int, str]]:
    """(dataset, version, tree) of every version the workspace's store holds."""
    settings = load_settings(find_workspace(here), {})
    store = open_store_from_settings(settings)
    try:
        try:
            names = store.list_datasets("p")
        except Exception:  # no project yet: nothing was ever registered
            return []
        return [
            (v.dataset, v.version, v.tree_digest)
            for name in names
            for v in store.list_dataset_versions("p", name)
        ]
    finally:
        store.close()


def pointer_tree(here: Path) -> str:
    text = (here / "data" / "images.tether").read_text()
    return text.split('tree = "')[1].split('"')[0]


def records(project: Path) -> Path:
    """The remote folder that holds the records of ``images``."""
    return (project.parent / "remote" / record_path("p", "images", 1)).parent


def test_a_remote_without_records_still_restores_the_pointer_version(
    folder_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.rmtree(records(folder_project))  # as pushed by a Tether that wrote no records
    here = clone(folder_project)
    assert run("data", "pull") == 0
    out = capsys.readouterr().out
    assert "registered 1 version in this workspace: images@2" in out
    assert "note: images@2: the remote has no record of it" in out
    assert "registered from the pointer file data/images.tether alone" in out
    assert run("data", "checkout") == 0
    assert read(here / "data" / "images") == V2
    capsys.readouterr()
    assert run("data", "log", "images", "--json") == 0
    [v2] = json_lines(capsys.readouterr().out)
    # what the pointer and the tree say; no message, no run
    assert (v2["version"], v2["file_count"], v2["total_size"], v2["message"]) == (2, 3, 14, None)


def test_a_remote_missing_an_object_names_the_version_and_registers_nothing(
    folder_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    here = clone(folder_project)
    remote = ObjectStore(str(folder_project.parent / "remote"))
    remote.delete(hash_bytes(V2["sub/c.txt"]))  # only in images@2
    assert run("data", "pull") == 1
    err = capsys.readouterr().err
    assert "dataset images@2 is not on the remote" in err
    assert "1 of its objects are missing there" in err and "tether data push" in err
    assert err.count("\n") == 1
    assert registered(here) == []


def test_a_local_version_under_the_same_number_is_never_replaced(
    folder_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    here = clone(folder_project)
    settings = load_settings(find_workspace(here), {})
    store = open_store_from_settings(settings)
    try:
        store.get_or_create_project("p")
        for tree in ("a" * 64, "b" * 64):  # this workspace's own images@1 and images@2
            store.create_dataset_version(
                "p", "images", tree_digest=tree, file_count=1, total_size=1
            )
    finally:
        store.close()
    before = registered(here)
    assert run("data", "pull") == 1
    err = capsys.readouterr().err
    assert f"this workspace's dataset images@2 is tree {'b' * 64}" in err
    assert f"the pointer file data/images.tether names tree {pointer_tree(here)}" in err
    assert "nothing was registered" in err
    assert registered(here) == before


def test_a_different_history_version_is_kept_with_a_note(
    folder_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    here = clone(folder_project)
    store = open_store_from_settings(load_settings(find_workspace(here), {}))
    try:
        store.get_or_create_project("p")
        store.create_dataset_version(
            "p", "images", tree_digest="a" * 64, file_count=1, total_size=1
        )
    finally:
        store.close()
    assert run("data", "pull") == 0
    out = capsys.readouterr().out
    assert "registered 1 version in this workspace: images@2" in out
    assert "note: images@1: kept this workspace's version" in out
    assert registered(here) == [("images", 1, "a" * 64), ("images", 2, pointer_tree(here))]


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda doc: b"{not json", "not JSON"),
        (lambda doc: json.dumps({**doc, "tree": "c" * 64}).encode(), "names tree " + "c" * 64),
        (lambda doc: json.dumps({**doc, "files": 7}).encode(), "counts 7 files"),
        (lambda doc: json.dumps({**doc, "version": 3}).encode(), "its version is 3"),
        (lambda doc: json.dumps({**doc, "created_at": "yesterday"}).encode(), "created_at"),
        (lambda doc: json.dumps({**doc, "format": 9}).encode(), "upgrade Tether"),
    ],
)
def test_a_damaged_record_is_refused_and_nothing_is_registered(
    folder_project: Path,
    capsys: pytest.CaptureFixture[str],
    damage: Callable[[dict[str, object]], bytes],
    message: str,
) -> None:
    path = records(folder_project) / "2.json"
    path.write_bytes(damage(json.loads(path.read_bytes())))
    here = clone(folder_project)
    assert run("data", "pull") == 1
    err = capsys.readouterr().err
    assert f"the dataset-version record {path} is invalid" in err and message in err
    assert err.count("\n") == 1
    assert registered(here) == []


def test_a_pointer_with_an_invalid_tree_is_refused(
    folder_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    here = clone(folder_project)
    pointer = here / "data" / "images.tether"
    pointer.write_text(pointer.read_text().replace(pointer_tree(here), "../../etc/passwd"))
    assert run("data", "pull") == 1
    assert "tree must be a digest of 64 lowercase hex characters" in capsys.readouterr().err
    assert registered(here) == []


def test_pushing_again_is_idempotent_and_a_diverged_number_is_refused(
    folder_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = sorted(p.name for p in records(folder_project).iterdir())
    assert run("data", "push", "--all-versions") == 0
    out = capsys.readouterr().out
    assert "copied 0 objects" in out and "record" not in out
    assert (
        sorted(p.name for p in records(folder_project).iterdir()) == before == ["1.json", "2.json"]
    )

    # a teammate's clone adds its own images@3 and pushes it first
    teammate = clone(folder_project)
    assert run("data", "pull") == 0
    write(teammate / "data" / "images", {"x.txt": b"theirs\n"})
    assert run("data", "add", "data/images") == 0
    assert run("data", "push") == 0
    os.chdir(folder_project)
    write(folder_project / "data" / "images", {"x.txt": b"ours\n"})
    assert run("data", "add", "data/images") == 0
    capsys.readouterr()
    remote_before = sorted(p.name for p in (folder_project.parent / "remote").rglob("*"))
    assert run("data", "push") == 1
    err = capsys.readouterr().err
    assert "already holds dataset images@3 with tree" in err and "nothing was pushed" in err
    assert sorted(p.name for p in (folder_project.parent / "remote").rglob("*")) == remote_before


def test_pull_says_what_to_do_when_there_is_nothing_to_pull(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("init", "--project", "p") == 0
    assert run("data", "pull") == 1
    err = capsys.readouterr().err
    assert "no default remote is configured" in err
    assert "`tether remote add NAME URL --default`" in err
    assert run("remote", "add", "origin", str(tmp_path / "remote"), "--default") == 0
    capsys.readouterr()
    assert run("data", "pull") == 0
    out = capsys.readouterr().out
    assert "nothing to pull: no pointer files (.tether) here" in out
    assert "pull NAME[@VERSION] by name" in out
    assert run("data", "pull", "nope") == 1
    assert "dataset 'nope' is neither in this workspace nor on the remote" in (
        capsys.readouterr().err
    )


def test_before_the_pull_every_command_says_to_pull(
    folder_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clone(folder_project)
    assert run("data", "ls") == 0
    assert "in a fresh clone, `tether data pull` fetches" in capsys.readouterr().out
    for args in [
        ("data", "log", "images"),
        ("data", "show", "images@2"),
        ("data", "diff", "images@1", "images@2"),
        ("data", "checkout", "images@2"),
    ]:
        assert run(*args) == 1, args
        err = capsys.readouterr().err
        assert "dataset 'images' does not exist in project 'p'" in err, args
        assert "`tether data pull` fetches those the pointer files name" in err, args
    for args in [("data", "status"), ("data", "checkout")]:
        assert run(*args) == 1, args
        err = capsys.readouterr().err
        assert "1 objects of dataset images@2 (data/images: its tree) are missing" in err, args
        assert "(tether data pull)" in err, args


def test_a_fresh_clone_pulls_an_older_version_by_name(
    folder_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    here = clone(folder_project)
    assert run("data", "pull", "images@1") == 0
    out = capsys.readouterr().out
    assert "pulled 1 version from origin" in out
    assert "registered 2 versions in this workspace: images@1, images@2" in out
    assert run("data", "checkout", "images@1") == 0
    assert read(here / "data" / "images") == V1
    assert run("data", "pull", "--all-versions") == 0  # the pointer now names images@1
    out = capsys.readouterr().out
    assert "pulled 2 versions" in out and "registered" not in out
    assert run("data", "checkout", "images@2") == 0
    assert read(here / "data" / "images") == V2


def test_a_clone_knows_the_history_even_when_only_the_latest_version_was_pushed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "project"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    os.chdir(root)
    assert run("init", "--project", "p") == 0
    assert run("remote", "add", "origin", str(tmp_path / "remote"), "--default") == 0
    write(root / "data" / "images", V1)
    assert run("data", "add", "data/images", "-m", "first") == 0
    write(root / "data" / "images", V2)
    assert run("data", "add", "data/images", "-m", "second") == 0
    assert run("data", "push") == 0  # the latest version's files; the history's records
    assert "wrote 2 dataset-version records" in capsys.readouterr().out
    git(root, "add", "-A")
    git(root, "-c", "user.email=t@x", "-c", "user.name=t", "commit", "-qm", "data")

    here = clone(root)
    assert run("data", "pull") == 0 and run("data", "checkout") == 0
    capsys.readouterr()
    assert read(here / "data" / "images") == V2
    assert run("data", "log", "images", "--json") == 0
    log = json_lines(capsys.readouterr().out)
    assert [(v["version"], v["message"]) for v in log] == [(2, "second"), (1, "first")]
    assert run("data", "diff", "images@1", "images@2", "--json") == 0
    summary = json.loads(capsys.readouterr().out)["summary"]
    assert (summary["added"], summary["modified"], summary["unchanged"]) == (1, 1, 1)
    assert run("data", "checkout", "images@1") == 1  # its b.txt was never pushed
    err = capsys.readouterr().err
    assert "missing" in err and "tether data pull" in err
    assert read(here / "data" / "images") == V2  # nothing changed
