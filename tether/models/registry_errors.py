"""Errors of the model registry (versions, aliases, cards, export): each names what was wrong
and what to do."""

from __future__ import annotations

from tether.errors import Conflict, InvalidInput


class BadModelRef(InvalidInput):
    """A model reference that is not ``name``, ``name@3`` or ``name@alias``."""

    def __init__(self, ref: object, why: str) -> None:
        self.ref = ref
        super().__init__(
            f"model reference {ref!r} {why}; write 'name' (the latest version), "
            "'name@3' (a version) or 'name@champion' (an alias)"
        )


class NothingToRollBack(Conflict):
    """The alias never pointed at another version, so there is nothing to go back to."""

    def __init__(self, model: str, alias: str) -> None:
        super().__init__(
            f"alias {alias!r} of model {model!r} has no earlier version to roll back to; "
            f"move it with `tether models promote {model}@VERSION --alias {alias}`"
        )


class BadMlflowModel(InvalidInput):
    """A folder that is not an MLflow model this importer can read safely."""

    def __init__(self, path: object, why: str) -> None:
        self.path = str(path)
        super().__init__(f"cannot import the MLflow model at {self.path}: {why}")


class UnsupportedExport(InvalidInput):
    """A model whose flavour has no MLflow equivalent that loads without pickle."""

    def __init__(self, flavor: str, why: str) -> None:
        super().__init__(f"cannot export a {flavor!r} model to MLflow: {why}")
