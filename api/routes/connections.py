"""``POST /api/v1/settings/{service}/test``: test one outside service's connection, as a job.

The gateway never calls an outside service, so a test is a ``connection.test`` job (the same one
``POST /api/v1/jobs`` creates) run by the pool that uses the service; the answer is the job (202),
whose ``result`` says ``ok`` and why once it ran (``GET /api/v1/jobs/{id}``, or the live events). A
second request while a test of the same service is queued or running returns that one.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from sqlalchemy.orm import Session

from api.deps import get_session
from api.schemas import JobOut
from shared.connections.jobs import CONNECTION_TEST, Service, dedupe_key
from shared.engine import ledger

router = APIRouter(prefix="/settings", tags=["settings"])
SessionDep = Annotated[Session, Depends(get_session)]


@router.post("/{service}/test", status_code=202, response_model=JobOut)
def test_connection(service: Service, session: SessionDep) -> JobOut:
    """Queue a connection test of ``service`` with the settings in force now."""
    created = ledger.create_job(session, CONNECTION_TEST.name, {"service": service.value},
                                dedupe_key=dedupe_key(service))
    session.commit()  # publishes after commit (shared.engine.dispatch), before the 202 leaves
    return JobOut.of(created.job)
