"""Choosing the one best edition of a wanted book among the rows of a MAM search. Pure: no I/O.

The crawl worker (``crawl.search``) and the API both call this; nothing here reads a database, the
network or the clock. Inputs are typed values (:class:`shared.crawl.torrent.MamTorrent`,
:class:`shared.crawl.torrent.AccountSnapshot`, :class:`Target`, :class:`QualityProfile`); the
output is a :class:`Decision` that stores as JSON (``Decision.as_dict()``).

Public API::

    query_strategies(target: Target) -> tuple[QueryStrategy, ...]
        # cheapest first: title+author, series (+position to filter by), narrator, ASIN
    choose(target: Target, torrents: Iterable[MamTorrent], account: AccountSnapshot | None,
           profile: QualityProfile | None = None) -> Decision
        # every row judged and ranked; at most one chosen; Decision.confident stops the strategy loop
    evaluate(target, torrent, account, profile) -> Candidate      # one row, unranked

    Decision:  candidates (ranked, chosen first), chosen (Candidate | None = nothing acceptable),
               confident, summary (readable; "nothing acceptable among N rows: code xN, ..."),
               rejection_counts, as_dict() -> {chosen_torrent_id, confident, summary, rejection_counts, items}
    Candidate: torrent_id, title, chosen, acceptable, score, breakdown (per component + cost), match
               (MatchConfidence), quality (QualityScore), cost (Cost), rejections (Rejection: code, reason),
               edition (EditionTraits), as_dict() (one item of GET /api/v1/wanted/{id}/candidates)
    QualityProfile (pydantic; GET/PUT /api/v1/settings/quality-profile, stored and read by
               shared.crawl.profile_store.load_profile), with weights: ScoreWeights and
               spending: SpendingPolicy. Target, OwnedRecording (frozen dataclasses, keyword-only).
    RejectionCode, CostKind, QueryKind: string enums (their values are stored and shown).

A typical search job::

    for strategy in query_strategies(target):
        rows += client.search(strategy)            # the MAM client, not here
        decision = choose(target, rows, account, profile)
        if decision.confident:
            break
    store(decision.as_dict())

Module map, one idea each: ``text`` (title/name keys), ``edition`` (format, bitrate, abridged,
dramatised, collection, language read from a row), ``match`` (is it the wanted book), ``quality``
(how good an edition), ``rejections`` (never chosen, and why), ``cost`` (free, wedge or ratio),
``choose`` (rank and decide), ``explain`` (readable summaries), ``strategies`` (what to search).
"""

from shared.crawl.choice.choose import Candidate, Decision, choose, evaluate
from shared.crawl.choice.cost import Cost, CostKind
from shared.crawl.choice.edition import EditionTraits, read_edition
from shared.crawl.choice.explain import describe
from shared.crawl.choice.match import MatchConfidence, SeriesVerdict, TitleVerdict
from shared.crawl.choice.profile import QualityProfile, ScoreWeights, SpendingPolicy
from shared.crawl.choice.quality import QualityScore
from shared.crawl.choice.rejections import Rejection, RejectionCode
from shared.crawl.choice.strategies import QueryKind, QueryStrategy, query_strategies
from shared.crawl.choice.target import OwnedRecording, Target

__all__ = [
    "Candidate",
    "Cost",
    "CostKind",
    "Decision",
    "EditionTraits",
    "MatchConfidence",
    "OwnedRecording",
    "QualityProfile",
    "QualityScore",
    "QueryKind",
    "QueryStrategy",
    "Rejection",
    "RejectionCode",
    "ScoreWeights",
    "SeriesVerdict",
    "SpendingPolicy",
    "Target",
    "TitleVerdict",
    "choose",
    "describe",
    "evaluate",
    "query_strategies",
    "read_edition",
]
