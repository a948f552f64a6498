"""The governor policy a person set through the API, kept in ``app_settings`` (name ``governor``).

Mirrors :mod:`shared.crawl.profile_store`: the grab and spend jobs read it with :func:`load_policy`;
the API shows it with :func:`read_policy`, which also says where it came from. A stored value that no
longer validates (an older version's fields or bounds, an edit by hand) must not stop the governor:
it is set aside with a warning and the defaults are used (auto-grab off, the safe reserves), and
``GET /api/v1/settings/governor`` says so (``source: "invalid-stored"`` and the reason) until a
person saves a policy or deletes the stored one. A save replaces the whole object (no merge). Writers
flush, never commit: the caller owns the transaction.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from pydantic import ValidationError
from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from shared.download.policy import GovernorPolicy
from shared.models.crawl import AppSetting

__all__ = ["SETTING_NAME", "PolicySource", "StoredPolicy", "delete_policy", "load_policy", "read_policy",
           "save_policy"]

log = logging.getLogger(__name__)
SETTING_NAME = "governor"
PolicySource = Literal["stored", "default", "invalid-stored"]


@dataclass(frozen=True, slots=True)
class StoredPolicy:
    """The effective policy, where it came from, and why a stored one was set aside."""

    policy: GovernorPolicy
    source: PolicySource
    updated_at: datetime | None  # when the stored value was written; None when nothing is stored
    invalid_reason: str | None  # only for ``invalid-stored``: what no longer validates


def _describe(exc: ValidationError) -> str:
    """``field: message; ...`` without the input values (pydantic's str() repeats them)."""
    parts = []
    for error in exc.errors(include_url=False, include_input=False):
        where = ".".join(str(p) for p in error["loc"]) or "policy"
        parts.append(f"{where}: {error['msg']}")
    return "; ".join(parts)


def read_policy(session: Session) -> StoredPolicy:
    row = session.execute(
        select(AppSetting.value, AppSetting.updated_at).where(AppSetting.name == SETTING_NAME)
    ).one_or_none()
    if row is None:
        return StoredPolicy(GovernorPolicy(), "default", None, None)
    value, updated_at = row
    try:
        return StoredPolicy(GovernorPolicy.model_validate(value), "stored", updated_at, None)
    except ValidationError as exc:
        reason = _describe(exc)
        log.warning("the stored governor policy (app_settings %r, written %s) no longer validates, using the "
                    "defaults until one is saved again: %s", SETTING_NAME, updated_at, reason)
        return StoredPolicy(GovernorPolicy(), "invalid-stored", updated_at, reason)


def load_policy(session: Session) -> GovernorPolicy:
    """The policy the governor decides under: the stored one, else the defaults (see :func:`read_policy`)."""
    return read_policy(session).policy


def save_policy(session: Session, policy: GovernorPolicy) -> GovernorPolicy:
    """Store ``policy`` (replacing any stored one) and return it as it will be read back."""
    value = policy.model_dump(mode="json")
    stmt = insert(AppSetting).values(name=SETTING_NAME, value=value, updated_at=func.now())
    session.execute(stmt.on_conflict_do_update(
        index_elements=[AppSetting.name], set_={"value": stmt.excluded.value, "updated_at": func.now()}))
    session.flush()
    return GovernorPolicy.model_validate(value)


def delete_policy(session: Session) -> bool:
    """Forget the stored policy (the defaults apply again); False when none was stored."""
    result = session.execute(delete(AppSetting).where(AppSetting.name == SETTING_NAME).returning(AppSetting.name))
    session.flush()
    return result.first() is not None
