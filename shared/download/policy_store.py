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

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from shared.download.policy import GovernorPolicy
from shared.infra.app_settings import SettingStore, Source

__all__ = ["SETTING_NAME", "PolicySource", "StoredPolicy", "delete_policy", "load_policy", "read_policy", "save_policy"]

SETTING_NAME = "governor"
PolicySource = Source
STORE = SettingStore(SETTING_NAME, GovernorPolicy, "governor policy")


@dataclass(frozen=True, slots=True)
class StoredPolicy:
    """The effective policy, where it came from, and why a stored one was set aside."""

    policy: GovernorPolicy
    source: PolicySource
    updated_at: datetime | None  # when the stored value was written; None when nothing is stored
    invalid_reason: str | None  # only for ``invalid-stored``: what no longer validates


def read_policy(session: Session) -> StoredPolicy:
    read = STORE.read(session)
    return StoredPolicy(read.value, read.source, read.updated_at, read.invalid_reason)


def load_policy(session: Session) -> GovernorPolicy:
    """The policy in force: the stored one, else the defaults (see :func:`read_policy`)."""
    return STORE.load(session)


def save_policy(session: Session, policy: GovernorPolicy) -> GovernorPolicy:
    """Store ``policy`` (replacing any stored one) and return it as it will be read back."""
    return STORE.save(session, policy)


def delete_policy(session: Session) -> bool:
    """Forget the stored policy (the defaults apply again); False when none was stored."""
    return STORE.delete(session)
