"""The code a run came from: commit, branch, remote, uncommitted diff and untracked files.

Three concurrent ``git`` calls answer everything (``rev-parse``, ``status --porcelain=v2``,
``config``), then ``diff`` when tracked files changed. The diff is ``git diff HEAD --binary``:
staged and unstaged changes of tracked files, re-appliable with ``git apply`` onto the commit.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tether.tracking.capture.redact import strip_url_credentials

TIMEOUT_S = 10.0

# Make the output independent of the user's git configuration and never prompt or lock.
_GIT_ENV = {
    "LC_ALL": "C",
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_OPTIONAL_LOCKS": "0",
    "GIT_PAGER": "cat",
}
_STATUS_ARGS = ["status", "--porcelain=v2", "--branch", "-z", "--untracked-files=all"]
_DIFF_ARGS = [
    "diff",
    "HEAD",
    "--binary",
    "--no-color",
    "--no-ext-diff",
    "--no-textconv",
    "--src-prefix=a/",
    "--dst-prefix=b/",
    "--ignore-submodules=none",
]


@dataclass(frozen=True)
class GitInfo:
    """Where the code of a run came from, enough to rebuild its working tree.

    ``diff`` holds the uncommitted changes of tracked files (staged included) as
    ``git diff HEAD --binary`` output; ``untracked`` lists files git does not track and does
    not ignore, relative to ``root``. ``dirty`` means tracked files differ from ``commit``.
    """

    root: str
    workdir: str
    commit: str | None
    branch: str | None
    remote: str | None
    remote_url: str | None
    dirty: bool
    diff: bytes
    untracked: tuple[str, ...]

    def diff_digest(self) -> str | None:
        """BLAKE3 hex digest of ``diff``, the name it is stored under; None when clean."""
        if not self.diff:
            return None
        import blake3

        return str(blake3.blake3(self.diff).hexdigest())

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary; the diff itself is stored as an object, named by its digest."""
        return {
            "root": self.root,
            "workdir": self.workdir,
            "commit": self.commit,
            "branch": self.branch,
            "remote": self.remote,
            "remote_url": self.remote_url,
            "dirty": self.dirty,
            "diff_digest": self.diff_digest(),
            "diff_size": len(self.diff),
            "untracked": list(self.untracked),
        }


class _GitFailed(Exception):
    """A git command failed; the capture records it as a warning, never raises it."""


def capture_git(path: Path, *, warnings: list[str] | None = None) -> GitInfo | None:
    """What git knows about the working tree around ``path``.

    None when ``path`` is not inside a git repository, or git is missing or fails; the reason
    is appended to ``warnings`` (when given) except for the plain "not a repository" case.
    """
    git = shutil.which("git")
    if git is None:
        _warn(warnings, "git is not installed (not on PATH); the run records no code version")
        return None
    if _outside_any_repository(Path(path)):
        return None
    try:
        return _capture(git, Path(path))
    except _GitFailed as e:
        _warn(warnings, f"git information not recorded: {e}")
        return None


def _outside_any_repository(path: Path) -> bool:
    """True when git would only answer "not a git repository": no folder from ``path`` up
    holds a ``.git`` or looks like a bare repository, and no ``GIT_DIR`` / ``GIT_WORK_TREE``
    points elsewhere. Asking git costs three processes; a sweep run outside any repository
    (every run start re-checks within ``GIT_REUSE_S``) would pay them for nothing."""
    if "GIT_DIR" in os.environ or "GIT_WORK_TREE" in os.environ:
        return False
    folder = os.path.abspath(path)
    while True:
        if os.path.lexists(os.path.join(folder, ".git")) or (
            os.path.isfile(os.path.join(folder, "HEAD"))
            and os.path.isdir(os.path.join(folder, "objects"))
        ):
            return False
        parent = os.path.dirname(folder)
        if parent == folder:
            return True
        folder = parent


def _capture(git: str, path: Path) -> GitInfo | None:
    if not path.is_dir():
        path = path.parent
    # The three questions are independent: ask them at once, then read the answers.
    rev_call = _start(git, path, "rev-parse", "--show-toplevel", "--show-prefix")
    status_call = _start(git, path, *_STATUS_ARGS)
    remote_call = _start(git, path, "config", "-z", "--get-regexp", r"^remote\..*\.url$")
    try:
        rev = _finish(rev_call)
        if rev.returncode != 0:
            message = rev.stderr.decode(errors="replace").strip()
            if "not a git repository" in message:
                return None
            raise _GitFailed(message or f"git rev-parse exited with {rev.returncode}")
        lines = rev.stdout.decode("utf-8", errors="surrogateescape").splitlines()
        if not lines:
            raise _GitFailed(f"{path} has no working tree")
        status = _checked(_finish(status_call))
        remote, remote_url = _parse_remotes(_finish(remote_call).stdout)
    finally:
        for call in (rev_call, status_call, remote_call):
            if call.returncode is None:
                _stop(call)

    commit, branch, changed, untracked = _parse_status(status.stdout)
    if commit is None:
        # No commit yet: nothing to diff against, every file (staged or not) is untracked.
        untracked = sorted({*changed, *untracked})
        changed = []
    diff = _checked(_finish(_start(git, path, *_DIFF_ARGS))).stdout if changed else b""
    return GitInfo(
        root=lines[0],
        workdir=(lines[1].rstrip("/") or ".") if len(lines) > 1 else ".",
        commit=commit,
        branch=branch,
        remote=remote,
        remote_url=remote_url,
        dirty=bool(changed),
        diff=diff,
        untracked=tuple(untracked),
    )


def _parse_status(out: bytes) -> tuple[str | None, str | None, list[str], list[str]]:
    """(commit, branch, changed tracked paths, untracked paths) from porcelain v2 ``-z``."""
    commit: str | None = None
    branch: str | None = None
    changed: list[str] = []
    untracked: list[str] = []
    entries = out.split(b"\0")
    i = 0
    while i < len(entries):
        entry = entries[i].decode("utf-8", errors="surrogateescape")
        i += 1
        if not entry:
            continue
        kind = entry[0]
        if entry.startswith("# branch.oid "):
            oid = entry[len("# branch.oid ") :]
            commit = None if oid == "(initial)" else oid
        elif entry.startswith("# branch.head "):
            head = entry[len("# branch.head ") :]
            branch = None if head == "(detached)" else head
        elif kind == "1":  # ordinary change: 8 fields then the path
            changed.append(entry.split(" ", 8)[8])
        elif kind == "2":  # rename or copy: 9 fields then the path; the origin path follows
            changed.append(entry.split(" ", 9)[9])
            i += 1
        elif kind == "u":  # unmerged: 10 fields then the path
            changed.append(entry.split(" ", 10)[10])
        elif kind == "?":
            untracked.append(entry[2:])
    return commit, branch, changed, untracked


def _parse_remotes(out: bytes) -> tuple[str | None, str | None]:
    """``origin`` if it exists, else the first remote by name; its URL without credentials."""
    remotes: dict[str, str] = {}
    for item in out.decode("utf-8", errors="replace").split("\0"):
        key, _, url = item.partition("\n")
        if key.startswith("remote.") and key.endswith(".url"):
            remotes.setdefault(key[len("remote.") : -len(".url")], url)
    if not remotes:
        return None, None
    name = "origin" if "origin" in remotes else min(remotes)
    return name, strip_url_credentials(remotes[name])


def _start(git: str, path: Path, *args: str) -> subprocess.Popen[bytes]:
    try:
        return subprocess.Popen(
            [git, "-C", str(path), *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, **_GIT_ENV},
        )
    except OSError as e:
        raise _GitFailed(f"could not run git: {e}") from e


def _finish(call: subprocess.Popen[bytes]) -> subprocess.CompletedProcess[bytes]:
    try:
        out, err = call.communicate(timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired as e:
        _stop(call)
        raise _GitFailed(f"git {_verb(call.args)} took longer than {TIMEOUT_S:g} s") from e
    return subprocess.CompletedProcess(call.args, call.returncode, out, err)


def _stop(call: subprocess.Popen[bytes]) -> None:
    """Kill an unneeded or hung git and close its pipes."""
    call.kill()
    call.communicate()


def _checked(result: subprocess.CompletedProcess[bytes]) -> subprocess.CompletedProcess[bytes]:
    if result.returncode != 0:
        message = result.stderr.decode(errors="replace").strip()
        raise _GitFailed(message or f"git {_verb(result.args)} exited with {result.returncode}")
    return result


def _verb(args: object) -> str:
    """``status`` from ``[git, "-C", path, "status", ...]``."""
    return str(args[3]) if isinstance(args, list) and len(args) > 3 else "command"


def _warn(warnings: list[str] | None, message: str) -> None:
    if warnings is not None:
        warnings.append(message)
