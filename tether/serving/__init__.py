"""The inference server: Open Inference Protocol v2 and MLflow's ``/invocations`` over REST,
adaptive batching, hot swap when an alias moves, a prediction log, Prometheus metrics.

Names are imported on first use: ``import tether.serving`` loads neither Starlette nor a model
library. The server needs the ``serve`` extra (``pip install 'tether[serve]'``).
"""

from __future__ import annotations

from tether.lazy import lazy_attribute

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from tether.serving.asgi import app
    from tether.serving.errors import BadReference, BadRequest, LoadFailed, ServingError
    from tether.serving.readback import predictions
    from tether.serving.runtime import Options
    from tether.serving.server import serve
    from tether.serving.source import DirectorySource, ModelSource, Ref
    from tether.serving.store_source import StoreSource

_LAZY = {
    "app": "tether.serving.asgi",
    "serve": "tether.serving.server",
    "predictions": "tether.serving.readback",
    "Options": "tether.serving.runtime",
    "DirectorySource": "tether.serving.source",
    "ModelSource": "tether.serving.source",
    "Ref": "tether.serving.source",
    "StoreSource": "tether.serving.store_source",
    "BadReference": "tether.serving.errors",
    "BadRequest": "tether.serving.errors",
    "LoadFailed": "tether.serving.errors",
    "ServingError": "tether.serving.errors",
}

__all__ = [
    "BadReference",
    "BadRequest",
    "DirectorySource",
    "LoadFailed",
    "ModelSource",
    "Options",
    "Ref",
    "ServingError",
    "StoreSource",
    "app",
    "predictions",
    "serve",
]


def __getattr__(name: str) -> Any:
    return lazy_attribute(__name__, _LAZY, name)
