"""The small rules behind the settings pages: where a connection test runs, what of a notification
URL may be shown, and what the notification overrides accept."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from shared.connections.jobs import POOLS, Service
from shared.engine import ledger, routing
from shared.notify.config import NotifyOverrides, masked, split_urls


@pytest.mark.parametrize("service", list(Service))
def test_a_connection_test_runs_on_the_pool_that_uses_its_service(service: Service) -> None:
    assert routing.queue_for("connection.test", {"service": service.value}) == POOLS[service].value
    assert ledger.new_job("connection.test", {"service": service.value}).values["queue"] == POOLS[service].value


def test_every_service_has_a_pool_and_a_bad_one_is_refused_before_routing() -> None:
    assert set(POOLS) == set(Service)
    assert routing.routes()["connection.test"] == "args.service"
    with pytest.raises(routing.UnroutableJob, match="args.service, one of abs"):
        routing.queue_for("connection.test", {"service": "ftp"})
    with pytest.raises(ValidationError):
        ledger.new_job("connection.test", {"service": "ftp"})


@pytest.mark.parametrize(("url", "shown"), [
    ("tgram://123456:ABC-token/987", "tgram://…"),
    ("JSON://127.0.0.1:9/hook-secret", "json://…"),
    ("mailtos://user:pass@example.com", "mailtos://…"),
    ("discord+x://id/token", "discord+x://…"),
    ("not a url with a token", "…"),
    ("://nothing", "…"),
])
def test_a_notification_url_is_shown_as_its_scheme_only(url: str, shown: str) -> None:
    assert masked(url) == shown


def test_urls_split_like_the_environment_variable() -> None:
    assert split_urls("a://1, b://2\nc://3  ,") == ["a://1", "b://2", "c://3"]
    assert split_urls("") == []


def test_notification_overrides_name_known_kinds_and_sane_thresholds() -> None:
    assert NotifyOverrides().disabled is None  # nothing saved: the environment decides
    assert NotifyOverrides(disabled=["grabbed"]).disabled == ("grabbed",)  # type: ignore[arg-type]
    for bad in ({"disabled": ["nope"]}, {"unsat_headroom": -1}, {"vip_days": float("inf")}, {"urls": []}):
        with pytest.raises(ValidationError):
            NotifyOverrides.model_validate(bad)
