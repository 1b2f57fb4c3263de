"""The metadata store: runs, metrics, datasets, models, aliases and the audit log.

``open_store(url)`` picks the implementation from the URL; SQLAlchemy is imported only then.
"""

from tether.store.base import Store
from tether.store.entities import (
    AliasEvent,
    AuditEvent,
    DatasetVersion,
    MetricPoint,
    MetricSummary,
    ModelVersion,
    ObjectRecord,
    ObjectRoot,
    PredictionSegment,
    Project,
    Run,
    RunIO,
)
from tether.store.errors import (
    AliasNotFound,
    AmbiguousRunId,
    DatasetNotFound,
    DatasetVersionConflict,
    DatasetVersionNotFound,
    InvalidField,
    InvalidStoreUrl,
    MetricNotFound,
    ModelNotFound,
    ModelVersionNotFound,
    ObjectRecordNotFound,
    ParamConflict,
    ProjectNotFound,
    RunNotFound,
    SchemaError,
    StoreBusy,
    StoreUnavailable,
    UnknownStoreScheme,
)
from tether.store.factory import open_store, open_store_from_settings
from tether.store.ids import uuid7

__all__ = [
    "AliasEvent",
    "AliasNotFound",
    "AmbiguousRunId",
    "AuditEvent",
    "DatasetNotFound",
    "DatasetVersion",
    "DatasetVersionConflict",
    "DatasetVersionNotFound",
    "InvalidField",
    "InvalidStoreUrl",
    "MetricNotFound",
    "MetricPoint",
    "MetricSummary",
    "ModelNotFound",
    "ModelVersion",
    "ModelVersionNotFound",
    "ObjectRecord",
    "ObjectRecordNotFound",
    "ObjectRoot",
    "ParamConflict",
    "PredictionSegment",
    "Project",
    "ProjectNotFound",
    "Run",
    "RunIO",
    "RunNotFound",
    "SchemaError",
    "Store",
    "StoreBusy",
    "StoreUnavailable",
    "UnknownStoreScheme",
    "open_store",
    "open_store_from_settings",
    "uuid7",
]
