"""The store's engine, sessions and migrations (Alembic, applied programmatically on start).

``METERLINE_API_DATABASE_URL`` picks the database: by default an embedded SQLite file
``<data_dir>/billing.db``; ``postgresql+psycopg://...`` (or ``postgresql://...``) runs the same code on
PostgreSQL. The tests run the store on both (``deploy/local/postgres.py`` starts the PostgreSQL).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.orm import Session, sessionmaker

from streams.errors import ConfigurationError

MIGRATIONS = Path(__file__).parent / "migrations"


def database_url(data_dir: Path, configured: str | None) -> str:
    """The configured URL, or the default SQLite file under ``data_dir``."""
    if configured:
        return configured
    path = (data_dir / "billing.db").resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


def make_engine(url: str) -> Engine:
    """An engine with foreign keys enforced and, on SQLite, WAL and a busy timeout (several writers)."""
    try:
        if url.startswith("sqlite"):
            _private_file(url)
            engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

            @event.listens_for(engine, "connect")
            def _pragmas(dbapi_conn: Any, _: Any) -> None:
                cur = dbapi_conn.cursor()
                cur.execute("PRAGMA foreign_keys=ON")
                cur.execute("PRAGMA journal_mode=WAL")
                cur.execute("PRAGMA synchronous=NORMAL")
                cur.close()

            return engine
        return create_engine(_with_driver(url), pool_pre_ping=True)
    except Exception as exc:  # a malformed URL or a missing driver
        raise ConfigurationError(f"METERLINE_API_DATABASE_URL: cannot use {_redact(url)}: {exc}") from exc


def _private_file(url: str) -> None:
    """The SQLite file is created (or kept) 0600: it holds key hashes, Stripe ids and who may see what.
    SQLite gives its -wal and -shm files the database file's mode."""
    from sqlalchemy.engine import make_url

    name = make_url(url).database
    if not name or name == ":memory:" or name.startswith("file:"):
        return
    path = Path(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        os.chmod(path, 0o600)


def _with_driver(url: str) -> str:
    """``postgresql://`` and ``postgres://`` (as hosting platforms hand them out) on psycopg 3, the driver
    Meterline installs; SQLAlchemy would pick psycopg2."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    return url


def _redact(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<unparsable URL>"


def sessions(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def _config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def migrate(engine: Engine) -> None:
    """Apply every migration not applied yet (idempotent; safe on each start)."""
    cfg = _config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def downgrade(engine: Engine, revision: str) -> None:
    """Revert to ``revision`` (``"base"``: no table left); every migration must be reversible."""
    cfg = _config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str | None:
    return ScriptDirectory.from_config(_config()).get_current_head()


def table_check(table: str) -> Callable[[Session], bool]:
    """Whether the store has ``table`` yet, asked until it has (a worker may settle before any API migrated
    the store it reads: then nothing was recorded in that table either)."""
    seen = False

    def has(s: Session) -> bool:
        nonlocal seen
        seen = seen or inspect(s.connection()).has_table(table)
        return seen

    return has
