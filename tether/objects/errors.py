"""Errors of the object store; each is a subclass of a category in :mod:`tether.errors`."""

from __future__ import annotations

from tether.errors import ConfigError, IntegrityError, InvalidInput, NotFound, StorageError

REPAIR_HINT = (
    "run `tether objects repair` to drop what is damaged, then `tether data add` or "
    "`tether data pull` the data again"
)

ACCEPTED_SCHEMES = "a local path or file://, s3://, gs:// or gcs://, az:// or abfs://"


class ObjectNotFound(NotFound):
    """No object with this digest is in the store."""

    def __init__(self, digest: str, url: str) -> None:
        self.digest = digest
        self.url = url
        super().__init__(f"object {digest} is not in the object store {url}")


class CorruptObject(IntegrityError):
    """An object's bytes no longer match its digest (or its recorded size)."""

    def __init__(self, digest: str, url: str, *, expected: str, actual: str) -> None:
        self.digest = digest
        self.url = url
        self.expected = expected
        self.actual = actual
        super().__init__(
            f"object {digest} in {url} is corrupt: expected {expected}, found {actual}; "
            "delete it and put or pull it again"
        )


class CorruptPack(IntegrityError):
    """A pack or its index is damaged, so the objects it holds cannot be trusted."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"pack file {path} is damaged ({reason}); {REPAIR_HINT}")


class LostObject(ObjectNotFound):
    """The object was (or may have been) in a damaged pack: it cannot be read until it is
    stored again. An ObjectNotFound, so that a pull fetches it again like any absent object."""

    def __init__(self, digest: str, url: str, pack: str, reason: str) -> None:
        self.pack = pack
        self.reason = reason
        NotFound.__init__(
            self,
            f"object {digest} in {url} cannot be read: pack file {pack} is damaged ({reason}); "
            + REPAIR_HINT,
        )
        self.digest = digest
        self.url = url


class SourceChanged(IntegrityError):
    """A file or folder changed while it was being read (listed, hashed or stored), so what
    was read cannot be trusted."""

    def __init__(self, path: str) -> None:
        self.path = path
        super().__init__(f"{path} changed while it was being read; retry once nothing writes to it")


class UnreadableSource(InvalidInput):
    """A file to hash or store could not be read."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"cannot read {path}: {reason}")


class ObjectsNotWritable(StorageError):
    """The object store's folder or bucket cannot be written."""

    def __init__(self, location: str, reason: str) -> None:
        self.location = location
        self.reason = reason
        super().__init__(
            f"cannot write to the object store at {location}: {reason}; "
            "check that the path is a writable folder (or the bucket exists and the "
            "credentials allow writes), or set objects.url to another location"
        )


class UnknownObjectsScheme(ConfigError):
    """The objects URL names a scheme no backend handles."""

    def __init__(self, scheme: str, url: str) -> None:
        self.scheme = scheme
        super().__init__(
            f"unknown object storage scheme {scheme!r} in {url!r}; use {ACCEPTED_SCHEMES} "
            "(setting objects.url)"
        )


class InvalidDigest(InvalidInput):
    """A digest given by a caller is not 64 lowercase hex characters."""

    def __init__(self, value: object) -> None:
        self.value = value
        shown = repr(value)
        if len(shown) > 80:
            shown = shown[:77] + "..."
        super().__init__(
            f"invalid object digest {shown}: expected a BLAKE3 digest of 64 lowercase hex "
            "characters"
        )


class NotATree(InvalidInput):
    """The object exists but is not a tree manifest."""

    def __init__(self, digest: str, reason: str) -> None:
        self.digest = digest
        super().__init__(f"object {digest} is not a tree manifest: {reason}")


class CollectionAborted(IntegrityError):
    """Garbage collection stopped before deleting anything it could not prove unreferenced."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(
            f"garbage collection stopped, nothing was deleted: {reason}; run "
            "`tether objects verify` and `tether objects repair`, then `tether gc` again"
        )


class CollectionUnsupported(InvalidInput):
    """Garbage collection of this kind of object store is not implemented."""

    def __init__(self, url: str) -> None:
        super().__init__(
            f"garbage collection works on a local object store, not on {url}; run "
            "`tether gc` in a workspace whose objects.url is a local folder"
        )
