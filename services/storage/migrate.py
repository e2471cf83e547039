"""Bring the PostgreSQL schema to the latest Alembic revision.

Every storage replica calls `upgrade()` at start-up; a PostgreSQL advisory lock
makes them take turns, so only the first one migrates and the others find the
schema already at head (a no-op).

    python -m services.storage.migrate      # uses POSTGRES_* from the environment
"""

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, pool, text

log = logging.getLogger(__name__)

ALEMBIC_INI = Path(__file__).resolve().parent / "alembic.ini"

# Arbitrary but fixed: the same key in every replica ("newsflow" in ASCII).
MIGRATION_LOCK_KEY = 0x6E657773666C6F77


def alembic_config(database_url: str) -> Config:
    cfg = Config(str(ALEMBIC_INI))
    # Passed in, never read from the ini: the ini holds no credentials.
    cfg.attributes["database_url"] = database_url
    return cfg


def upgrade(database_url: str, revision: str = "head") -> None:
    cfg = alembic_config(database_url)
    # NullPool: a real, one-off connection. Closing it also releases the lock, which
    # covers the error paths: a failed upgrade never leaves the other replicas blocked.
    engine = create_engine(database_url, poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            log.info("waiting for the migration lock")
            # Session-level lock: it outlives the transactions Alembic opens and commits,
            # and PostgreSQL releases it by itself if this process dies.
            conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
            conn.commit()
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
            conn.commit()
            conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_KEY})
            conn.commit()
    finally:
        engine.dispose()
    log.info("database schema at %s", revision)


def main() -> None:
    from shared.logging import configure_logging
    from shared.settings import get_settings

    settings = get_settings()
    configure_logging("storage-migrate", settings.log_level, settings.log_json)
    upgrade(settings.database_url)


if __name__ == "__main__":
    main()
