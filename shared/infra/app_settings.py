"""Settings a person edits through the API, kept as JSON in ``app_settings``: one store for all.

A stored value that no longer validates (an older version's fields or bounds, an edit by hand)
must not stop the pool that reads it: it is set aside with a warning (field names and messages,
never the stored values) and the model's defaults are used, and readers can say so
(``source: "invalid-stored"`` with the reason) until a person saves or deletes it. A save replaces
the whole object. Writers flush, never commit: the caller owns the transaction.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, Literal, TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from shared.models.crawl import AppSetting

log = logging.getLogger(__name__)

Source = Literal["stored", "default", "invalid-stored"]
M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class Read(Generic[M]):
    """The effective value, where it came from, and why a stored one was set aside."""

    value: M
    source: Source
    updated_at: datetime | None  # when the stored value was written; None when nothing is stored
    invalid_reason: str | None  # only for ``invalid-stored``: what no longer validates


def describe(exc: ValidationError, what: str) -> str:
    """``field.sub: message; ...`` without the input values (pydantic's str() repeats them)."""
    parts = []
    for error in exc.errors(include_url=False, include_input=False):
        where = ".".join(str(p) for p in error["loc"]) or what
        parts.append(f"{where}: {error['msg']}")
    return "; ".join(parts)


@dataclass(frozen=True, slots=True)
class SettingStore(Generic[M]):
    """One named setting of model ``model``; ``what`` names it in messages ("quality profile")."""

    name: str
    model: type[M]
    what: str

    def read(self, session: Session) -> Read[M]:
        row = session.execute(
            select(AppSetting.value, AppSetting.updated_at).where(AppSetting.name == self.name)
        ).one_or_none()
        if row is None:
            return Read(self.model(), "default", None, None)
        value, updated_at = row
        try:
            return Read(self.model.model_validate(value), "stored", updated_at, None)
        except ValidationError as exc:
            reason = describe(exc, self.what.split()[-1])
            log.warning("the stored %s (app_settings %r, written %s) no longer validates, using the defaults "
                        "until one is saved again: %s", self.what, self.name, updated_at, reason)
            return Read(self.model(), "invalid-stored", updated_at, reason)

    def load(self, session: Session) -> M:
        return self.read(session).value

    def save(self, session: Session, value: M) -> M:
        """Store ``value`` (replacing any stored one) and return it as it will be read back."""
        data = value.model_dump(mode="json")
        stmt = insert(AppSetting).values(name=self.name, value=data, updated_at=func.now())
        session.execute(stmt.on_conflict_do_update(
            index_elements=[AppSetting.name], set_={"value": stmt.excluded.value, "updated_at": func.now()}))
        session.flush()
        return self.model.model_validate(data)

    def delete(self, session: Session) -> bool:
        """Forget the stored value (the defaults apply again); False when none was stored."""
        result = session.execute(delete(AppSetting).where(AppSetting.name == self.name).returning(AppSetting.name))
        session.flush()
        return result.first() is not None
