"""Models: flavours that save and load models safely, signatures that check their input,
the registry (``log``, ``load("name@alias")``, aliases, cards, MLflow export), evaluation of a
model on a table and gates between a challenger and a champion.

Names are imported on first use, so ``import tether.models`` loads no model library.
"""

from __future__ import annotations

from tether.lazy import lazy_attribute

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Any

    from tether.models.aliases import history, rollback, set_alias
    from tether.models.bootstrap import BootstrapResult, paired_bootstrap
    from tether.models.card import model_card
    from tether.models.errors import (
        AliasKeptMoving,
        BadManifest,
        BadMlflowModel,
        BadModelRef,
        CardWriteFailed,
        CodeNotFound,
        CorruptModel,
        DataNotFound,
        EvaluationMismatch,
        ExtraColumn,
        InvalidData,
        InvalidPolicy,
        LibraryVersionWarning,
        MetricNeedsProbabilities,
        MissingColumn,
        MissingTarget,
        ModelExists,
        ModelNotFound,
        ModelWriteFailed,
        NothingToRollBack,
        OutputMismatch,
        PolicyNotFound,
        SampleNotDescribable,
        SignatureError,
        SliceColumnError,
        SliceSyntaxError,
        SliceTooComplex,
        TrustedLoadWarning,
        UnexpectedNull,
        UnknownFlavor,
        UnknownMetric,
        UnseenCategory,
        UnseenCategoryWarning,
        UnsupportedExport,
        UnsupportedModel,
        UntrustedModel,
        WrongDtype,
        WrongInputType,
        WrongShape,
    )
    from tether.models.evaluation import Evaluation, SliceEvaluation
    from tether.models.fetch import load, model_folder, model_version
    from tether.models.flavor import Flavor
    from tether.models.gating import Decision, Rule, compare
    from tether.models.latency import Latency
    from tether.models.loaded import LoadedModel, load_model
    from tether.models.manifest import ModelMeta
    from tether.models.mlflow_export import export_mlflow
    from tether.models.mlflow_import import import_mlflow
    from tether.models.policy import Policy, load_policy
    from tether.models.promote import gate, promote_if_better
    from tether.models.publish import log
    from tether.models.refs import ModelRef
    from tether.models.registry import choose_flavor, flavor_names, get_flavor, register_flavor
    from tether.models.save import save_model
    from tether.models.signature import Schema, Signature, TensorSpec
    from tether.models.slices import Slice, parse_slice
    from tether.models.tracked import TrackedEvaluation, evaluate


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
    "OutputMismatch": "tether.models.errors",
    "evaluate": "tether.models.tracked",
    "TrackedEvaluation": "tether.models.tracked",
    "promote_if_better": "tether.models.promote",
    "AliasKeptMoving": "tether.models.errors",
    "Evaluation": "tether.models.evaluation",
    "SliceEvaluation": "tether.models.evaluation",
    "Latency": "tether.models.latency",
    "gate": "tether.models.promote",
    "compare": "tether.models.gating",
    "Decision": "tether.models.gating",
    "Rule": "tether.models.gating",
    "Policy": "tether.models.policy",
    "load_policy": "tether.models.policy",
    "Slice": "tether.models.slices",
    "parse_slice": "tether.models.slices",
    "BootstrapResult": "tether.models.bootstrap",
    "paired_bootstrap": "tether.models.bootstrap",
    "DataNotFound": "tether.models.errors",
    "EvaluationMismatch": "tether.models.errors",
    "InvalidData": "tether.models.errors",
    "InvalidPolicy": "tether.models.errors",
    "MetricNeedsProbabilities": "tether.models.errors",
    "MissingTarget": "tether.models.errors",
    "PolicyNotFound": "tether.models.errors",
    "SliceColumnError": "tether.models.errors",
    "SliceSyntaxError": "tether.models.errors",
    "SliceTooComplex": "tether.models.errors",
    "UnknownMetric": "tether.models.errors",
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
    "UnsupportedExport": "tether.models.errors",
    "UnsupportedModel": "tether.models.errors",
    "UntrustedModel": "tether.models.errors",
    "WrongDtype": "tether.models.errors",
    "WrongInputType": "tether.models.errors",
    "WrongShape": "tether.models.errors",
}

__all__ = [
    "AliasKeptMoving",
    "BadManifest",
    "BadMlflowModel",
    "BadModelRef",
    "BootstrapResult",
    "CardWriteFailed",
    "CodeNotFound",
    "CorruptModel",
    "DataNotFound",
    "Decision",
    "Evaluation",
    "EvaluationMismatch",
    "ExtraColumn",
    "Flavor",
    "InvalidData",
    "InvalidPolicy",
    "Latency",
    "LibraryVersionWarning",
    "LoadedModel",
    "MetricNeedsProbabilities",
    "MissingColumn",
    "MissingTarget",
    "ModelExists",
    "ModelMeta",
    "ModelNotFound",
    "ModelRef",
    "ModelWriteFailed",
    "NothingToRollBack",
    "OutputMismatch",
    "Policy",
    "PolicyNotFound",
    "Rule",
    "SampleNotDescribable",
    "Schema",
    "Signature",
    "SignatureError",
    "Slice",
    "SliceColumnError",
    "SliceEvaluation",
    "SliceSyntaxError",
    "SliceTooComplex",
    "TensorSpec",
    "TrackedEvaluation",
    "TrustedLoadWarning",
    "UnexpectedNull",
    "UnknownFlavor",
    "UnknownMetric",
    "UnseenCategory",
    "UnseenCategoryWarning",
    "UnsupportedExport",
    "UnsupportedModel",
    "UntrustedModel",
    "WrongDtype",
    "WrongInputType",
    "WrongShape",
    "choose_flavor",
    "compare",
    "evaluate",
    "export_mlflow",
    "flavor_names",
    "gate",
    "get_flavor",
    "history",
    "import_mlflow",
    "load",
    "load_model",
    "load_policy",
    "log",
    "model_card",
    "model_folder",
    "model_version",
    "paired_bootstrap",
    "parse_slice",
    "promote_if_better",
    "register_flavor",
    "rollback",
    "save_model",
    "set_alias",
]


def __getattr__(name: str) -> Any:
    return lazy_attribute(__name__, _LAZY, name)
