"""Engine and session helpers shared by the storage worker (writer) and the gateway (reader)."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine
from sqlalchemy.orm import Session, sessionmaker


def make_engine(url: str, *, read_only: bool = False, **kwargs: Any) -> Engine:
    """An engine whose pooled connections are checked before use.

    pool_pre_ping: a PostgreSQL restart otherwise hands out dead connections once.
    read_only: every transaction is READ ONLY, so a reader (the gateway) cannot write.
    """
    kwargs.setdefault("pool_pre_ping", True)
    if read_only:
        options = dict(kwargs.pop("execution_options", {}))
        options["postgresql_readonly"] = True
        kwargs["execution_options"] = options
    return create_engine(url, **kwargs)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    # expire_on_commit=False: results stay readable after the transaction ends.
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One transaction: committed when the block succeeds, rolled back if it raises."""
    with factory() as session, session.begin():
        yield session
