"""The world as one Audible marketplace sees it; shared by the Audible and Audnexus simulators.

Audnexus is a cache in front of Audible, so both simulators must agree on which ASINs exist in a
region, which series a product belongs to, and with which raw ``sequence``. Deriving both from this
one view keeps them consistent the way the real services are.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from tests.sims.world import AudioEdition, Series, Work, World

_TOKEN = re.compile(r"[a-z0-9]+")


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(text.lower())


@dataclass(frozen=True)
class Membership:
    """A product's place in one Audible series (primary series or an umbrella universe)."""

    series_asin: str
    name: str
    sequence: str | None
    sort: int
    universe: bool = False


@dataclass(frozen=True)
class SeriesProduct:
    asin: str
    name: str
    children: tuple[tuple[AudioEdition, Work], ...]
    universe: bool


class AudibleCatalog:
    """Products, series products and memberships of one marketplace (``region``)."""

    def __init__(self, world: World, region: str) -> None:
        self.world = world
        self.region = region
        self.products: dict[str, tuple[Work, AudioEdition]] = {
            asin: (w, e) for asin, (w, e) in world.editions.items() if e.region == region
        }
        self.series_products: dict[str, SeriesProduct] = {}
        self.memberships: dict[str, list[Membership]] = {asin: [] for asin in self.products}
        self.primary_series: dict[str, Series] = {}
        for series in world.series:
            self._add_series(series)
        if region == "us":
            for universe in world.universes:
                children = [
                    (e, w)
                    for sid in universe.series_ids
                    for w in world.series_by_id[sid].works
                    for e in w.editions
                    if e.region == region and e.in_series
                ]
                self.series_products[universe.asin] = SeriesProduct(universe.asin, universe.name, tuple(children), True)
                for n, (edition, _) in enumerate(children, start=1):
                    self.memberships[edition.asin].append(Membership(universe.asin, universe.name, None, n, True))

    def _add_series(self, series: Series) -> None:
        asin = series.audible_asin(self.region)
        if asin is None:
            return
        children = sorted(
            ((e, w) for w in series.works for e in w.editions if e.region == self.region and e.in_series),
            key=lambda ew: ew[0].sort,
        )
        self.series_products[asin] = SeriesProduct(asin, series.audible_name, tuple(children), False)
        for edition, _ in children:
            self.memberships[edition.asin].append(Membership(asin, series.audible_name, edition.sequence, edition.sort))
            self.primary_series[edition.asin] = series

    def author_asin(self, name: str) -> str | None:
        author = self.world.author_by_name.get(name)
        return author.asin if author else None

    def search(
        self, *, title: str | None, author: str | None, narrator: str | None, keywords: str | None
    ) -> list[tuple[Work, AudioEdition]]:
        """Products whose fields contain every token asked for, most title tokens first."""
        hits: list[tuple[int, str, Work, AudioEdition]] = []
        for asin, (work, edition) in sorted(self.products.items()):
            title_tokens, author_tokens, narrator_tokens, everything = _product_tokens(
                edition.title, work.subtitle, tuple(work.authors), tuple(edition.narrators),
                tuple(m.name for m in self.memberships[asin]))
            checks = (
                (title, title_tokens),
                (author, author_tokens),
                (narrator, narrator_tokens),
                (keywords, everything),
            )
            if all(q is None or set(tokens(q)) <= have for q, have in checks):
                exact = title is not None and tokens(title) == tokens(edition.title)
                hits.append((0 if exact else 1, asin, work, edition))
        hits.sort(key=lambda h: (h[0], h[1]))
        return [(w, e) for _, _, w, e in hits]


@functools.lru_cache(maxsize=200_000)
def _product_tokens(title: str, subtitle: str | None, authors: tuple[str, ...], narrators: tuple[str, ...],
                    series: tuple[str, ...]) -> tuple[frozenset[str], frozenset[str], frozenset[str], frozenset[str]]:
    """Token sets of one product, memoised on its fields: a search scans the whole catalogue, and
    tokenising every product on every request made the simulator, not the rate limit, the
    bottleneck of the 1,000-series benchmark (py-spy: all time in ``search``)."""
    title_tokens = frozenset(tokens(f"{title} {subtitle or ''}"))
    author_tokens = frozenset(tokens(" ".join(authors)))
    narrator_tokens = frozenset(tokens(" ".join(narrators)))
    series_tokens = frozenset(tokens(" ".join(series)))
    return title_tokens, author_tokens, narrator_tokens, title_tokens | author_tokens | narrator_tokens | series_tokens
