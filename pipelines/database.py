"""Which PostgreSQL the ELT writes to: the configured DSN, or an embedded server.

One DSN drives both dlt and dbt. It comes from dlt's configuration
(``destination.postgres.credentials`` in ``.dlt/secrets.toml``, or the env var
``DESTINATION__POSTGRES__CREDENTIALS``). When none is set, an embedded PostgreSQL 16
(``pgserver``: no install, works as root) is started with its data under ``.data/postgres``
and left running for the next run; ``make db-stop`` stops it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import dlt
import psycopg2
from psycopg2.extensions import parse_dsn

from pipelines.config import RAW_SCHEMA
from pipelines.embedded_postgres import get_server, stop_server

EMBEDDED_DATABASE = "intra"
# libpq needs a password field and a host for dlt; trust auth ignores the password.
EMBEDDED_PASSWORD = "embedded"


class DatabaseError(Exception):
    """The database is not configured right or cannot be reached."""


@dataclass(frozen=True)
class Database:
    dsn: str
    embedded: bool

    @property
    def params(self) -> dict[str, str]:
        return parse_dsn(self.dsn)

    def describe(self) -> str:
        """Where the data goes, without the password."""
        p = self.params
        host = f"{p.get('host', 'localhost')}:{p.get('port', '5432')}"
        where = f"{p.get('user', '')}@{host}/{p.get('dbname', '')}"
        return f"embedded PostgreSQL ({where})" if self.embedded else f"PostgreSQL {where}"

    def dbt_env(self) -> dict[str, str]:
        """The variables ``dbt_project/profiles.yml`` reads; the password is a dbt secret var
        (``DBT_ENV_SECRET_*``) so dbt scrubs it from its logs."""
        p = self.params
        return {
            "INTRA_PG_HOST": p.get("host", "localhost"),
            "INTRA_PG_PORT": p.get("port", "5432"),
            "INTRA_PG_USER": p.get("user", "postgres"),
            "INTRA_PG_DBNAME": p.get("dbname", EMBEDDED_DATABASE),
            "DBT_ENV_SECRET_INTRA_PG_PASSWORD": p.get("password", ""),
        }

    def connect(self):
        try:
            return psycopg2.connect(self.dsn, connect_timeout=10)
        except psycopg2.OperationalError as error:
            raise DatabaseError(
                f"cannot connect to {self.describe()}: {str(error).strip()}. Check "
                "destination.postgres.credentials (env DESTINATION__POSTGRES__CREDENTIALS)."
            ) from None

    def query_table(self, schema: str, table_name: str, sql: str):
        """The one value ``sql`` returns from ``schema.table_name`` (``{table}`` in it), or
        None when that table does not exist yet."""
        with self.connect() as connection, connection.cursor() as cursor:
            cursor.execute("select to_regclass(%s)", (f"{schema}.{table_name}",))
            if cursor.fetchone()[0] is None:
                return None
            cursor.execute(sql.format(table=f'"{schema}"."{table_name}"'))
            return cursor.fetchone()[0]

    def count_rows(self, schema: str, table_name: str) -> int | None:
        """Rows of a table, or None when it does not exist yet."""
        return self.query_table(schema, table_name, "select count(*) from {table}")

    def newest_load_id(self) -> str | None:
        """The newest completed dlt load: what a dbt build processes up to."""
        sql = "select max(load_id) from {table} where status = 0"
        return self.query_table(RAW_SCHEMA, "_dlt_loads", sql)


def existing_tables(cursor, schema: str, names) -> set[str]:
    """Which of ``names`` exist as tables in ``schema`` (a first backfill cut short has not
    created them all), read through the caller's cursor so it joins its transaction."""
    cursor.execute(
        "select table_name from information_schema.tables "
        "where table_schema = %s and table_name = any(%s)",
        (schema, list(names)),
    )
    return {row[0] for row in cursor.fetchall()}


def configured_dsn() -> str | None:
    """The DSN from dlt's config, as a URI, or None when nothing is configured."""
    value = dlt.secrets.get("destination.postgres.credentials")
    if not value:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        user = quote(str(value.get("username", "postgres")))
        password = quote(str(value.get("password", "")))
        host = value.get("host", "localhost")
        port = value.get("port", 5432)
        database = value.get("database", EMBEDDED_DATABASE)
        return f"postgresql://{user}:{password}@{host}:{port}/{database}"
    raise DatabaseError("destination.postgres.credentials must be a DSN string or a table")


def embedded_database(data_dir: Path) -> Database:
    """Start (or reuse) the embedded server under ``data_dir`` and make sure the database exists."""
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    server = get_server(data_dir.resolve(), cleanup_mode=None)
    socket_dir = parse_dsn(server.get_uri())["host"]
    admin = psycopg2.connect(dbname="postgres", user="postgres", host=socket_dir)
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute("select 1 from pg_database where datname = %s", (EMBEDDED_DATABASE,))
        if cursor.fetchone() is None:
            cursor.execute(f"create database {EMBEDDED_DATABASE}")
    admin.close()
    dsn = (
        f"postgresql://postgres:{EMBEDDED_PASSWORD}@localhost/{EMBEDDED_DATABASE}"
        f"?host={quote(socket_dir)}"
    )
    return Database(dsn=dsn, embedded=True)


def resolve_database(data_dir: Path) -> Database:
    dsn = configured_dsn()
    if dsn:
        return Database(dsn=dsn, embedded=False)
    return embedded_database(data_dir / "postgres")


def existing_database(data_dir: Path) -> Database | None:
    """Like ``resolve_database``, but None when no DSN is configured and no embedded server
    was ever created under ``data_dir`` (one that is stopped is started). For the commands
    that only read (status, dbt by hand): a new, empty server would hide that they look in
    the wrong data directory."""
    dsn = configured_dsn()
    if dsn:
        return Database(dsn=dsn, embedded=False)
    if not (data_dir / "postgres" / "PG_VERSION").exists():
        return None
    return embedded_database(data_dir / "postgres")


def stop_embedded(data_dir: Path) -> str:
    """Stop the embedded server under ``data_dir`` if it runs; what was done, in words.
    Raises StopFailed, with the reason, when it runs and cannot be stopped."""
    return stop_server((data_dir / "postgres").resolve())
