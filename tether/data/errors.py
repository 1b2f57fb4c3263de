"""Errors of the data layer; each names the path or dataset and says what to do."""

from __future__ import annotations

from tether.errors import Conflict, IntegrityError, InvalidInput, NotFound, StorageError


class OutsideWorkspace(InvalidInput):
    """A path to version lies outside the workspace (or inside its ``.tether/`` folder)."""

    def __init__(self, path: str, root: str) -> None:
        self.path = path
        super().__init__(
            f"{path} is outside the workspace {root}; move or copy the data into the workspace "
            "(or run tether from the workspace that holds it)"
        )


class WholeWorkspace(InvalidInput):
    """The path to version is the workspace root, or a folder that holds it."""

    def __init__(self, path: str, root: str) -> None:
        self.path = path
        super().__init__(
            f"{path} is the workspace {root} itself or holds it (with its .tether/ folder); "
            "version a folder or file inside the workspace instead, like `tether data add "
            "data/`"
        )


class InsideDataset(Conflict):
    """The path to version lies inside a folder that is already tracked data."""

    def __init__(self, path: str, folder: str, pointer: str) -> None:
        self.path = path
        super().__init__(
            f"{path} is inside {folder}, which is tracked data already ({pointer}); a file "
            f"there is versioned with its folder: run `tether data add {folder}` to record a "
            "new version of it, or move the file out of that folder"
        )


class HoldsDataset(Conflict):
    """The folder to version holds data that is tracked on its own (a pointer file inside)."""

    def __init__(self, path: str, inner: str, pointer: str) -> None:
        self.path = path
        super().__init__(
            f"{path} holds {inner}, which is tracked data on its own ({pointer}); a dataset "
            "cannot hold another: add the folders beside it one by one, or move that data out "
            "(or delete its pointer file) first"
        )


class ReservedPath(InvalidInput):
    """A data path is (or lies in) a ``.git`` or ``.tether`` folder, which data never is."""

    def __init__(self, path: str, part: str) -> None:
        self.path = path
        super().__init__(
            f"{path} is in (or is) a {part} folder, which belongs to git or Tether and is never "
            "data; choose a path outside it"
        )


class UnreadableFile(InvalidInput):
    """A file of the data could not be read."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        super().__init__(
            f"cannot read {path} ({reason}); fix its permissions or remove it from the data, "
            "then try again"
        )


class FileChanged(IntegrityError):
    """A file or folder changed while it was hashed: its size, mtime or inode differ before
    and after (``add`` tries again a few times before it raises this)."""

    def __init__(self, path: str, attempts: int = 1) -> None:
        self.path = path
        tries = f" on each of {attempts} attempts" if attempts > 1 else ""
        super().__init__(
            f"{path} changed while it was being hashed{tries}; nothing was recorded: stop "
            "whatever writes to the data (another checkout, a download) and try again"
        )


class DatasetBusy(Conflict):
    """Another command holds the lock of the data (an add or a checkout of the same path)."""

    def __init__(self, path: str, holder: str, waited: float) -> None:
        self.path = path
        super().__init__(
            f"{path} is locked by {holder} (a tether data add or checkout of the same data); "
            f"waited {waited:g} s: let it finish and try again (or raise data.lock_timeout_s)"
        )


class NotEnoughSpace(StorageError):
    """The disk filled up during a checkout; the destination was left as it was."""

    def __init__(self, dest: str, needed: int, free: int) -> None:
        self.dest = dest
        self.needed = needed
        self.free = free
        super().__init__(
            f"not enough disk space to check out into {dest}: it needs {format_size(needed)} "
            f"to write and {format_size(free)} is free; {dest} is unchanged, free some space "
            "(or check out elsewhere with --to) and try again"
        )


class CheckoutFailed(StorageError):
    """Writing a checkout failed for another reason; the destination was left as it was."""

    def __init__(self, dest: str, reason: str) -> None:
        self.dest = dest
        super().__init__(f"cannot check out into {dest}: {reason}; {dest} is unchanged")


class CorruptCheckout(IntegrityError):
    """A stored object did not hash to its digest while a checkout copied it."""

    def __init__(self, digest: str, url: str, path: str, actual: str) -> None:
        self.digest = digest
        self.path = path
        super().__init__(
            f"object {digest} in {url} is corrupt (its bytes hash to {actual}), so {path} was "
            "not written and the destination is unchanged; find the damaged objects with "
            "`tether objects verify`, delete them and pull them again"
        )


class WorkWouldBeLost(Conflict):
    """A checkout would overwrite or delete files whose content no version holds."""

    def __init__(self, dest: str, files: list[tuple[str, str]]) -> None:
        self.dest = dest
        self.files = files
        """(path, why) of each file at risk."""
        shown = ", ".join(f"{p} ({why})" for p, why in files[:10])
        more = f" and {len(files) - 10} more" if len(files) > 10 else ""
        super().__init__(
            f"checkout would overwrite or delete {len(files)} file(s) in {dest} whose content "
            f"no version holds: {shown}{more}; nothing was changed: version them with "
            "`tether data add`, move them away, or check out with --force to replace them"
        )


class BadReference(InvalidInput):
    """A dataset reference is not ``name`` or ``name@N``."""

    def __init__(self, ref: str, problem: str) -> None:
        self.ref = ref
        super().__init__(
            f"invalid dataset reference {ref!r}: {problem}; write NAME or NAME@VERSION "
            "(like 'images@3')"
        )


class BadPointer(InvalidInput):
    """A ``.tether`` pointer file cannot be parsed."""

    def __init__(self, path: str, problem: str) -> None:
        self.path = path
        super().__init__(
            f"pointer file {path} is invalid: {problem}; restore it from git "
            "(git checkout -- FILE) or add the data again"
        )


class UnsafePointer(InvalidInput):
    """A pointer file would make checkout write where data never lives."""

    def __init__(self, path: str, why: str) -> None:
        self.path = path
        super().__init__(
            f"refusing pointer file {path}: {why}; nothing was written, delete or rename that "
            "file (tether never writes such a pointer)"
        )


class NoPointer(NotFound):
    """A checkout needs a destination but no pointer names one."""

    def __init__(self, dataset: str) -> None:
        self.dataset = dataset
        super().__init__(
            f"no pointer file in the workspace names dataset {dataset!r}; give a destination "
            "with --to DIR"
        )


class MissingObjects(NotFound):
    """Objects a version needs are not in the object store."""

    def __init__(self, what: str, count: int, url: str) -> None:
        super().__init__(
            f"{count} objects of {what} are missing from the object store {url}; "
            "pull them from a remote (tether data pull) and try again"
        )


class BadRecord(IntegrityError):
    """A dataset-version record on a remote is damaged or does not fit what names it."""

    def __init__(self, where: str, problem: str) -> None:
        self.where = where
        super().__init__(
            f"the dataset-version record {where} is invalid: {problem}; nothing was registered. "
            "Push the dataset again from a workspace that has it (tether data push), after "
            "removing that record if it is damaged"
        )


class RemoteVersionConflict(Conflict):
    """The remote already holds a record of this version number with another tree."""

    def __init__(self, ref: str, url: str, there: str, here: str) -> None:
        super().__init__(
            f"the remote {url} already holds dataset {ref} with tree {there}, but this "
            f"workspace's {ref} is tree {here}: another workspace numbered its own version the "
            "same; nothing was pushed. Workspaces that add versions of the same dataset should "
            "share one metadata store (store.url), or push to separate remotes"
        )


class VersionConflict(Conflict):
    """The workspace's metadata store holds this version number with another tree."""

    def __init__(self, ref: str, here: str, source: str, there: str) -> None:
        super().__init__(
            f"this workspace's dataset {ref} is tree {here}, but {source} names tree {there} "
            "for it: the workspace numbered a version of its own the same; nothing was "
            "registered and no version was replaced. Pull into a fresh clone, or share one "
            "metadata store (store.url) between the workspaces"
        )


class NotATable(InvalidInput):
    """``to_pandas`` / ``to_arrow`` on a dataset that is not one Parquet or CSV file."""

    def __init__(self, ref: str, why: str) -> None:
        super().__init__(
            f"dataset {ref} is not a table ({why}); to_pandas/to_arrow read datasets made of "
            "one .parquet or .csv file; use .path() to read other data"
        )


class UnsafeDestination(Conflict):
    """A checkout destination would replace a workspace or a git repository."""

    def __init__(self, dest: str, why: str, fix: str | None = None) -> None:
        fix = fix or (
            "files there not in the version would be removed, so choose an empty or "
            "dedicated folder"
        )
        super().__init__(f"refusing to check out into {dest}: {why}; {fix}")


def format_size(n: int) -> str:
    """Bytes in a short human form: 512 B, 1.5 KiB, 20.0 MiB."""
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{n} B" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"  # pragma: no cover


class NotHereNorOnRemote(NotFound):
    """A dataset (version) to pull is known neither to the workspace nor to the remote."""

    def __init__(self, what: str, url: str) -> None:
        super().__init__(
            f"{what} in this workspace nor on the remote {url}; `tether data ls` lists the "
            "datasets here, and a push from the workspace that has it puts it on the remote"
        )


class NotOnRemote(NotFound):
    """A version to pull is not (or not completely) on the remote."""

    def __init__(self, what: str, count: int, url: str) -> None:
        super().__init__(
            f"{what} is not on the remote {url}: {count} of its objects are missing there; "
            "push it from a workspace that has it (tether data push)"
        )


class NotInWorkspace(NotFound):
    """A version to push is not (or not completely) in the workspace's object store."""

    def __init__(self, what: str, count: int, url: str) -> None:
        super().__init__(
            f"{what} is not complete in the object store {url}: {count} of its objects are "
            "missing; pull it from a remote that has it (tether data pull) before pushing"
        )


class UnreadableTable(InvalidInput):
    """A file that should be a table cannot be read as one."""

    def __init__(self, what: str, format: str, reason: str) -> None:
        self.what = what
        self.format = format
        self.reason = reason
        super().__init__(
            f"cannot read {what} as a {format} table: {reason}; "
            f"check that it is a valid {format} file"
        )
