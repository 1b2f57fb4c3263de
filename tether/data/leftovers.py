"""What an interrupted checkout leaves beside its destination, and putting it right.

A checkout of ``d`` builds the new content in ``.d.tether-checkout-<pid>-<random>`` beside it,
then swaps: ``d`` is renamed into ``.d.tether-old-<pid>-<random>/x``, the new folder is renamed
to ``d``, the old one deleted. A process killed on the way (SIGKILL, power loss) leaves one of
these behind, and between the two renames no ``d`` at all. :func:`recover`, run by the next
checkout or status of ``d``, deletes every leftover of a dead process and, when ``d`` is missing,
renames the old content back: an interrupted checkout rolls back to the data it started from.
Temporary files of killed atomic writes beside ``d`` (its pointer file, the ``.gitignore``) go
too.

The pid in each name keeps a checkout that is still running (another process, or another
thread here) from losing its folders; a name without one (older versions) is a leftover.
"""

from __future__ import annotations

import contextlib
import os
import shutil

from tether.config.atomic import pid_alive, remove_dead_temps

CHECKOUT = "tether-checkout-"
OLD = "tether-old-"


def temp_prefix(dest: str, kind: str) -> str:
    """The name prefix of this process's temporary ``kind`` (CHECKOUT or OLD) beside ``dest``."""
    return f".{os.path.basename(dest)}.{kind}{os.getpid()}-"


def _owner(rest: str) -> int | None:
    head, sep, _ = rest.partition("-")
    return int(head) if sep and head.isdigit() else None


def _remove(path: str) -> None:
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


def recover(dest: str) -> int:
    """Put right what interrupted checkouts of ``dest`` left; return how many leftovers went.

    Best effort: a leftover that cannot be removed stays for the next try.
    """
    parent, name = os.path.split(dest)
    stem = f".{name}."
    done = remove_dead_temps(parent)  # of the pointer file and the .gitignore beside the data
    try:
        with os.scandir(parent or ".") as it:
            found = [e.name for e in it if e.name.startswith(stem)]
    except OSError:
        return done
    for kind in (OLD, CHECKOUT):  # old content back first: dest must exist before any delete
        for entry in sorted(found):
            if not entry.startswith(stem + kind):
                continue
            pid = _owner(entry[len(stem + kind) :])
            if pid is not None and pid_alive(pid):
                continue
            path = os.path.join(parent, entry)
            if kind == OLD:
                saved = os.path.join(path, "x")
                if os.path.lexists(saved) and not os.path.lexists(dest):
                    with contextlib.suppress(OSError):
                        os.rename(saved, dest)
                if os.path.lexists(saved) and not os.path.lexists(dest):
                    continue  # could not roll back: keep the only copy
            _remove(path)
            done += 1
    return done
