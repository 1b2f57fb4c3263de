"""Fault injection: `tether data add`, `data checkout` and `data push` killed with SIGKILL at
seeded random moments, then the promises checked.

After every kill: `tether objects verify` passes (no half-written object is ever visible), every
dataset version recorded in the metadata store has all its objects, and the dataset folder holds
the old or the new version, never a mix. A re-run of the same command succeeds with the right
result, and leaves no temporary file behind (the killed writer's included).

Each kill lands at a random point of a run measured beforehand, or a random moment after the
command's work began (seeded: a failure names its seed, iteration and delay; timings vary from
machine to machine, so a replay lands near, not exactly at, the same point).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tether.objects import ObjectStore, hash_bytes

pytestmark = pytest.mark.slow

SEED = int(os.environ.get("FAULTS_SEED", "20261206"))
"""Replay a failure with ``FAULTS_SEED=<seed it names> pytest tests/test_faults.py``."""
ITERATIONS = 4
SMALL_FILES = 500
BIG = 4 * 1024 * 1024  # stored loose (the small files are packed)


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TETHER_")}
    env["XDG_CONFIG_HOME"] = str(home / "xdg")
    env["GIT_CEILING_DIRECTORIES"] = str(home)
    return env


class Workspace:
    """A Tether workspace driven through the real CLI, in subprocesses."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.env = _env(root.parent)
        root.mkdir()
        self.tether("init", "--project", "faults")

    def argv(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "tether", *args]

    def tether(self, *args: str) -> str:
        proc = subprocess.run(
            self.argv(*args),
            cwd=self.root,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert proc.returncode == 0, f"tether {' '.join(args)}: {proc.stderr}"
        return proc.stdout

    def timed(self, *args: str) -> float:
        start = time.monotonic()
        self.tether(*args)
        return time.monotonic() - start

    def killed(self, kill: Kill, *args: str) -> int:
        """Start ``tether ARGS`` and SIGKILL it when ``kill`` says; its exit status."""
        with subprocess.Popen(
            self.argv(*args),
            cwd=self.root,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        ) as proc:
            if kill.after is not None:  # first wait for the work to start
                deadline = time.monotonic() + 60
                while proc.poll() is None and time.monotonic() < deadline:
                    if kill.after():
                        break
                    time.sleep(0.002)
            time.sleep(kill.delay)
            proc.send_signal(signal.SIGKILL)
            return proc.wait()

    @property
    def objects_dir(self) -> Path:
        return self.root / ".tether" / "objects"

    def versions(self) -> dict[int, dict[str, str]]:
        """Every version of dataset ``data``: number -> {path: digest}; each one's objects
        all present (the metadata store never names an object the store lacks)."""
        from tether.store import open_store

        objects = ObjectStore(str(self.objects_dir))
        store = open_store(f"sqlite:///{self.root / '.tether' / 'tether.db'}")
        try:
            if "data" not in store.list_datasets("faults"):
                return {}
            out = {}
            for v in store.list_dataset_versions("faults", "data"):
                tree = objects.read_tree(v.tree_digest)
                absent = objects.missing({e.digest: e.size for e in tree.entries})
                assert not absent, f"data@{v.version} lacks {len(absent)} objects"
                out[v.version] = {e.path: e.digest for e in tree.entries}
            return out
        finally:
            store.close()


def _write(folder: Path, files: dict[str, bytes]) -> None:
    for rel, data in files.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_bytes(data)


def _content(folder: Path) -> dict[str, str] | None:
    """{path: digest} of every file under ``folder``; None when it does not exist."""
    if not folder.is_dir():
        return None
    return {
        p.relative_to(folder).as_posix(): hash_bytes(p.read_bytes())
        for p in folder.rglob("*")
        if p.is_file()
    }


def _dataset(rng: random.Random) -> dict[str, bytes]:
    files = {f"part{i % 5}/f{i:04d}.bin": rng.randbytes(2048) for i in range(SMALL_FILES)}
    files.update({f"big{i}.bin": rng.randbytes(BIG) for i in range(2)})
    return files


def _change(rng: random.Random, folder: Path) -> None:
    """A new version: a third of the files rewritten, some removed, some added, a big one new."""
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    for p in rng.sample(files, len(files) // 3):
        p.chmod(0o644)
        p.write_bytes(rng.randbytes(2048))
    for p in rng.sample(files, 10):
        if p.exists():
            p.unlink()
    tag = rng.randrange(1 << 30)
    _write(folder, {f"new/{tag}-{i}.bin": rng.randbytes(2048) for i in range(20)})
    _write(folder, {"big0.bin": rng.randbytes(BIG)})


TEMPORARY_MARKS = (".tmp", ".tether-tmp", ".tether-checkout-", ".tether-old-")
"""Names of the temporary files and folders Tether's atomic writes make (config/atomic.py,
objects get, checkout)."""


def _no_litter(root: Path, what: str) -> None:
    """No temporary file or folder anywhere in the workspace, ``.tether/`` included."""
    litter = [
        str(Path(folder, name).relative_to(root))
        for folder, dirs, files in os.walk(root)
        for name in [*dirs, *files]
        if any(mark in name for mark in TEMPORARY_MARKS)
    ]
    assert litter == [], f"{what}: temporary files left: {litter}"


def _no_temporaries(store_dir: Path, what: str) -> None:
    left = sorted(os.listdir(store_dir / "tmp")) if (store_dir / "tmp").exists() else []
    assert left == [], f"{what}: temporary files left in {store_dir / 'tmp'}: {left}"
    owners = store_dir / "owners"
    locks = sorted(os.listdir(owners)) if owners.exists() else []
    assert locks == [], f"{what}: writer locks left in {owners}: {locks}"


def _verify(ws: Workspace, what: str) -> None:
    proc = subprocess.run(
        ws.argv("objects", "verify"), cwd=ws.root, env=ws.env, capture_output=True, text=True
    )
    assert proc.returncode == 0, f"{what}: objects verify failed: {proc.stdout}{proc.stderr}"


@dataclass(frozen=True)
class Kill:
    """When to kill: ``delay`` seconds after the start, or after ``after()`` first holds."""

    delay: float
    after: Callable[[], bool] | None = None

    def __str__(self) -> str:
        return f"{self.delay:.3f} s after {'the start' if self.after is None else 'work began'}"


def _kills(
    rng: random.Random, ws: Workspace, started: Callable[[], bool], *args: str
) -> Callable[[int], Kill]:
    """Kill moments for runs of ``tether ARGS`` (timed now): even iterations anywhere from
    about the end of the start-up to a little past the end; odd ones at a random moment
    after ``started`` first holds (the command's work has begun: a temporary file exists)."""
    startup = ws.timed("data", "ls")  # a command that does little
    duration = max(ws.timed(*args), startup * 1.2)

    def kill(it: int) -> Kill:
        if it % 2 == 0:
            return Kill(rng.uniform(0.8 * startup, 1.05 * duration))
        return Kill(rng.uniform(0, duration - startup), started)

    return kill


def _any_in(folder: Path, prefix: str = "") -> Callable[[], bool]:
    def found() -> bool:
        try:
            return any(n.startswith(prefix) for n in os.listdir(folder))
        except FileNotFoundError:
            return False

    return found


def test_killed_add(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    ws = Workspace(tmp_path / "ws")
    data = ws.root / "data"
    _write(data, _dataset(rng))
    ws.tether("data", "add", "data")
    _change(rng, data)
    kills = _kills(rng, ws, _any_in(ws.objects_dir / "tmp"), "data", "add", "data")

    for it in range(ITERATIONS):
        before = ws.versions()
        _change(rng, data)
        expected = _content(data)
        kill = kills(it)
        what = f"FAULTS_SEED={SEED}, add iteration {it}, killed {kill}"
        ws.killed(kill, "data", "add", "data")

        _verify(ws, what)
        after = ws.versions()  # every recorded version complete
        assert {k: v for k, v in after.items() if k in before} == before, what
        assert all(v == expected for k, v in after.items() if k not in before), what
        assert _content(data) == expected, what  # add never touches the data

        ws.tether("data", "add", "data")  # the re-run
        latest = ws.versions()
        assert latest[max(latest)] == expected, what
        _no_temporaries(ws.objects_dir, what)
        _no_litter(ws.root, what)
        _verify(ws, what)


def test_killed_checkout(tmp_path: Path) -> None:
    rng = random.Random(SEED + 1)
    ws = Workspace(tmp_path / "ws")
    data = ws.root / "data"
    _write(data, _dataset(rng))
    ws.tether("data", "add", "data")
    old = _content(data)
    _change(rng, data)
    ws.tether("data", "add", "data")
    new = _content(data)
    assert old is not None and new is not None and old != new
    versions = {1: old, 2: new}
    root_names = sorted(os.listdir(ws.root))
    started = _any_in(ws.root, ".data.tether-checkout-")
    kills = _kills(rng, ws, started, "data", "checkout", "data@1")
    current = 1

    for it in range(ITERATIONS):
        target = 3 - current
        kill = kills(it)
        what = f"FAULTS_SEED={SEED}, checkout iteration {it} to data@{target}, killed {kill}"
        ws.killed(kill, "data", "checkout", f"data@{target}")

        assert _content(data) in (versions[current], versions[target]), (
            f"{what}: the folder holds neither version"
        )
        _verify(ws, what)
        ws.versions()

        ws.tether("data", "checkout", f"data@{target}")  # the re-run
        assert _content(data) == versions[target], what
        assert sorted(os.listdir(ws.root)) == root_names, f"{what}: leftovers beside the data"
        _no_temporaries(ws.objects_dir, what)
        _no_litter(ws.root, what)
        current = target


def test_killed_push(tmp_path: Path) -> None:
    rng = random.Random(SEED + 2)
    ws = Workspace(tmp_path / "ws")
    data = ws.root / "data"
    _write(data, _dataset(rng))
    ws.tether("data", "add", "data")
    _change(rng, data)
    ws.tether("data", "add", "data")
    everything = {d for files in ws.versions().values() for d in files.values()}

    remote = tmp_path / "measure"
    ws.tether("remote", "add", "origin", str(remote), "--default")
    kills = _kills(rng, ws, lambda: _any_in(remote / "tmp")(), "data", "push", "--all-versions")

    for it in range(ITERATIONS):
        remote = tmp_path / f"remote{it}"
        ws.tether("remote", "add", "origin", str(remote), "--default", "--force")
        kill = kills(it)
        what = f"FAULTS_SEED={SEED}, push iteration {it}, killed {kill}"
        ws.killed(kill, "data", "push", "--all-versions")

        if remote.exists():
            store = ObjectStore(str(remote))
            report = store.verify_all()
            assert report.clean, f"{what}: the remote holds damaged objects: {report}"
            for digest in store.list():  # a tree on the remote has all its files there
                tree = _tree_or_none(store, digest)
                if tree is not None:
                    assert not store.missing({e.digest: e.size for e in tree.entries}), what
        _verify(ws, what)

        ws.tether("data", "push", "--all-versions")  # the re-run
        store = ObjectStore(str(remote))
        assert store.missing(everything) == set(), what
        assert store.verify_all().clean, what
        _no_temporaries(remote, what)
        _no_litter(ws.root, what)


def _tree_or_none(store: ObjectStore, digest: str) -> object:
    from tether.objects.sync import tree_or_none

    return tree_or_none(store, digest)
