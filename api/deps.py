"""Per-request dependencies: one session per request, committed at the edge."""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy.orm import Session

from shared.infra.db import session_factory


def get_session() -> Iterator[Session]:
    session = session_factory()()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
