"""Errors of the models layer: each names what was wrong and what to do."""

from __future__ import annotations

from tether.errors import Conflict, IntegrityError, InvalidInput, NotFound, StorageError


class ModelNotFound(NotFound):
    """No saved model at the path (no ``tether-model.json`` in it)."""

    def __init__(self, path: object) -> None:
        self.path = str(path)
        super().__init__(
            f"no saved model at {self.path}: it has no tether-model.json; "
            "pass the folder that save_model wrote"
        )


class ModelExists(Conflict):
    """``save_model`` was asked to write into a path that already exists."""

    def __init__(self, path: object) -> None:
        self.path = str(path)
        super().__init__(
            f"cannot save a model to {self.path}: it already exists; "
            "choose a new path or remove it first"
        )


class ModelWriteFailed(StorageError):
    """The model folder could not be written (permissions, a full disk); nothing was left."""

    def __init__(self, path: object, error: OSError) -> None:
        self.path = str(path)
        super().__init__(
            f"cannot save a model to {self.path}: {error.strerror or error} "
            f"({getattr(error, 'filename', None) or self.path}); check that the folder is "
            "writable and the disk has room"
        )


class UnsupportedModel(InvalidInput):
    """No flavour can store this object, or the named flavour does not exist."""


class UnknownFlavor(UnsupportedModel):
    def __init__(self, name: str, known: list[str]) -> None:
        self.name = name
        super().__init__(f"unknown model flavour {name!r}; known flavours: {', '.join(known)}")


class UntrustedModel(InvalidInput):
    """Loading would run code that the caller did not trust; nothing was loaded."""


class BadManifest(IntegrityError):
    """``tether-model.json`` is not what ``save_model`` writes (or names unsafe paths)."""

    def __init__(self, path: object, reason: str) -> None:
        self.path = str(path)
        super().__init__(
            f"invalid model manifest {self.path}: {reason}; "
            "save the model again with tether.models.save_model"
        )


class CorruptModel(IntegrityError):
    """A file of a saved model is missing, damaged or unreadable by its library."""

    def __init__(self, path: object, reason: str) -> None:
        self.path = str(path)
        super().__init__(
            f"model file {self.path} is damaged: {reason}; restore it or save the model again"
        )


class SampleNotDescribable(InvalidInput):
    """The ``sample`` given to ``save_model`` has a column or type a signature cannot describe."""


class SignatureError(InvalidInput):
    """An input to ``predict`` does not match the model's signature.

    ``column`` is the offending column or tensor name (``None`` for an unnamed array).
    """

    def __init__(self, column: str | None, message: str) -> None:
        self.column = column
        super().__init__(message)


class MissingColumn(SignatureError):
    pass


class OutputMismatch(SignatureError):
    """What the model returned does not match the output schema saved with it."""


class ExtraColumn(SignatureError):
    pass


class WrongDtype(SignatureError):
    pass


class WrongShape(SignatureError):
    pass


class UnexpectedNull(SignatureError):
    pass


class UnseenCategory(SignatureError):
    """Raised by ``predict(X, strict=True)``; without ``strict`` an ``UnseenCategoryWarning``."""


class WrongInputType(SignatureError):
    pass


class UnseenCategoryWarning(UserWarning):
    """A value of a column was not among the categories seen in the sample."""


class LibraryVersionWarning(UserWarning):
    """The model was saved with another version of a library than the one loading it."""


class TrustedLoadWarning(UserWarning):
    """A model was loaded with ``trust=True`` through a format that can run code (pickle)."""


class CodeNotFound(NotFound):
    """The class a saved model refers to (``module:Class``) cannot be imported."""


# --- evaluation and gates


class SliceSyntaxError(InvalidInput):
    """A slice predicate that does not parse; the message points at the bad token."""

    def __init__(self, text: str, position: int, problem: str) -> None:
        self.text = text
        self.position = position
        shown = text if len(text) <= 200 else text[:200] + "..."
        pointer = " " * min(position, 203) + "^"
        super().__init__(f"bad slice: {problem} at position {position}:\n  {shown}\n  {pointer}")


class SliceTooComplex(SliceSyntaxError):
    """A slice past one of the parser's limits (length, nesting, conditions)."""


class SliceColumnError(InvalidInput):
    """A slice names a column the data does not have, or compares it with the wrong type."""


class MissingTarget(InvalidInput):
    """The data has no column named as the target."""


class UnknownMetric(InvalidInput):
    """A metric name that is not known, or not defined for the task."""


class MetricNeedsProbabilities(InvalidInput):
    """A metric of probabilities (ROC AUC, log loss, calibration) for a model without them."""


class InvalidData(InvalidInput):
    """Data that cannot be evaluated: unreadable file, empty, wrong shape of predictions."""


class DataNotFound(NotFound):
    """A data path that does not exist."""


class InvalidPolicy(InvalidInput):
    """A gate policy with an unknown key, unknown metric, malformed slice or wrong type."""

    def __init__(self, key: str, problem: str) -> None:
        self.key = key
        super().__init__(f"gate policy: {key!s}: {problem}")


class PolicyNotFound(NotFound):
    """A policy file that does not exist."""


class EvaluationMismatch(InvalidInput):
    """Two evaluations a gate compares were not made on the same rows or the same task."""


class AliasKeptMoving(Conflict):
    """An alias kept moving while a challenger was gated against it."""

    def __init__(self, model: str, alias: str, attempts: int) -> None:
        super().__init__(
            f"alias {alias!r} of model {model!r} moved {attempts} times while the challenger "
            "was being gated; nothing was promoted, run the promotion again"
        )


# the registry: references, aliases, MLflow export and import


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


class CardWriteFailed(StorageError):
    """The model card could not be written where asked; nothing was left there."""

    def __init__(self, path: object, error: OSError) -> None:
        self.path = str(path)
        super().__init__(
            f"cannot write the model card to {self.path}: {error.strerror or error}; "
            "choose a folder you can write to"
        )
