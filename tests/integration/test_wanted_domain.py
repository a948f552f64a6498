"""The wanted domain against real PostgreSQL: the locked transition, the scan rules, the wishlist.

The state table itself is checked without a database (tests/unit/test_wanted_states.py); here the
point is what only the database shows: two writers racing for one row, and the upsert SQL.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from shared.infra.db import session_factory, session_scope
from shared.models.metadata import Follow, Wanted, wanted_key
from shared.wanted import queries, service
from shared.wanted.states import FollowMode, ForbiddenTransition, UnknownWanted, WantedReason, WantedState

S = WantedState
pytestmark = pytest.mark.usefixtures("settings_env")


def _row(s: Session, title: str, *, state: WantedState = S.WANTED, reasons: tuple[WantedReason, ...] = (
        WantedReason.SERIES_GAP,), follow_id: int | None = None, priority: int = 50, manual: bool = False) -> int:
    row = Wanted(key=wanted_key(title, ["Ada Abbott"]), reason=reasons[0], reasons=list(reasons), state=state,
                 priority=priority, priority_manual=manual, title=title, authors=["Ada Abbott"],
                 author_keys=["ada abbott"], follow_id=follow_id, sources={})
    s.add(row)
    s.flush()
    return row.id


def _state(wanted_id: int) -> WantedState | None:
    with session_scope() as s:
        return s.scalar(select(Wanted.state).where(Wanted.id == wanted_id))


def test_a_whole_life_through_transition_and_a_forbidden_move_changes_nothing() -> None:
    with session_scope() as s:
        wid = _row(s, "Book One", state=S.SUGGESTED)
    path = [S.WANTED, S.SEARCHING, S.WANTED, S.GRABBED, S.DOWNLOADED, S.WANTED, S.GRABBED, S.DOWNLOADED, S.IMPORTED]
    for to in path:
        with session_scope() as s:
            service.transition(s, wid, to, reason="test")
        assert _state(wid) == to
    with pytest.raises(ForbiddenTransition) as raised, session_scope() as s:
        service.transition(s, wid, S.WANTED, reason="test")
    assert (raised.value.current, raised.value.to) == (S.IMPORTED, S.WANTED)
    assert _state(wid) == S.IMPORTED
    with pytest.raises(UnknownWanted), session_scope() as s:
        service.transition(s, 999_999, S.WANTED, reason="test")


def test_transition_waits_for_the_row_lock_and_checks_the_state_the_other_writer_left() -> None:
    """The user ignores an entry while the download pool grabs it: the ignore waits, then is refused.

    Without the lock the ignore would read ``wanted``, pass the check, and overwrite ``grabbed``.
    """
    with session_scope() as s:
        wid = _row(s, "Raced Book")
    grabber = session_factory()()
    try:
        service.transition(grabber, wid, S.GRABBED, reason="download pool grabbed it")  # locked, not committed
        outcome: dict[str, Any] = {}

        def user_ignores() -> None:
            try:
                with session_scope() as s:
                    service.edit(s, wid, ignore=True)
                outcome["result"] = "ignored"
            except ForbiddenTransition as exc:
                outcome["result"] = exc

        user = threading.Thread(target=user_ignores)
        user.start()
        deadline = time.monotonic() + 10
        waiting = 0
        while time.monotonic() < deadline and not waiting:
            with session_scope() as s:
                waiting = s.scalar(text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                                        "AND datname = current_database()")) or 0
            time.sleep(0.02)
        assert waiting == 1 and user.is_alive() and "result" not in outcome
        grabber.commit()
    finally:
        grabber.close()
    user.join(10)
    assert isinstance(outcome.get("result"), ForbiddenTransition)
    assert (outcome["result"].current, outcome["result"].to) == (S.GRABBED, S.IGNORED)
    assert _state(wid) == S.GRABBED


def test_user_edits_ignore_unignore_and_priority() -> None:
    with session_scope() as s:
        plain, grabbed, suggested = _row(s, "Plain"), _row(s, "Grabbed", state=S.GRABBED), _row(
            s, "Suggested", state=S.SUGGESTED)
    with session_scope() as s:
        assert service.edit(s, plain, ignore=True, priority=900).state == S.IGNORED
        assert service.edit(s, plain, ignore=True).state == S.IGNORED  # twice: a no-op
    with session_scope() as s:
        row = service.edit(s, plain, ignore=False)
        assert (row.state, row.priority, row.priority_manual) == (S.WANTED, 900, True)
        assert service.edit(s, plain, ignore=False).state == S.WANTED  # nothing to undo
        assert service.edit(s, suggested, ignore=True).state == S.IGNORED
    for ignore in (True, False):
        with pytest.raises(ForbiddenTransition), session_scope() as s:
            service.edit(s, grabbed, ignore=ignore, priority=1)
    with session_scope() as s:
        row = s.get(Wanted, grabbed)
        assert row is not None and (row.state, row.priority_manual) == (S.GRABBED, False)  # the refusal rolled back
        assert service.edit(s, grabbed, priority=5).priority == 5  # a priority is always the user's


def test_scans_keep_state_and_priority_and_retire_only_plainly_wanted_rows() -> None:
    with session_scope() as s:
        ignored = _row(s, "Ignored", state=S.IGNORED)
        pinned = _row(s, "Pinned", priority=999, manual=True)
        grabbed = _row(s, "Grabbed", state=S.GRABBED)
        gone = _row(s, "Gone")
        s.execute(text("UPDATE wanted SET metadata_series_id = NULL"))
    found = [service.WantedRow(reason=WantedReason.SERIES_GAP, title=t, authors=["Ada Abbott"], priority=10)
             for t in ("Ignored", "Pinned", "Grabbed", "Gone", "New")]
    with session_scope() as s:
        follow = Follow(author_key="ada abbott", name="Ada Abbott", mode="all")
        s.add(follow)
        s.flush()
        for r in found:
            r.reason, r.follow_id, r.sources = WantedReason.FOLLOWED_AUTHOR, follow.id, {"followed_author": {}}
        service.upsert_wanted(s, found)
        fid = follow.id
    with session_scope() as s:
        rows = {w.title: w for w in s.scalars(select(Wanted))}
        assert rows["Ignored"].state == S.IGNORED and rows["Grabbed"].state == S.GRABBED
        assert rows["Pinned"].priority == 999 and rows["Gone"].priority == 50  # max(50, 10): two reasons now
        assert rows["New"].reasons == [WantedReason.FOLLOWED_AUTHOR] and rows["New"].state == S.WANTED
        assert rows["Gone"].reasons == [WantedReason.FOLLOWED_AUTHOR, WantedReason.SERIES_GAP]
        # the author's scan no longer finds anything: "New" goes, the others only lose the reason
        retired = service.retire(s, reason=WantedReason.FOLLOWED_AUTHOR, scope="follow_id", scope_id=fid, keep=[])
        assert retired == 1
    with session_scope() as s:
        rows = {w.title: w for w in s.scalars(select(Wanted))}
        assert set(rows) == {"Ignored", "Pinned", "Grabbed", "Gone"}
        assert all(w.reasons == [WantedReason.SERIES_GAP] for w in rows.values())
        assert {rows["Ignored"].id, rows["Pinned"].id, rows["Grabbed"].id, rows["Gone"].id} == {
            ignored, pinned, grabbed, gone}
    with pytest.raises(ValueError, match="unknown wanted scope"), session_scope() as s:
        service.retire(s, reason=WantedReason.SERIES_GAP, scope="id; DROP TABLE wanted", scope_id=1, keep=[])


def test_unfollow_drops_books_wanted_only_for_the_author_and_keeps_ignored_ones() -> None:
    with session_scope() as s:
        fid, inserted = service.follow(s, " Ada Abbott ", FollowMode.ALL, None)
        assert inserted
        only = _row(s, "Only", reasons=(WantedReason.FOLLOWED_AUTHOR,), follow_id=fid)
        both = _row(s, "Both", reasons=(WantedReason.FOLLOWED_AUTHOR, WantedReason.WISHLIST), follow_id=fid)
        kept = _row(s, "Ignored", state=S.IGNORED, reasons=(WantedReason.FOLLOWED_AUTHOR,), follow_id=fid)
    with session_scope() as s:
        again, inserted = service.follow(s, "ADA ABBOTT", FollowMode.FUTURE, None)
        assert (again, inserted) == (fid, False)
        follow_out = queries.get_follow(s, fid)
        assert follow_out is not None and (follow_out.author, follow_out.mode) == ("ADA ABBOTT", "future")
        assert [j for j, in s.execute(text("SELECT type FROM jobs ORDER BY created_at"))] == ["metadata.follow"] * 2
    with session_scope() as s:
        assert service.unfollow(s, fid) and not service.unfollow(s, fid + 1)
    with session_scope() as s:
        assert s.get(Wanted, only) is None
        left = s.get(Wanted, both)
        assert left is not None and left.reasons == [WantedReason.WISHLIST]
        assert s.get(Wanted, kept) is not None and queries.list_follows(s) == []


def test_wishlist_approves_suggestions_unignores_and_merges_a_resolved_entry_into_its_work() -> None:
    with session_scope() as s:
        ignored = _row(s, "Ignored Gap", state=S.IGNORED)
        suggested = _row(s, "Top Ten", state=S.SUGGESTED, reasons=(WantedReason.WISHLIST,))
    for title, wid in (("Ignored Gap", ignored), ("Top Ten", suggested)):
        with session_scope() as s:
            got, inserted = service.add_to_wishlist(s, service.Wish(title=title, authors=["Ada Abbott"]),
                                                    default_language="en")
            assert (got, inserted) == (wid, False)
        assert _state(wid) == S.WANTED
    # an ASIN-only wish, resolved to a work the user had ignored: one row, both reasons, wanted again
    with session_scope() as s:
        service.transition(s, ignored, S.IGNORED, reason="test")
        by_asin, inserted = service.add_to_wishlist(s, service.Wish(asin="B000000001"), default_language="en")
        assert inserted
    with session_scope() as s:
        row = service.lock(s, by_asin)
        found = service.Resolved(title="Ignored Gap", authors=["Ada Abbott"], asin="B000000001", release_date=None,
                                 series_name=None, position="3", language="en")
        assert service.resolve_wish(s, row, found, "asin").id == ignored
    with session_scope() as s:
        assert s.get(Wanted, by_asin) is None
        merged = queries.get_wanted(s, ignored)
        assert merged is not None and merged.state == S.WANTED and merged.asin == "B000000001"
        assert merged.reasons == [WantedReason.SERIES_GAP, WantedReason.WISHLIST] and merged.priority == 70
        assert merged.sources["wishlist"] == {"resolved_by": "asin", "asin": "B000000001"}
