"""Model references: ``name`` (the latest version), ``name@3`` (a version), ``name@champion``
(an alias), resolved against the metadata store."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from tether.models.errors import BadModelRef

if TYPE_CHECKING:
    from tether.store import ModelVersion, Store

LATEST = "latest"


@dataclass(frozen=True)
class ModelRef:
    name: str
    version: int | None = None  # None with no alias: the latest version
    alias: str | None = None

    @classmethod
    def parse(cls, text: object) -> ModelRef:
        from tether.errors import InvalidInput
        from tether.store.validate import entity_name

        if not isinstance(text, str):
            raise BadModelRef(text, f"is a {type(text).__name__}, not a string")
        name, sep, after = text.rpartition("@")
        if not sep:
            name, after = text, ""
        elif not after:
            raise BadModelRef(text, "ends with '@'")
        try:
            entity_name("model name", name)
        except InvalidInput:
            raise BadModelRef(text, "does not start with a valid model name") from None
        if not after or after == LATEST:
            return cls(name)
        if after.isdigit():
            if int(after) < 1:
                raise BadModelRef(text, "names version 0; versions start at 1")
            return cls(name, version=int(after))
        return cls(name, alias=after)

    def __str__(self) -> str:
        if self.alias is not None:
            return f"{self.name}@{self.alias}"
        return self.name if self.version is None else f"{self.name}@{self.version}"


def resolve(store: Store, project: str, ref: str | ModelRef) -> ModelVersion:
    """The model version ``ref`` names; ``NotFound`` names the model, version or alias."""
    parsed = ref if isinstance(ref, ModelRef) else ModelRef.parse(ref)
    if parsed.alias is not None:
        return store.get_alias(project, parsed.name, parsed.alias)
    if parsed.version is not None:
        return store.get_model_version(project, parsed.name, parsed.version)
    from tether.store.errors import ModelNotFound

    versions = store.list_model_versions(project, parsed.name)
    if not versions:  # a model row exists only with a version, but say so plainly anyway
        raise ModelNotFound(project, parsed.name)
    return versions[-1]
