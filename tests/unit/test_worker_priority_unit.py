"""``shared.cli._lower_priority`` outside a session of its own, and where autogroup is missing."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from shared import cli


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    made: list[int] = []
    monkeypatch.setattr(os, "nice", lambda inc: made.append(inc) or inc)
    return made


def test_the_session_group_is_left_alone_when_this_process_does_not_lead_its_session(
        tmp_path: Path, calls: list[int], monkeypatch: pytest.MonkeyPatch) -> None:
    group = tmp_path / "autogroup"
    group.write_text("/autogroup-5 nice 0\n")
    monkeypatch.setattr(os, "getsid", lambda _: os.getpid() + 1)
    cli._lower_priority(10, group)
    assert calls == [10]
    assert group.read_text() == "/autogroup-5 nice 0\n"  # shared with whoever started us: untouched


def test_a_session_leader_raises_its_group_to_at_most_19(tmp_path: Path, calls: list[int],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    group = tmp_path / "autogroup"
    group.write_text("/autogroup-5 nice 12\n")
    monkeypatch.setattr(os, "getsid", lambda _: os.getpid())
    cli._lower_priority(10, group)
    assert calls == [10]
    assert group.read_text() == "19"


def test_no_autogroup_and_nice_zero_do_nothing_more(tmp_path: Path, calls: list[int],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "getsid", lambda _: os.getpid())
    cli._lower_priority(10, tmp_path / "missing")  # a kernel without autogroup
    cli._lower_priority(0, tmp_path / "missing")
    assert calls == [10]
