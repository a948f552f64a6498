"""The crawl pool's outbound side: the MAM client and its total parsers.

``mam_client`` talks to MAM (allowlisted JSON endpoints, cookie auth, renewed cookies handed back);
``mam_parse``/``mam_rows``/``mam_account`` turn MAM's drifting JSON into :mod:`shared.crawl.torrent`
values; ``mam_query`` says what a search asks. Jobs (``crawl.search``, ``account.refresh``) build on
these and live beside them.
"""

from workers.crawl.mam_client import BonusPurchase, MamClient
from workers.crawl.mam_errors import (
    MamApiError,
    MamDownloadError,
    MamEndpointRefused,
    MamForbiddenSpend,
    MamSessionInvalid,
)
from workers.crawl.mam_query import MamQuery, MamSearchPage, SnatchedShape
from workers.crawl.mam_rows import snatched_ids, snatched_shape

__all__ = [
    "BonusPurchase",
    "MamApiError",
    "MamClient",
    "MamDownloadError",
    "MamEndpointRefused",
    "MamForbiddenSpend",
    "MamQuery",
    "MamSearchPage",
    "MamSessionInvalid",
    "SnatchedShape",
    "snatched_ids",
    "snatched_shape",
]
