"""Store URL schemes and the implementation each one opens (no heavy imports here)."""

from __future__ import annotations

from tether.store.errors import UnknownStoreScheme

# scheme as users write it -> SQLAlchemy driver name
SQL_SCHEMES: dict[str, str] = {
    "sqlite": "sqlite+pysqlite",
    "sqlite+pysqlite": "sqlite+pysqlite",
    "postgres": "postgresql+psycopg",
    "postgresql": "postgresql+psycopg",
    "postgresql+psycopg": "postgresql+psycopg",
}
ACCEPTED = tuple(SQL_SCHEMES)


def split_scheme(url: str) -> tuple[str, str]:
    """``(scheme in lower case, rest after ://)``; raises UnknownStoreScheme if not accepted."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise UnknownStoreScheme(
            f"store URL {url!r} has no scheme; use one of: {', '.join(ACCEPTED)} "
            "(e.g. sqlite:///path/to/tether.db or postgresql://user@host/db)"
        )
    if scheme.lower() not in SQL_SCHEMES:
        raise UnknownStoreScheme(
            f"unknown metadata store scheme {scheme!r}; accepted schemes: {', '.join(ACCEPTED)}"
        )
    return scheme.lower(), rest
