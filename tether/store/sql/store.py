"""SqlStore: the metadata store on SQLite or PostgreSQL, assembled from one mixin per entity."""

from __future__ import annotations

from tether.store.base import Store
from tether.store.sql.audit import AuditMixin
from tether.store.sql.datasets import DatasetsMixin
from tether.store.sql.engine import create_engine, parse_url, sqlite_synchronous_level
from tether.store.sql.loops import LoopsMixin
from tether.store.sql.metrics import MetricsMixin
from tether.store.sql.migrate import ensure_schema
from tether.store.sql.objects import ObjectsMixin
from tether.store.sql.predictions import PredictionsMixin
from tether.store.sql.profiles import ProfilesMixin
from tether.store.sql.projects import ProjectsMixin
from tether.store.sql.references import ReferencesMixin
from tether.store.sql.registry import RegistryMixin
from tether.store.sql.run_io import RunIOMixin
from tether.store.sql.runs import RunsMixin
from tether.store.sql.search import SearchMixin
from tether.store.sql.sqlite_file import check_or_create, hold
from tether.store.sql.translate import translated


class SqlStore(
    ProjectsMixin,
    RunsMixin,
    SearchMixin,
    MetricsMixin,
    RunIOMixin,
    ObjectsMixin,
    ReferencesMixin,
    DatasetsMixin,
    RegistryMixin,
    AuditMixin,
    PredictionsMixin,
    ProfilesMixin,
    LoopsMixin,
    Store,
):
    def __repr__(self) -> str:
        return f"SqlStore({self.url!r})"


def open_sql_store(
    url: str, *, busy_timeout_s: float = 30.0, sqlite_synchronous: str = "NORMAL"
) -> SqlStore:
    synchronous = sqlite_synchronous_level(sqlite_synchronous)
    sa_url = parse_url(url)
    file = None
    if sa_url.get_backend_name() == "sqlite":
        file = check_or_create(sa_url.database or "")
    engine = create_engine(sa_url, busy_timeout_s=busy_timeout_s, sqlite_synchronous=synchronous)
    try:
        with translated(sa_url):
            ensure_schema(engine)
    except BaseException:
        engine.dispose()
        raise
    store = SqlStore(engine, sa_url)
    store._sqlite_file = file
    hold(file)  # released by close()
    return store
