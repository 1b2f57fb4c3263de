"""Models: flavours that save and load models safely, signatures that check their input, and
the registry (``log``, ``load("name@alias")``, aliases, cards, MLflow export).

Names are imported on first use, so ``import tether.models`` loads no model library.
"""

from __future__ import annotations

from tether.lazy import lazy_attribute

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Any

    from tether.models.aliases import history, rollback, set_alias
    from tether.models.card import model_card
    from tether.models.errors import (
        BadManifest,
        BadMlflowModel,
        BadModelRef,
        CardWriteFailed,
        CodeNotFound,
        CorruptModel,
        ExtraColumn,
        LibraryVersionWarning,
        MissingColumn,
        ModelExists,
        ModelNotFound,
        ModelWriteFailed,
        NothingToRollBack,
        SampleNotDescribable,
        SignatureError,
        TrustedLoadWarning,
        UnexpectedNull,
        UnknownFlavor,
        UnseenCategory,
        UnseenCategoryWarning,
        UnsupportedModel,
        UntrustedModel,
        WrongDtype,
        WrongInputType,
        WrongShape,
    )
    from tether.models.fetch import load, model_folder, model_version
    from tether.models.flavor import Flavor
    from tether.models.loaded import LoadedModel, load_model
    from tether.models.manifest import ModelMeta
    from tether.models.mlflow_export import export_mlflow
    from tether.models.mlflow_import import import_mlflow
    from tether.models.publish import log
    from tether.models.refs import ModelRef
    from tether.models.registry import choose_flavor, flavor_names, get_flavor, register_flavor
    from tether.models.save import save_model
    from tether.models.signature import Schema, Signature, TensorSpec


# public name -> module that defines it
_LAZY = {
    "log": "tether.models.publish",
    "load": "tether.models.fetch",
    "model_folder": "tether.models.fetch",
    "model_version": "tether.models.fetch",
    "set_alias": "tether.models.aliases",
    "history": "tether.models.aliases",
    "rollback": "tether.models.aliases",
    "ModelRef": "tether.models.refs",
    "model_card": "tether.models.card",
    "export_mlflow": "tether.models.mlflow_export",
    "import_mlflow": "tether.models.mlflow_import",
    "BadModelRef": "tether.models.errors",
    "CardWriteFailed": "tether.models.errors",
    "BadMlflowModel": "tether.models.errors",
    "NothingToRollBack": "tether.models.errors",
    "save_model": "tether.models.save",
    "load_model": "tether.models.loaded",
    "LoadedModel": "tether.models.loaded",
    "ModelMeta": "tether.models.manifest",
    "Flavor": "tether.models.flavor",
    "choose_flavor": "tether.models.registry",
    "flavor_names": "tether.models.registry",
    "get_flavor": "tether.models.registry",
    "register_flavor": "tether.models.registry",
    "Schema": "tether.models.signature",
    "Signature": "tether.models.signature",
    "TensorSpec": "tether.models.signature",
    "BadManifest": "tether.models.errors",
    "CodeNotFound": "tether.models.errors",
    "CorruptModel": "tether.models.errors",
    "ExtraColumn": "tether.models.errors",
    "LibraryVersionWarning": "tether.models.errors",
    "MissingColumn": "tether.models.errors",
    "ModelExists": "tether.models.errors",
    "ModelNotFound": "tether.models.errors",
    "ModelWriteFailed": "tether.models.errors",
    "SampleNotDescribable": "tether.models.errors",
    "SignatureError": "tether.models.errors",
    "TrustedLoadWarning": "tether.models.errors",
    "UnexpectedNull": "tether.models.errors",
    "UnknownFlavor": "tether.models.errors",
    "UnseenCategory": "tether.models.errors",
    "UnseenCategoryWarning": "tether.models.errors",
    "UnsupportedModel": "tether.models.errors",
    "UntrustedModel": "tether.models.errors",
    "WrongDtype": "tether.models.errors",
    "WrongInputType": "tether.models.errors",
    "WrongShape": "tether.models.errors",
}

__all__ = [
    "BadManifest",
    "BadMlflowModel",
    "BadModelRef",
    "CardWriteFailed",
    "CodeNotFound",
    "CorruptModel",
    "ExtraColumn",
    "Flavor",
    "LibraryVersionWarning",
    "LoadedModel",
    "MissingColumn",
    "ModelExists",
    "ModelMeta",
    "ModelNotFound",
    "ModelRef",
    "ModelWriteFailed",
    "NothingToRollBack",
    "SampleNotDescribable",
    "Schema",
    "Signature",
    "SignatureError",
    "TensorSpec",
    "TrustedLoadWarning",
    "UnexpectedNull",
    "UnknownFlavor",
    "UnseenCategory",
    "UnseenCategoryWarning",
    "UnsupportedModel",
    "UntrustedModel",
    "WrongDtype",
    "WrongInputType",
    "WrongShape",
    "choose_flavor",
    "export_mlflow",
    "flavor_names",
    "get_flavor",
    "history",
    "import_mlflow",
    "load",
    "load_model",
    "log",
    "model_card",
    "model_folder",
    "model_version",
    "register_flavor",
    "rollback",
    "save_model",
    "set_alias",
]


def __getattr__(name: str) -> Any:
    return lazy_attribute(__name__, _LAZY, name)
