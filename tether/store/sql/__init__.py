"""The metadata store on SQLAlchemy 2 (SQLite and PostgreSQL): ``sql.store.SqlStore``.

Nothing is imported here, so that the submodules can import their siblings without a cycle.
"""
