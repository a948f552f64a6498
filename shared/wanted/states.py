"""The states of a wanted entry and the moves between them, in one table.

Why a table: several writers move an entry (the user through the API today; the crawl, download
and import pools next), and a move one of them makes must not undo another's. ``TRANSITIONS`` is the only
place that says which moves exist; ``service.transition`` is the only function that writes
``wanted.state`` after a row is created, and it checks this table under a row lock.

The life of an entry: ``suggested`` (a top-list entry) is approved to ``wanted`` or declined to
``ignored``; ``wanted -> searching -> wanted`` (a candidate chosen, or nothing found yet) ``->
grabbed -> downloaded -> imported``; a recording rejected at import sends ``downloaded`` back to
``wanted``; an entry found already owned at import ends ``imported`` from any active state; the
user may ignore an entry the pipeline has not taken (``wanted``, ``searching``, ``suggested``) and
un-ignore it again.

A grab the account governor parks leaves the entry ``wanted`` (the waiting grab is shown on it);
``imported`` is final. Moving to the state an entry is already in is a no-op, so a retried job or
a second click changes nothing.

This module has no database code on purpose: the ORM model imports ``WantedState`` from here.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from shared.infra.errors import PermanentError


class WantedState(StrEnum):
    """Where a wanted entry is; the only list of these names (ORM column, API filter, services)."""

    SUGGESTED = "suggested"  # a top-list entry awaiting a person's approval
    WANTED = "wanted"  # to be found (a parked grab waits here too)
    SEARCHING = "searching"  # the crawl pool is looking for a candidate
    GRABBED = "grabbed"  # a candidate was sent to the download client
    DOWNLOADED = "downloaded"  # the files are complete, waiting for the import
    IMPORTED = "imported"  # in the library: final
    IGNORED = "ignored"  # the user does not want it; scans never bring it back


class WantedReason(StrEnum):
    """Why a work is wanted; one row keeps every reason it has."""

    SERIES_GAP = "series_gap"
    FOLLOWED_AUTHOR = "followed_author"
    WISHLIST = "wishlist"
    TOP_LIST = "top_list"  # popular on MAM in a chosen category: suggested, never wanted until approved


class FollowMode(StrEnum):
    """A followed author's books that become wanted: ``all`` of them, or ``future`` ones."""

    ALL = "all"
    FUTURE = "future"


S = WantedState

#: from -> the states it may move to. Nothing else may change ``wanted.state``.
TRANSITIONS: Mapping[WantedState, frozenset[WantedState]] = {
    S.SUGGESTED: frozenset({S.WANTED, S.IGNORED}),  # approved, or declined
    S.WANTED: frozenset({S.SEARCHING, S.GRABBED, S.IMPORTED, S.IGNORED}),
    S.SEARCHING: frozenset({S.WANTED, S.IMPORTED, S.IGNORED}),  # back to wanted: chosen, or nothing found
    S.GRABBED: frozenset({S.DOWNLOADED, S.IMPORTED}),
    S.DOWNLOADED: frozenset({S.IMPORTED, S.WANTED}),  # back to wanted: the recording was rejected at import
    S.IMPORTED: frozenset(),
    S.IGNORED: frozenset({S.WANTED}),  # un-ignored
}

#: States the download pipeline is working on or may pick up ("active"): found already owned, they end imported.
ACTIVE: frozenset[WantedState] = frozenset({S.WANTED, S.SEARCHING, S.GRABBED, S.DOWNLOADED})

#: The state a new entry starts in, by who created it: scans and the wishlist want it outright.
INITIAL = S.WANTED


def allowed(current: WantedState, to: WantedState) -> bool:
    """May an entry in ``current`` move to ``to``? Staying where it is is always allowed (a no-op)."""
    return current == to or to in TRANSITIONS[current]


def user_may_ignore(state: WantedState) -> bool:
    """Is ignoring (or un-ignoring) this entry the user's to decide, or does the pipeline have it?"""
    return state == S.IGNORED or allowed(state, S.IGNORED)


class UnknownWanted(PermanentError):
    """No wanted entry with this id (removed by a scan, or never there)."""

    def __init__(self, wanted_id: int) -> None:
        super().__init__(f"no wanted entry {wanted_id}")
        self.wanted_id = wanted_id


class ForbiddenTransition(PermanentError):
    """A move the table does not allow; the API answers 409, a job fails without retrying.

    Not retried because the entry's state is the truth another pool wrote on purpose: a retry
    would read the same state and be refused again.
    """

    def __init__(self, wanted_id: int, current: WantedState, to: WantedState) -> None:
        super().__init__(f"wanted entry {wanted_id} is {current}: it cannot become {to}")
        self.wanted_id = wanted_id
        self.current = current
        self.to = to


def check(wanted_id: int, current: WantedState, to: WantedState) -> None:
    """Raise :class:`ForbiddenTransition` unless ``current -> to`` is in the table."""
    if not allowed(current, to):
        raise ForbiddenTransition(wanted_id, current, to)
