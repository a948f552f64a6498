"""The wanted state machine's table: every move the pools and the user need, and none they must not make."""

from __future__ import annotations

import itertools

import pytest

from shared.wanted.states import (
    ACTIVE,
    TRANSITIONS,
    ForbiddenTransition,
    WantedState,
    allowed,
    check,
    user_may_ignore,
)

S = WantedState

#: Every move the design names (issue 8), with why; the table must hold exactly these.
NAMED_MOVES = {
    (S.SUGGESTED, S.WANTED): "a person approves a top-list suggestion",
    (S.SUGGESTED, S.IGNORED): "a person declines it",
    (S.WANTED, S.SEARCHING): "the crawl pool starts looking",
    (S.SEARCHING, S.WANTED): "a candidate was chosen, or nothing found yet",
    (S.WANTED, S.GRABBED): "the chosen candidate was sent to the download client",
    (S.GRABBED, S.DOWNLOADED): "the download completed",
    (S.DOWNLOADED, S.IMPORTED): "the import put it in the library",
    (S.DOWNLOADED, S.WANTED): "the recording was rejected at import (the candidate is rejected)",
    (S.WANTED, S.IMPORTED): "found already owned at import",
    (S.SEARCHING, S.IMPORTED): "found already owned at import",
    (S.GRABBED, S.IMPORTED): "found already owned at import",
    (S.WANTED, S.IGNORED): "the user ignores it",
    (S.SEARCHING, S.IGNORED): "the user ignores it while it is searched for",
    (S.IGNORED, S.WANTED): "the user un-ignores it",
}


def test_the_table_is_exactly_the_named_moves() -> None:
    in_table = {(a, b) for a, targets in TRANSITIONS.items() for b in targets}
    assert in_table == set(NAMED_MOVES)
    assert set(TRANSITIONS) == set(WantedState)  # every state has a row, even a final one


@pytest.mark.parametrize(("current", "to"), sorted(NAMED_MOVES))
def test_every_named_move_is_allowed(current: WantedState, to: WantedState) -> None:
    assert allowed(current, to)
    check(1, current, to)


FORBIDDEN = [
    (S.IMPORTED, S.WANTED),  # final
    (S.IMPORTED, S.IGNORED),
    (S.GRABBED, S.IGNORED),  # the pipeline has it: not the user's to ignore
    (S.DOWNLOADED, S.IGNORED),
    (S.GRABBED, S.WANTED),
    (S.SEARCHING, S.GRABBED),  # a search hands back to wanted first
    (S.WANTED, S.DOWNLOADED),  # no skipping the grab
    (S.WANTED, S.SUGGESTED),  # nothing goes back to awaiting approval
    (S.IGNORED, S.SEARCHING),  # an ignored entry is never searched
    (S.IGNORED, S.GRABBED),
    (S.IGNORED, S.IMPORTED),
    (S.SUGGESTED, S.SEARCHING),  # a suggestion is not searched before a person approves it
    (S.SUGGESTED, S.GRABBED),
]


@pytest.mark.parametrize(("current", "to"), FORBIDDEN)
def test_forbidden_moves_raise_a_named_error(current: WantedState, to: WantedState) -> None:
    assert not allowed(current, to)
    with pytest.raises(ForbiddenTransition) as raised:
        check(7, current, to)
    assert (raised.value.wanted_id, raised.value.current, raised.value.to) == (7, current, to)
    assert f"is {current}" in str(raised.value) and f"become {to}" in str(raised.value)


def test_every_pair_outside_the_table_is_forbidden_and_staying_is_a_no_op() -> None:
    for current, to in itertools.product(WantedState, repeat=2):
        if current == to:
            assert allowed(current, to)  # a retried job or a second click
        else:
            assert allowed(current, to) == ((current, to) in NAMED_MOVES)


def test_every_active_state_can_end_imported_and_imported_is_final() -> None:
    assert all(allowed(s, S.IMPORTED) for s in ACTIVE)
    assert TRANSITIONS[S.IMPORTED] == frozenset()


def test_the_user_may_ignore_only_what_the_pipeline_has_not_taken() -> None:
    assert {s for s in WantedState if user_may_ignore(s)} == {S.SUGGESTED, S.WANTED, S.SEARCHING, S.IGNORED}


def test_states_compare_and_serialise_as_their_plain_names() -> None:
    assert S.SUGGESTED == "suggested" and str(S.DOWNLOADED) == "downloaded" and f"{S.IGNORED}" == "ignored"
    assert [s.value for s in WantedState] == ["suggested", "wanted", "searching", "grabbed", "downloaded",
                                              "imported", "ignored"]
