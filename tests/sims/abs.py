"""Audiobookshelf server simulator: one import for tests and benchmarks.

    from tests.sims.abs import AbsState, build_abs_app, serve_abs, generate_library

* :class:`AbsState` — libraries (book and podcast), items, authors/series rows, API keys, request
  counters (``state.requests["GET /api/libraries/{id}/items"]``), fault injection
  (``state.faults.fail_next(...)``, ``delay_next``, ``malformed_next``) and mutation helpers
  (``edit_item``, ``remove_item``, ``mark_missing``, ``queue_scan_change``…).
* :func:`build_abs_app` — the ASGI app; :func:`sim_http_client` wraps it in a synchronous
  ``httpx.Client`` (in-process) that the real client takes as ``http=``.
* :func:`serve_abs` — the same app over real HTTP on 127.0.0.1; returns ``(base_url, stop)``.
* :func:`generate_library` — a deterministic messy library and its :class:`GroundTruth`.

Faithfulness notes live next to each behaviour (``abs_query``, ``abs_patch``, ``abs_render``). Not
simulated (they answer 501 rather than pretend): ``collapseseries``, filter groups other than
series/authors/narrators/genres/tags/languages/explicit/abridged/issues/missing, cover uploads via
PATCH, ``/api/libraries?include=stats``. The API response cache is modelled only as far as it cannot change an answer.
"""

from tests.sims.abs_app import build_abs_app
from tests.sims.abs_faults import Fault, FaultPlan
from tests.sims.abs_generate import ADMIN_TOKEN, USER_TOKEN, GroundTruth, generate_library
from tests.sims.abs_records import SimAuthor, SimItem, SimLibrary, SimSeries, SimTask, SimToken, SimUser
from tests.sims.abs_serve import SyncASGITransport, serve_abs, sim_http_client
from tests.sims.abs_state import AbsState

__all__ = [
    "ADMIN_TOKEN",
    "USER_TOKEN",
    "AbsState",
    "Fault",
    "FaultPlan",
    "GroundTruth",
    "SimAuthor",
    "SimItem",
    "SimLibrary",
    "SimSeries",
    "SimTask",
    "SimToken",
    "SimUser",
    "SyncASGITransport",
    "build_abs_app",
    "generate_library",
    "serve_abs",
    "sim_http_client",
]
