"""Turns SQLAlchemy and driver exceptions into Tether's errors at the store boundary."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

from tether.errors import Conflict, StorageError
from tether.store.errors import StoreBusy, StoreDamaged, StoreUnavailable
from tether.store.sql.engine import safe_url

# SQLite's words for a file that is not a whole database
_DAMAGED = re.compile(r"malformed|not a database|file is encrypted|disk image", re.IGNORECASE)


def _reason(e: sa.exc.SQLAlchemyError, password: str | None) -> str:
    orig = getattr(e, "orig", None)
    text = str(orig if orig is not None else e).strip().splitlines()
    reason = "; ".join(line.strip() for line in text if line.strip()) or type(e).__name__
    if password:
        reason = reason.replace(password, "***")
    return reason


def unavailable(e: sa.exc.SQLAlchemyError, url: sa.URL) -> StoreUnavailable:
    shown = safe_url(url)
    reason = _reason(e, url.password)
    if url.get_backend_name() == "sqlite":
        hint = "check that the folder exists and is writable and that the file is a SQLite database"
    else:
        hint = (
            "check that the server is running and reachable, and that the host, port, "
            "database name and credentials in the store URL are right"
        )
    return StoreUnavailable(f"cannot use the metadata store {shown}: {reason}; {hint}")


@contextmanager
def translated(url: sa.URL) -> Iterator[None]:
    """Re-raise any SQLAlchemy error inside as a ``TetherError`` (never leaks driver types)."""
    try:
        yield
    except sa.exc.IntegrityError as e:
        raise Conflict(f"the change contradicts stored data: {_reason(e, url.password)}") from None
    except (sa.exc.OperationalError, sa.exc.InterfaceError) as e:
        reason = _reason(e, url.password)
        if "database is locked" in reason or "database is busy" in reason:
            raise StoreBusy(
                f"the metadata store {safe_url(url)} stayed locked "
                "by another writer past the busy timeout; retry, or raise store.busy_timeout_s"
            ) from None
        raise unavailable(e, url) from None
    except sa.exc.DatabaseError as e:
        reason = _reason(e, url.password)
        if url.get_backend_name() == "sqlite" and _DAMAGED.search(reason):
            raise StoreDamaged(url.database or "", reason) from None
        raise StorageError(f"metadata store {safe_url(url)} failed: {reason}") from None
    except sa.exc.SQLAlchemyError as e:
        raise StorageError(
            f"metadata store {safe_url(url)} failed: {_reason(e, url.password)}"
        ) from None
