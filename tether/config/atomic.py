"""Atomic writes of small local files: write a temporary sibling, fsync, rename.

The imports it needs are made on the first write, so that reading a cache (``tether data
status``) does not pay for them.

The temporary file is created with mode 0o666 less the umask, like any file a program
writes (``tempfile.mkstemp`` would give 0o600): files such as ``.gitignore`` and pointer files
are meant for git and other users. Control files Tether edits in the user's tree (pointer
files, ``.gitignore`` files, ``config.toml``) are never written over a symlink: a link is
refused (:func:`refuse_link`) unless the caller was told to replace it.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing (docs/architecture.md)
if TYPE_CHECKING:
    from pathlib import Path

# ``.NAME.tether-tmp-<pid>-<random>``: the pid lets the next writer tell a killed writer's file
# (removed by :func:`remove_dead_temps`) from one still being written
TEMP = "tether-tmp-"
_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)


def refuse_link(path: Path, *, force: bool = False) -> None:
    """Raise :class:`~tether.config.errors.SymlinkedFile` when ``path`` is a symlink.

    With ``force`` the link is allowed: the atomic write that follows replaces the link
    itself, never its target.
    """
    if force or not os.path.islink(path):
        return
    from tether.config.errors import SymlinkedFile

    raise SymlinkedFile(str(path), os.readlink(path))


def write_bytes_atomic(path: Path, data: bytes, *, durable: bool = True) -> None:
    """Replace ``path`` with ``data`` so that readers see the old or the new file, never half.

    ``durable=False`` skips the fsync, for caches that are rebuilt when lost or damaged: on
    ext4 an fsync can wait for a journal commit of everything written before it (a checkout's
    gigabyte, say). A symlink at ``path`` is replaced, never written through.
    """
    import contextlib

    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        tmp = os.path.join(path.parent, f".{path.name}.{TEMP}{os.getpid()}-{os.urandom(6).hex()}")
        try:
            fd = os.open(tmp, _FLAGS, 0o666)  # the umask applies, as for any new file
            break
        except FileExistsError:  # pragma: no cover - 48 random bits
            continue
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            if durable:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_text_atomic(path: Path, text: str, *, replace_link: bool = False) -> None:
    """Write a control file (UTF-8); a symlink at ``path`` is refused unless ``replace_link``."""
    refuse_link(path, force=replace_link)
    write_bytes_atomic(path, text.encode("utf-8"))


def pid_alive(pid: int) -> bool:
    """Whether a process ``pid`` exists (someone else's counts: it may still be writing)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: another user's live process
        return True
    return True


def remove_dead_temps(folder: str) -> int:
    """Remove the temporary files that killed writers of atomic writes left in ``folder``.

    Best effort, and only files whose writer is gone: a live writer's file is never touched.
    """
    import contextlib

    done = 0
    try:
        with os.scandir(folder or ".") as it:
            names = [e.name for e in it if e.name.startswith(".") and TEMP in e.name]
    except OSError:
        return 0
    for name in names:
        head, sep, _ = name.rpartition(TEMP)[2].partition("-")
        if not sep or not head.isdigit() or pid_alive(int(head)):
            continue
        with contextlib.suppress(OSError):
            os.unlink(os.path.join(folder, name))
            done += 1
    return done
