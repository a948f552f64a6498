"""Writing the wanted list and the follows: every rule about a change, for the API and the pools alike.

The rules (they hold whoever writes):

- One row per work (``wanted_key``), with every reason it is wanted; a row wanted for several
  reasons that loses one keeps the others.
- A scan upserts what it found and retires what it no longer finds, within its own scope (one
  series' gaps, one followed author's books). It never changes ``state``: an ignored work stays
  ignored however often a scan finds it again, and a work the download pipeline has keeps its
  state. Only rows still plainly ``wanted`` are retired.
- A priority the user set stays (scans only move priorities nobody set).
- ``state`` changes only through :func:`transition` (or :func:`move` on a row the caller has
  locked), which checks the table in :mod:`shared.wanted.states`.
- The user asking for a work explicitly (the wishlist) approves a suggestion and un-ignores an
  ignored entry.

Functions here ``flush()`` at most; the caller's session scope commits (the request, the task).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, literal_column, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from shared.engine import ledger
from shared.infra.clock import utcnow
from shared.infra.errors import PermanentError
from shared.models.metadata import Follow, Wanted, WantedAlias, wanted_key
from shared.names import author_key
from shared.normalize import position_sort_key
from shared.wanted.states import INITIAL, FollowMode, UnknownWanted, WantedReason, WantedState, check, user_may_ignore

log = logging.getLogger(__name__)

#: A wishlist entry without an explicit priority ranks with the next book of a followed author.
WISHLIST_PRIORITY = 70
_SET_UNION = "ARRAY(SELECT DISTINCT r FROM unnest(wanted.reasons || excluded.reasons) r ORDER BY r)"


# -- state -----------------------------------------------------------------------------------------


def current_id(session: Session, wanted_id: int) -> int:
    """The id that answers for ``wanted_id``: itself, or the entry it was merged into."""
    merged = session.scalar(select(WantedAlias.wanted_id).where(WantedAlias.old_id == wanted_id))
    return merged if merged is not None else wanted_id


def lock(session: Session, wanted_id: int) -> Wanted:
    """The row (or the one it was merged into), locked for this transaction and read fresh (another
    writer may have moved it)."""
    row = session.scalar(select(Wanted).where(Wanted.id == current_id(session, wanted_id)).with_for_update()
                         .execution_options(populate_existing=True))
    if row is None:
        raise UnknownWanted(wanted_id)
    return row


def move(row: Wanted, to: WantedState, *, reason: str) -> None:
    """Change the state of a row the caller has locked, if the table allows it (else ForbiddenTransition)."""
    check(row.id, row.state, to)
    if row.state != to:
        log.info("wanted %s: %s -> %s (%s)", row.id, row.state, to, reason)
        row.state = to
        row.updated_at = utcnow()


def transition(session: Session, wanted_id: int, to: WantedState, *, reason: str) -> Wanted:
    """Lock the entry, check ``current -> to`` against the table and write it; ``reason`` is logged."""
    row = lock(session, wanted_id)
    move(row, to, reason=reason)
    session.flush()
    return row


# -- the user's edits ------------------------------------------------------------------------------


def set_ignored(row: Wanted, ignored: bool) -> None:
    """Ignore or un-ignore a locked row. Un-ignoring a row that is not ignored changes nothing, unless
    the download pipeline has it: then neither is the user's to decide (ForbiddenTransition)."""
    if ignored:
        move(row, WantedState.IGNORED, reason="ignored by the user")
    elif row.state == WantedState.IGNORED:
        move(row, WantedState.WANTED, reason="un-ignored by the user")
    elif not user_may_ignore(row.state):
        check(row.id, row.state, WantedState.IGNORED)


def set_priority(row: Wanted, priority: int) -> None:
    """A priority the user sets is kept by every later scan."""
    row.priority = priority
    row.priority_manual = True


def edit(session: Session, wanted_id: int, *, ignore: bool | None = None, priority: int | None = None) -> Wanted:
    row = lock(session, wanted_id)
    if ignore is not None:
        set_ignored(row, ignore)
    if priority is not None:
        set_priority(row, priority)
    session.flush()
    return row


# -- the wishlist ----------------------------------------------------------------------------------


class AlreadyOwned(PermanentError):
    """The library already holds the book the user asked for."""


@dataclass(frozen=True, slots=True)
class Wish:
    """What the user typed: an ASIN, or a title with its authors (already validated)."""

    asin: str | None = None
    title: str | None = None
    authors: list[str] = field(default_factory=list)
    priority: int | None = None
    language: str | None = None

    @property
    def key(self) -> str:
        """The work key, or ``asin:<ASIN>`` until ``metadata.resolve_wanted`` knows title and authors."""
        return wanted_key(self.title, self.authors) if self.title else f"asin:{self.asin}"


def owned(session: Session, wish: Wish) -> bool:
    """Already in the library (by ASIN in any marketplace, or by title and author)?"""
    found = session.scalar(text("""
        SELECT 1 FROM metadata_owned_keys WHERE (kind = 'asin' AND key = :asin) OR (kind = 'work' AND key = :work)
        UNION ALL SELECT 1 FROM recordings r JOIN library_items i ON i.recording_id = r.id
         WHERE i.state = 'present' AND r.asin = :asin LIMIT 1"""),
        {"asin": wish.asin or "", "work": wanted_key(wish.title, wish.authors) if wish.title else ""})
    return found is not None


def add_to_wishlist(session: Session, wish: Wish, *, default_language: str) -> tuple[int, bool]:
    """Store the wish as typed and queue ``metadata.resolve_wanted`` to fill it in: (id, inserted).

    A work already wanted gains the ``wishlist`` reason (and the user's priority, if given).
    """
    if owned(session, wish):
        raise AlreadyOwned("the library already holds this book")
    values = {"key": wish.key, "reason": WantedReason.WISHLIST, "reasons": [WantedReason.WISHLIST],
              "state": INITIAL, "priority": wish.priority if wish.priority is not None else WISHLIST_PRIORITY,
              "priority_manual": wish.priority is not None, "title": wish.title, "authors": wish.authors,
              "author_keys": sorted({author_key(a) for a in wish.authors}), "asin": wish.asin,
              "language": wish.language or default_language, "sources": {"wishlist": {"added": True}}}
    stmt = insert(Wanted).values(values)
    stmt = stmt.on_conflict_do_update(index_elements=["key"], set_={
        "reasons": text(_SET_UNION),
        "priority": text("CASE WHEN excluded.priority_manual THEN excluded.priority ELSE wanted.priority END"),
        "priority_manual": text("wanted.priority_manual OR excluded.priority_manual"),
        "asin": text("coalesce(wanted.asin, excluded.asin)"), "updated_at": text("now()")})
    row: Any = session.execute(stmt.returning(Wanted.id, Wanted.state,
                                              literal_column("(xmax = 0)").label("inserted"))).one()
    if row.state in (WantedState.IGNORED, WantedState.SUGGESTED):
        transition(session, row.id, WantedState.WANTED, reason="asked for on the wishlist")
    ledger.create_job(session, "metadata.resolve_wanted", {"wanted_id": row.id})
    return row.id, bool(row.inserted)


@dataclass(frozen=True, slots=True)
class Resolved:
    """A wishlist entry as the provider knows it (parsed and normalised by the caller)."""

    title: str
    authors: list[str]
    asin: str | None
    release_date: str | None
    series_name: str | None
    position: str | None
    language: str | None
    runtime_seconds: float | None = None
    narrators: tuple[str, ...] = ()


def resolve_wish(session: Session, row: Wanted, found: Resolved, how: str) -> Wanted:
    """Fill in a locked wishlist row; if its work is already wanted, the two rows become one.

    The surviving row keeps both reasons; an ignored (or suggested) row the user now explicitly
    wishes for becomes wanted, and its priority rises unless the user set one. The merged row's id
    becomes an alias of the survivor (``wanted_aliases``): a client that just added the wish and
    holds its id can still read and search it.
    """
    fields: dict[str, Any] = {
        "title": found.title, "authors": found.authors, "author_keys": sorted({author_key(a) for a in found.authors}),
        "asin": found.asin, "release_date": found.release_date, "series_name": row.series_name or found.series_name,
        "position": row.position or found.position, "language": row.language or found.language,
        "runtime_seconds": found.runtime_seconds, "narrators": list(found.narrators)}
    fields["sort_key"] = position_sort_key(fields["position"])
    key = wanted_key(found.title, found.authors)
    other = session.scalar(select(Wanted).where(Wanted.key == key, Wanted.id != row.id).with_for_update())
    target = other or row
    for name, value in fields.items():
        if getattr(target, name) in (None, [], "") or target is row:
            setattr(target, name, value)
    target.reasons = sorted(set(target.reasons) | set(row.reasons))
    target.sources = {**(target.sources or {}), "wishlist": {"resolved_by": how, "asin": found.asin}}
    if other is not None:
        if other.state in (WantedState.IGNORED, WantedState.SUGGESTED):
            move(other, WantedState.WANTED, reason="asked for on the wishlist")
        if not other.priority_manual:
            other.priority = max(other.priority, row.priority)
        session.execute(update(WantedAlias).where(WantedAlias.wanted_id == row.id).values(wanted_id=other.id))
        session.execute(delete(Wanted).where(Wanted.id == row.id))
        session.add(WantedAlias(old_id=row.id, wanted_id=other.id))
        session.flush()
    else:
        row.key = key
    return target


def mark_unresolved(row: Wanted, why: str) -> None:
    """The provider does not know the wish: say why on the row; it stays wanted as typed."""
    row.sources = {**(row.sources or {}), "wishlist": {"unresolved": why}}


# -- scans -----------------------------------------------------------------------------------------


@dataclass
class WantedRow:
    """One work a scan found missing, with the reason and scope it was found under."""

    reason: WantedReason
    title: str
    authors: list[str]
    priority: int
    metadata_series_id: int | None = None
    series_id: int | None = None
    series_name: str | None = None
    position: str | None = None
    language: str | None = None
    asin: str | None = None
    release_date: str | None = None
    follow_id: int | None = None
    sources: dict[str, Any] = field(default_factory=dict)
    runtime_seconds: float | None = None
    narrators: list[str] = field(default_factory=list)

    @property
    def key(self) -> str:
        return wanted_key(self.title, self.authors)

    def values(self) -> dict[str, Any]:
        return {"key": self.key, "reason": self.reason, "reasons": [self.reason], "state": INITIAL,
                "priority": self.priority, "priority_manual": False, "title": self.title, "authors": self.authors,
                "author_keys": sorted({author_key(a) for a in self.authors}),
                "metadata_series_id": self.metadata_series_id, "series_id": self.series_id,
                "series_name": self.series_name, "position": self.position,
                "sort_key": position_sort_key(self.position), "language": self.language, "asin": self.asin,
                "release_date": self.release_date, "follow_id": self.follow_id, "sources": self.sources,
                "runtime_seconds": self.runtime_seconds, "narrators": self.narrators}


_KEEP_IF_SET = ("metadata_series_id", "series_id", "series_name", "position", "sort_key", "language", "asin",
                "release_date", "follow_id", "runtime_seconds")
#: The scopes a scan retires within: one bibliographic series' gaps, one followed author's books.
_SCOPES = frozenset({"metadata_series_id", "follow_id"})


def upsert_wanted(session: Session, rows: list[WantedRow]) -> None:
    """Add what a scan found; rows already there gain the reason and keep state and a user's priority."""
    unique = {r.key: r for r in rows}
    if not unique:
        return
    stmt = insert(Wanted).values([unique[k].values() for k in sorted(unique)])
    updates: dict[str, Any] = {c: text(f"coalesce(excluded.{c}, wanted.{c})") for c in _KEEP_IF_SET}
    updates.update({
        "title": text("coalesce(wanted.title, excluded.title)"),  # the first spelling stays (same key anyway)
        "reasons": text(_SET_UNION),
        "priority": text("CASE WHEN wanted.priority_manual THEN wanted.priority "
                         "WHEN wanted.reasons <@ excluded.reasons THEN excluded.priority "
                         "ELSE greatest(wanted.priority, excluded.priority) END"),
        "authors": stmt.excluded.authors, "author_keys": stmt.excluded.author_keys,
        "narrators": text("CASE WHEN excluded.narrators = '[]'::jsonb THEN wanted.narrators "
                          "ELSE excluded.narrators END"),
        "sources": text("wanted.sources || excluded.sources"), "updated_at": text("now()"),
    })
    session.execute(stmt.on_conflict_do_update(index_elements=["key"], set_=updates))


def retire(session: Session, *, reason: WantedReason, scope: str, scope_id: int, keep: list[str]) -> int:
    """Drop ``reason`` from rows of this scope (``metadata_series_id``/``follow_id``) not in ``keep``.

    A row wanted only for this reason and still plainly ``wanted`` is deleted; one the user ignored
    or the pipeline has stays; a row with other reasons too only loses this one.
    """
    if scope not in _SCOPES:  # it is spliced into the SQL below: only these two column names
        raise ValueError(f"unknown wanted scope {scope!r}")
    params = {"reason": reason.value, "scope_id": scope_id, "keep": keep, "wanted": WantedState.WANTED.value}
    gone = session.execute(text(f"""
        DELETE FROM wanted WHERE {scope} = :scope_id AND state = :wanted AND reasons = ARRAY[:reason]::varchar[]
           AND NOT (key = ANY(:keep))"""), params)
    session.execute(text(f"""
        UPDATE wanted SET reasons = array_remove(reasons, CAST(:reason AS varchar)), updated_at = now()
         WHERE {scope} = :scope_id AND :reason = ANY(reasons) AND cardinality(reasons) > 1
           AND NOT (key = ANY(:keep))"""), params)
    return int(getattr(gone, "rowcount", 0) or 0)


def sweep_owned(session: Session) -> int:
    """Remove still-``wanted`` rows for works the library now holds (by work key or any ASIN)."""
    gone = session.execute(text("""
        DELETE FROM wanted w WHERE w.state = :wanted
           AND (EXISTS (SELECT 1 FROM metadata_owned_keys k WHERE k.kind = 'work' AND k.key = w.key)
                OR (w.asin IS NOT NULL AND EXISTS (SELECT 1 FROM metadata_owned_keys k
                                                    WHERE k.kind = 'asin' AND k.key = w.asin)))"""),
        {"wanted": WantedState.WANTED.value})
    return int(getattr(gone, "rowcount", 0) or 0)


# -- follows ---------------------------------------------------------------------------------------


def follow(session: Session, author: str, mode: FollowMode, since: datetime | None) -> tuple[int, bool]:
    """Follow an author (again: the mode, the spelling and a given ``since`` change) and queue
    ``metadata.follow`` to find the books: (follow id, inserted)."""
    values: dict[str, Any] = {"author_key": author_key(author), "name": author.strip(), "mode": mode.value}
    if since is not None:
        values["since"] = since
    stmt = insert(Follow).values(values)
    updates: dict[str, Any] = {"mode": stmt.excluded.mode, "name": stmt.excluded.name}
    if since is not None:
        updates["since"] = stmt.excluded.since
    row: Any = session.execute(stmt.on_conflict_do_update(index_elements=["author_key"], set_=updates)
                               .returning(Follow.id, literal_column("(xmax = 0)").label("inserted"))).one()
    ledger.create_job(session, "metadata.follow", {"follow_id": row.id})
    return row.id, bool(row.inserted)


def unfollow(session: Session, follow_id: int) -> bool:
    """Stop following; books wanted only because of this author leave the list (ignored ones stay),
    books wanted for other reasons too lose this one. False when there was no such follow."""
    if session.get(Follow, follow_id) is None:
        return False
    retire(session, reason=WantedReason.FOLLOWED_AUTHOR, scope="follow_id", scope_id=follow_id, keep=[])
    session.execute(delete(Follow).where(Follow.id == follow_id))
    return True


# -- suggestions (top lists) -----------------------------------------------------------------------

#: A suggestion ranks below what the user or a scan asked for; approving it keeps this priority.
SUGGESTION_PRIORITY = 30


@dataclass(frozen=True, slots=True)
class Suggestion:
    """A work a top list proposes (``crawl.top_list``); ``source`` says where it was seen."""

    title: str
    authors: list[str]
    language: str
    series_name: str | None = None
    position: str | None = None
    source: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return wanted_key(self.title, self.authors)

    def values(self) -> dict[str, Any]:
        return {"key": self.key, "reason": WantedReason.TOP_LIST, "reasons": [WantedReason.TOP_LIST],
                "state": WantedState.SUGGESTED, "priority": SUGGESTION_PRIORITY, "priority_manual": False,
                "title": self.title, "authors": self.authors,
                "author_keys": sorted({author_key(a) for a in self.authors}), "series_name": self.series_name,
                "position": self.position, "sort_key": position_sort_key(self.position), "language": self.language,
                "sources": {"top_list": self.source}}


@dataclass(frozen=True, slots=True)
class Suggested:
    """What :func:`suggest` did with one work: ``inserted`` new (``suggested``), else an existing row
    that only gained the reason (its ``state`` as it was, unchanged)."""

    wanted_id: int
    key: str
    inserted: bool
    state: WantedState


def suggest(session: Session, rows: list[Suggestion]) -> list[Suggested]:
    """Add top-list works: a new work is inserted ``suggested`` (never searched nor grabbed until a
    person approves it); a work already on the list only gains the ``top_list`` reason and the latest
    sighting in ``sources``. Its state never changes (an ignored one stays ignored, a wanted one
    stays wanted), nor its priority, title or series."""
    unique: dict[str, Suggestion] = {}
    for r in rows:  # the first sighting of a work wins
        unique.setdefault(r.key, r)
    if not unique:
        return []
    # in the order given (most snatched first), so new ids list a category's books in rank order
    stmt = insert(Wanted).values([r.values() for r in unique.values()])
    stmt = stmt.on_conflict_do_update(index_elements=["key"], set_={
        "reasons": text(_SET_UNION),
        "sources": text("wanted.sources || excluded.sources"), "updated_at": text("now()")})
    done: Any = session.execute(stmt.returning(Wanted.id, Wanted.key, Wanted.state,
                                               literal_column("(xmax = 0)").label("inserted"))).all()
    return [Suggested(r.id, r.key, bool(r.inserted), WantedState(r.state)) for r in done]


class NotASuggestion(PermanentError):
    """Only a suggestion can be approved; the entry is in another state (the API answers 409)."""

    def __init__(self, wanted_id: int, current: WantedState) -> None:
        super().__init__(f"wanted entry {wanted_id} is {current}, not a suggestion: there is nothing to approve")
        self.wanted_id = wanted_id
        self.current = current


def approve(session: Session, wanted_id: int) -> Wanted:
    """A person approves a suggestion: ``suggested -> wanted`` (searched from then on). Approving an
    entry already ``wanted`` changes nothing (a second click); any other state is
    :class:`NotASuggestion` (an ignored entry is un-ignored, a pipeline's entry is not the user's)."""
    row = lock(session, wanted_id)
    if row.state == WantedState.WANTED:
        return row
    if row.state != WantedState.SUGGESTED:
        raise NotASuggestion(wanted_id, row.state)
    return transition(session, wanted_id, WantedState.WANTED, reason="suggestion approved by the user")
