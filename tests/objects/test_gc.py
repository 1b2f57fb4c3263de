"""Garbage collection: every kind of root keeps its objects; what nothing refers to goes."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

import tether
import tether.tracking.lifecycle as lifecycle
from tests.support import isolate_from_machine
from tether.config import init_workspace
from tether.objects.errors import CollectionAborted
from tether.objects.gc import collect
from tether.pipelines.loader import load_file
from tether.tracking.session import close_sessions

FLOW = """
from tether.pipelines import step, pipeline

@step
def numbers(n: int) -> list:
    return list(range(n))

@step
def total(values: list) -> int:
    print("summing")
    return sum(values)

@pipeline
def flow(n: int = 5):
    return total(numbers(n))
"""


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    root = tmp_path / "ws"
    init_workspace(root, project="proj")
    monkeypatch.chdir(root)
    isolate_from_machine(monkeypatch, tmp_path)
    saved_path = list(sys.path)
    yield root
    sys.path[:] = saved_path
    for run in lifecycle.running():
        run.end("killed")
    close_sessions()


def _files(root: Path, folder: str, contents: dict[str, bytes]) -> Path:
    path = root / folder
    path.mkdir(parents=True, exist_ok=True)
    for name, data in contents.items():
        (path / name).write_bytes(data)
    return path


def _git(root: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.email=t@example.com", "-c", "user.name=t", *args],
        cwd=root,
        check=True,
        capture_output=True,
    )


def _tree_members(ws: tether.Workspace, digest: str) -> set[str]:
    return {digest} | {e.digest for e in ws.objects.read_tree(digest).entries}


def _copies(objects_root: Path) -> dict[str, int]:
    """Every file under the objects folder with its mtime (what a dry run must not change)."""
    return {
        str(p.relative_to(objects_root)): p.stat().st_mtime_ns
        for p in objects_root.rglob("*")
        if p.is_file() and "owners" not in p.parts
    }


def test_each_kind_of_root_keeps_its_objects_and_the_rest_goes(
    root: Path, store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TETHER_STORE_URL", store_url)
    (root / "code.py").write_text("x = 1\n")
    _git(root, "init", "-q")
    _git(root, "add", "code.py")
    _git(root, "commit", "-qm", "first")
    (root / "code.py").write_text("x = 2\n")  # a diff for the run to capture
    ws = tether.Workspace(root)
    data = _files(root, "data", {f"f{i}.txt": f"row {i}\n".encode() for i in range(20)})
    version = ws.add(data)
    inp = _files(root, "in", {"in.csv": b"a,b\n1,2\n"}) / "in.csv"
    art = _files(root, "out", {"model.bin": b"weights" * 100, "meta.json": b"{}"})
    with ws.run(name="train") as run:
        run.log_input(inp)
        tree = run.log_artifact(art)
    flow_file = _files(root, "flows", {"flow.py": FLOW.encode()}) / "flow.py"
    flows = load_file(flow_file, f"gc_flow_{os.getpid()}_{store_url.split(':')[0]}")
    first = flows.flow(executor="inline")
    model = _files(root, "model", {"weights.npz": b"model bytes", "tether-model.json": b"{}"})
    model_tree = ws.objects.put_tree(model).digest  # not recorded: the collector looks at it
    ws.store.create_model_version("proj", "m", artifact_digest=model_tree, flavor="python")
    junk = ws.objects.put_bytes(b"nobody refers to me").digest
    junk_tree = ws.objects.put_tree(_files(root, "junk", {"j.txt": b"junk file"})).digest
    info = ws.get_run(run.id)
    assert info.code is not None and info.code.diff is not None
    referenced = (
        _tree_members(ws, version.tree_digest)
        | _tree_members(ws, tree)
        | _tree_members(ws, model_tree)
        | {ws.objects.put_file(inp).digest, info.code.diff}
        | {ws.store.get_run(run.id).info["env"]["packages_digest"]}
    )
    for s in first.steps.values():
        referenced |= {d for o in s.outputs.values() for d in _tree_members(ws, o)}
        assert s.logs_digest is not None
        referenced.add(s.logs_digest)
    gone = {junk} | _tree_members(ws, junk_tree)
    assert referenced <= set(ws.objects.list())

    report = ws.gc(grace_s=0)

    stored = set(ws.objects.list())
    assert referenced <= stored
    assert not gone & stored
    assert report.removed == len(gone)
    assert report.kept == len(stored)
    assert ws.objects.verify_all().clean
    ws.close()
    close_sessions()
    # a fresh process finds everything it needs: cached steps, dataset files, artifacts, diff
    script = f"""
        import sys, tether
        from tether.pipelines.loader import load_file
        flows = load_file({str(root / "flows" / "flow.py")!r}, "again")
        again = flows.flow(executor="inline")
        assert all(s.cached for s in again.steps.values()), again.steps
        assert again.output() == 10
        ws = tether.Workspace()
        files = sorted(p.name for p in tether.dataset("data").path().iterdir())
        assert files == {sorted(p.name for p in data.iterdir())!r}, files
        ws.objects.get_tree({tree!r}, {str(root / "restored")!r})
        ws.objects.get_bytes({info.code.diff!r})
        print("ok")
    """
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert (root / "restored" / "model.bin").read_bytes() == b"weights" * 100


def test_deleted_datasets_and_runs_are_freed(root: Path) -> None:
    ws = tether.Workspace(root)
    kept = ws.add(_files(root, "kept", {"k.txt": b"kept"}))
    gone = ws.add(_files(root, "gone", {"g.txt": b"gone", "h.txt": b"also gone"}))
    with ws.run(name="r", capture=False) as run:
        artifact = run.log_artifact(_files(root, "a", {"a.bin": b"artifact"}) / "a.bin")
    freed = _tree_members(ws, gone.tree_digest) | {artifact}
    ws.store.delete_dataset("proj", "gone")
    ws.store.delete_run(run.id)

    report = ws.gc(grace_s=0)

    stored = set(ws.objects.list())
    assert _tree_members(ws, kept.tree_digest) <= stored
    assert not freed & stored
    assert report.removed == len(freed) == 4  # the tree, two files, the artifact


def test_prediction_log_and_label_segments_are_kept(root: Path) -> None:
    from datetime import UTC, datetime

    ws = tether.Workspace(root)
    ws.store.get_or_create_project("proj")
    now = datetime.now(UTC)
    segment = ws.objects.put_bytes(b"a Parquet segment of the prediction log").digest
    labels = ws.objects.put_bytes(b"a Parquet segment of late labels").digest
    junk = ws.objects.put_bytes(b"nobody refers to me").digest
    for digest, version in ((segment, 1), (labels, 0)):
        ws.store.add_prediction_segment(
            "proj", "churn", version=version, start_time=now, end_time=now, rows=1, digest=digest
        )

    report = ws.gc(grace_s=0)

    stored = set(ws.objects.list())
    assert {segment, labels} <= stored
    assert junk not in stored
    assert report.removed == 1


def test_dry_run_lists_what_would_go_and_changes_nothing(root: Path) -> None:
    ws = tether.Workspace(root)
    ws.add(_files(root, "kept", {"k.txt": b"kept"}))
    junk = ws.objects.put_tree(_files(root, "junk", {"a": b"a", "b": b"bb"}))
    before = _copies(root / ".tether" / "objects")

    dry = ws.gc(grace_s=0, dry_run=True)

    assert _copies(root / ".tether" / "objects") == before
    would = {d for d, _ in dry.removed_objects}
    assert would == _tree_members(ws, junk.digest)
    assert (
        dry.removed_bytes
        == sum(n for _, n in dry.removed_objects)
        == junk.size + len(ws.objects.get_bytes(junk.digest))
    )
    real = ws.gc(grace_s=0)
    assert real.removed_objects == dry.removed_objects
    assert not would & set(ws.objects.list())


def test_grace_keeps_objects_written_recently(root: Path) -> None:
    ws = tether.Workspace(root)
    junk = ws.objects.put_bytes(b"not recorded yet").digest
    packed = ws.objects.put_tree(_files(root, "p", {"p.txt": b"packed, not recorded"}))

    young = ws.gc()  # the default grace: an hour

    assert young.removed == 0 and young.young == 3
    assert {junk, packed.digest} <= set(ws.objects.list())
    assert ws.gc(grace_s=0).removed == 3


def test_compaction_keeps_every_live_object_readable(root: Path) -> None:
    ws = tether.Workspace(root)
    keep = {f"k{i}.txt": f"kept {i}".encode() * 50 for i in range(5)}
    drop = {f"d{i}.txt": f"dropped {i}".encode() * 50 for i in range(15)}
    ws.add(_files(root, "both", keep | drop))  # one pack holds all 20 files and the tree
    kept = ws.add(_files(root, "kept", keep))  # the same 5 files: found in that pack
    ws.store.delete_dataset("proj", "both")
    packs = root / ".tether" / "objects" / "packs"
    assert len(list(packs.glob("*.pack"))) == 2  # the second holds only kept's tree

    mostly_live = ws.gc(grace_s=0, pack_threshold=0.1)  # 19% live: above 0.1, left alone
    assert mostly_live.packs_compacted == 0
    assert mostly_live.left_in_packs == 16
    assert len(set(ws.objects.list())) == 1 + 5 + 16  # kept's tree, its files, both's

    report = ws.gc(grace_s=0)  # 19% live: below 0.5, rewritten

    assert report.packs_compacted == 1 and report.removed == 16
    assert len(list(packs.glob("*.pack"))) == 2
    assert set(ws.objects.list()) == _tree_members(ws, kept.tree_digest)
    assert ws.objects.verify_all().clean
    ws.objects.get_tree(kept.tree_digest, root / "out")
    assert {p.name: p.read_bytes() for p in (root / "out").iterdir()} == keep


def test_a_damaged_tree_stops_the_collection_before_deleting(root: Path) -> None:
    ws = tether.Workspace(root)
    version = ws.add(_files(root, "data", {"a.txt": b"a" * 2_000_000}))  # a loose file
    ws.objects.put_bytes(b"garbage")
    tree_path = Path(ws.objects.backend.loose_path(version.tree_digest))  # type: ignore[attr-defined]
    tree_path.chmod(0o644)
    tree_path.write_bytes(b'{"entries":[')  # cut short
    before = set(ws.objects.list())

    with pytest.raises(CollectionAborted, match=version.tree_digest) as err:
        ws.gc(grace_s=0)

    assert "dataset proj/data v1" in str(err.value)
    assert set(ws.objects.list()) == before


def test_collect_refuses_a_remote_store(root: Path, s3_endpoint: str) -> None:
    from tether.objects import ObjectStore
    from tether.objects.errors import CollectionUnsupported

    remote = ObjectStore(
        "s3://tether-objects-test/gc",
        storage_options={"endpoint_url": s3_endpoint, "key": "k", "secret": "s"},
    )
    with pytest.raises(CollectionUnsupported, match="local object store"):
        collect(remote, tether.Workspace(root).store)


ADDER = """
import pathlib, sys, tether
root, n = pathlib.Path(sys.argv[1]), int(sys.argv[2])
ws = tether.Workspace(root)
pool = [f"shared content {k}\\n".encode() * 40 for k in range(12)]
for i in range(n):
    data = root / f"d{i}"
    data.mkdir()
    for j in range(6):  # files that older, deleted versions had: found stored, not written
        (data / f"f{j}").write_bytes(pool[(i * 5 + j) % len(pool)])
    (data / "own").write_bytes(f"only in version {i}".encode())
    (data / "big").write_bytes(bytes([i % 3]) * 1_200_000)  # loose, not packed
    version = ws.add(data, name=f"ds{i}", pointer=False)
    for e in ws.objects.read_tree(version.tree_digest).entries:
        ws.objects.get_bytes(e.digest)  # raises if a collection took it
    if i:
        ws.store.delete_dataset("proj", f"ds{i - 1}")
print("added", n)
"""

COLLECTOR = """
import pathlib, sys, tether
root, stop = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
ws = tether.Workspace(root)
runs = removed = 0
while not stop.exists() or runs < 2:  # at least once after the last add
    removed += ws.gc(grace_s=0).removed
    runs += 1
print("collected", runs, removed)
"""


@pytest.mark.slow
def test_collection_with_no_grace_is_safe_against_a_concurrent_add(root: Path) -> None:
    """Two processes: one adds versions that reuse the objects of deleted ones, the other
    collects with no grace at all; every version is complete when recorded and stays so."""
    tether.Workspace(root).store.get_or_create_project("proj")
    stop = root / "stop"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    collector = subprocess.Popen(
        [sys.executable, "-c", COLLECTOR, str(root), str(stop)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        adder = subprocess.run(
            [sys.executable, "-c", ADDER, str(root), "12"],
            capture_output=True,
            text=True,
            timeout=240,
            env=env,
        )
    finally:
        stop.touch()
        out, err = collector.communicate(timeout=120)
    assert adder.returncode == 0, adder.stderr
    assert collector.returncode == 0, err
    runs, removed = map(int, out.split()[1:])
    assert runs >= 2 and removed > 0, out
    ws = tether.Workspace(root)
    last = ws.store.get_dataset_version("proj", "ds11")
    ws.objects.get_tree(last.tree_digest, root / "out")
    assert (root / "out" / "own").read_bytes() == b"only in version 11"
    assert ws.objects.verify_all().clean


def test_a_tree_within_the_grace_period_keeps_its_older_files(root: Path) -> None:
    """A writer that records later (a pipeline step) stores a new tree of files that were
    stored long ago and are unreferenced: the tree is kept by the grace, and so are they."""
    import time

    ws = tether.Workspace(root)
    files = {"a.txt": b"old file a", "b.txt": b"old file b"}
    ws.add(_files(root, "old", files))
    ws.store.delete_dataset("proj", "old")
    time.sleep(1.5)  # as old as the grace period below: what is written after is younger
    (root / "renamed" / "x").mkdir(parents=True)
    new = ws.objects.put_tree(_files(root, "renamed/x", files).parent)

    report = ws.gc(grace_s=1.5)

    assert report.removed == 1  # the deleted version's tree, not its files
    ws.objects.get_tree(new.digest, root / "out")
    assert (root / "out" / "x" / "a.txt").read_bytes() == b"old file a"


def test_a_step_value_found_stored_is_kept_until_its_step_is_recorded(root: Path) -> None:
    """A step stores a value equal to an old, unreferenced one (a deleted run's output): the
    store finds it there; a collection before the step is recorded keeps it and its files."""
    import time

    from tether.pipelines.values import load_value, store_value

    ws = tether.Workspace(root)
    ws.store.get_or_create_project("proj")  # opened now, not in the timed part
    first = store_value(ws.objects, {"rows": list(range(50))}, "output", root / "scratch")
    time.sleep(1.5)  # as old as the grace period below: what is written after is younger
    again = store_value(ws.objects, {"rows": list(range(50))}, "output", root / "scratch")
    assert again.digest == first.digest

    ws.gc(grace_s=1.5)

    assert load_value(ws.objects, again.digest, root / "cache") == {"rows": list(range(50))}
