"""A deterministic "metadata world" with known ground truth, feeding every provider simulator.

Gap detection can only be tested against answers we know. This module invents series with complete
bibliographies, lists them in Audible and Hardcover *differently* (the way the real services
disagree), and gives the user a messy library of some of the books. Because the world knows which
work each library item really is, it can state the true gaps exactly.

GROUND TRUTH: the default gap rule, per series S
    primary(S)  = { p integer >= 1 : S has a work of kind "primary" at position p
                    released on or before ``world.as_of`` }
    covered(S)  = union of covers(w) over the works w of S the user owns, where
                  covers(primary at p) = {p}; covers(omnibus "a-b") = {a, ..., b};
                  covers(novella x.5) = covers(prequel 0) = {} (they are never gaps)
    true_gaps(S) = sorted(primary(S) - covered(S))
  So: novellas (x.5), position-0 prequels, omnibus editions and unreleased books are never gaps; a
  position covered by an owned omnibus is not a gap; ownership is by WORK, whatever region the owned
  ASIN belongs to, however the library spells the series, and even when the item has no metadata.

How the providers disagree (recorded per series in ``Series.quirks``):
  "name:<style>"          Audible's series name differs from Hardcover's (article, suffix, subtitle, &)
  "hc_extra_novella:<p>"  Hardcover lists a novella Audible does not carry at all
  "audible_missing:<p>"   Audible sells book p but does not link it to the series
  "hc_duplicate:<p>"      Hardcover holds a non-canonical duplicate record of book p
  "omnibus:<a-b>"         an omnibus edition (Audible lists it; Hardcover marks it compilation)
  "unreleased:<p>"        book p is announced with a future release date
  "uk"                    the series also exists in the UK marketplace, under other ASINs
  "universe"              the books also belong to an Audible-only umbrella series

How the library is messy (``Ownership.mess``): "clean", "odd_title" ("Series 3 - Title", no series
metadata, no ASIN), "other_region_asin" (a UK ASIN), "no_asin_isbn", "no_asin_no_isbn" (only title,
author and duration identify it), "alt_series_name", "no_series_meta".
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Literal

AS_OF = date(2025, 6, 1)
WorkKind = Literal["primary", "novella", "prequel", "omnibus"]
EditionKind = Literal["main", "abridged", "foreign"]

_ADJ = (
    "Ashen Broken Crimson Distant Ember Fallen Gilded Hollow Iron Jade Last Lost Midnight Obsidian "
    "Pale Quiet Radiant Scarlet Shattered Silent Silver Sunken Thorned Veiled Wandering Wild Winter "
    "Burning Frozen Hidden Golden Shadowed Storm-Born Tidal Verdant Amber Cinder Twilight Bitter"
).split()
_NOUN = (
    "Crown Blade Tide Throne Oath Forge Gate Harbor Lantern Mirror Orchard Raven Road Sky Spire Star "
    "Storm Tower Vault Wolf Ember Hunter Keeper Circle Empire Garden Legion Library Machine Mountain "
    "River Sea Song Sword Thief Veil Voyage Wall Warden Well Witch Key Moon Sun Ash Bone Glass Salt "
    "Serpent Mask Compass Banner Covenant Engine Orbit Relic Signal Citadel Exile Heir"
).split()
_FIRST = (
    "Ada Ben Cara Dev Elena Felix Greta Hugo Iris Jonah Kira Leo Mira Nils Opal Pavel Quinn Rosa Sami "
    "Tess Umar Vera Wes Xena Yuri Zoe Alan Beth Colm Dara Emil Faye Gil Hana Ivo Jill Kofi Lena Milo "
    "Nora Otto Pia Rhys Sana Theo Una Vik Wren"
).split()
_LAST = (
    "Abbott Brennan Castillo Dawson Eriksen Farrow Galloway Hart Ibarra Jansen Kowalski Lindqvist Marsh "
    "Novak Okafor Pryce Quayle Rinaldi Sato Thorne Underwood Vance Whitlock Yardley Zeller Ashby Blake "
    "Crane Drummond Ellery Fenwick Grey Holloway Ingram Keane Lowell Mercer Nakamura Osei Penrose "
    "Redfern Sinclair Tarrant Voss Wilde"
).split()
_GERMAN = "Jonas Lukas Anna Lena Felix Marie Paul Sophie".split()
_STYLES = ("Chronicles", "Saga", "Cycle", "Sequence", "Series", "Archives", "Trilogy", "")
_SUBTITLES = ("A LitRPG Adventure", "A Space Opera", "An Epic Fantasy Series", "A Mystery Series")
_ALPHABET = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"


@dataclass
class OwnedBook:
    """A library item as Audiobookshelf would hold it: whatever metadata the files happened to carry."""

    title: str
    authors: list[str]
    series: list[tuple[str, str | None]]
    narrators: list[str]
    asin: str | None
    isbn: str | None
    duration_seconds: int
    language: str
    item_id: str = ""


@dataclass(frozen=True, slots=True)
class AudioEdition:
    """One Audible product (one recording in one marketplace)."""

    asin: str
    region: str
    kind: EditionKind
    title: str
    language: str  # Audible spelling: "english", "german"
    narrators: tuple[str, ...]
    duration_seconds: int
    release_date: date
    in_series: bool  # Audible links it to the series (relationships and series[])
    sequence: str | None  # raw Audible sequence: "3", "Book 3", "3, Dramatized Adaptation", None
    sort: int  # Audible display order inside the series listing (not the volume!)


@dataclass(frozen=True, slots=True)
class Work:
    """A book of a series, independent of any edition or provider."""

    work_id: str
    series_id: str
    kind: WorkKind
    position: str  # canonical: "1", "2.5", "0", "1-3"
    covers: tuple[int, ...]
    title: str
    subtitle: str | None
    authors: tuple[str, ...]
    release_date: date
    isbn13: str | None
    hardcover_id: int
    hardcover_duplicate_id: int | None
    hardcover_position: float | None
    hardcover_details: str | None
    ol_work: str
    ol_edition: str | None
    google_id: str
    itunes_id: int
    editions: tuple[AudioEdition, ...]

    def edition(self, region: str = "us", kind: EditionKind = "main") -> AudioEdition | None:
        return next((e for e in self.editions if e.region == region and e.kind == kind), None)


@dataclass(frozen=True, slots=True)
class Author:
    name: str
    asin: str
    ol_key: str
    hardcover_id: int


@dataclass(frozen=True, slots=True)
class Universe:
    """An Audible-only umbrella series (books carry it as a secondary series without a sequence)."""

    name: str
    asin: str
    series_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Series:
    series_id: str
    name: str  # the bibliographic name (Hardcover's)
    audible_name: str
    hardcover_name: str
    alt_name: str  # a third spelling some library items use
    authors: tuple[str, ...]
    audible_asins: tuple[tuple[str, str], ...]  # (region, series ASIN)
    hardcover_id: int
    universe: str | None
    works: tuple[Work, ...]
    quirks: tuple[str, ...]

    def audible_asin(self, region: str = "us") -> str | None:
        return dict(self.audible_asins).get(region)


@dataclass(frozen=True, slots=True)
class Ownership:
    """Ground truth behind one library item: which work it is, and how it is messy."""

    book: OwnedBook
    work_id: str
    series_id: str
    edition_asin: str
    mess: str


@dataclass(frozen=True, slots=True)
class SeriesTruth:
    series_id: str
    primary_positions: tuple[int, ...]
    unreleased_positions: tuple[int, ...]
    covered_positions: tuple[int, ...]
    true_gaps: tuple[int, ...]
    owned_work_ids: tuple[str, ...]


@dataclass(frozen=True)
class World:
    seed: int
    as_of: date
    authors: tuple[Author, ...]
    series: tuple[Series, ...]
    universes: tuple[Universe, ...]
    ownerships: tuple[Ownership, ...]
    truths: dict[str, SeriesTruth] = field(init=False, repr=False, compare=False)
    works: dict[str, Work] = field(init=False, repr=False, compare=False)
    editions: dict[str, tuple[Work, AudioEdition]] = field(init=False, repr=False, compare=False)
    series_by_id: dict[str, Series] = field(init=False, repr=False, compare=False)
    author_by_name: dict[str, Author] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        works = {w.work_id: w for s in self.series for w in s.works}
        object.__setattr__(self, "works", works)
        object.__setattr__(self, "editions", {e.asin: (w, e) for w in works.values() for e in w.editions})
        object.__setattr__(self, "series_by_id", {s.series_id: s for s in self.series})
        object.__setattr__(self, "author_by_name", {a.name: a for a in self.authors})
        object.__setattr__(self, "truths", {s.series_id: self._truth(s) for s in self.series})

    @property
    def owned_books(self) -> tuple[OwnedBook, ...]:
        return tuple(o.book for o in self.ownerships)

    @property
    def owned_work_ids(self) -> frozenset[str]:
        return frozenset(o.work_id for o in self.ownerships)

    def true_gaps(self, series_id: str) -> tuple[int, ...]:
        return self.truths[series_id].true_gaps

    def _truth(self, series: Series) -> SeriesTruth:
        owned = sorted({o.work_id for o in self.ownerships if o.series_id == series.series_id})
        primary = sorted(int(w.position) for w in series.works if w.kind == "primary" and w.release_date <= self.as_of)
        future = sorted(int(w.position) for w in series.works if w.kind == "primary" and w.release_date > self.as_of)
        covered = sorted({p for wid in owned for p in self.works[wid].covers})
        gaps = tuple(p for p in primary if p not in set(covered))
        return SeriesTruth(series.series_id, tuple(primary), tuple(future), tuple(covered), gaps, tuple(owned))


class _Ids:
    """Unique, deterministic identifiers drawn from the world's one random stream."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.seen: set[str] = set()
        self.counter = 0

    def token(self, prefix: str) -> str:
        while True:
            value = "".join(self.rng.choice(_ALPHABET) for _ in range(8))
            candidate = prefix + value
            if candidate not in self.seen:
                self.seen.add(candidate)
                return candidate

    def asin(self) -> str:
        return self.token("B0")

    def isbn13(self) -> str:
        while True:
            body = "9781" + "".join(str(self.rng.randrange(10)) for _ in range(8))
            check = (10 - sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body)) % 10) % 10
            value = body + str(check)
            if value not in self.seen:
                self.seen.add(value)
                return value

    def next(self) -> int:
        self.counter += 1
        return self.counter


def isbn10_of(isbn13: str) -> str | None:
    """The ISBN-10 spelling of a 978 ISBN-13 (libraries often hold the old form)."""
    if not isbn13.startswith("978") or len(isbn13) != 13:
        return None
    body = isbn13[3:12]
    check = (11 - sum(int(d) * (10 - i) for i, d in enumerate(body)) % 11) % 11
    return body + ("X" if check == 10 else str(check))


def generate_world(n_series: int = 200, seed: int = 0) -> World:
    """The same ``(n_series, seed)`` always gives the same world (no set/dict-order or hash effects)."""
    rng = random.Random(f"mamcrawler-world:{seed}")
    ids = _Ids(rng)
    names = _NameBook(rng)
    authors = tuple(
        Author(n, ids.asin(), f"OL{1000 + i}A", 5000 + i) for i, n in enumerate(names.people(max(12, n_series // 2)))
    )
    narrators = names.people(max(10, n_series // 3))
    series = [_make_series(i, rng, ids, names, authors, narrators) for i in range(n_series)]
    series, universes = _add_universes(rng, ids, series)
    ownerships = _own(rng, series)
    return World(seed, AS_OF, authors, tuple(series), tuple(universes), tuple(ownerships))


class _NameBook:
    """Unique people, titles and series names (unique so title matching has a right answer)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used: set[str] = set()

    def _unique(self, candidates: list[str]) -> str:
        for text in candidates:
            if text not in self.used:
                self.used.add(text)
                return text
        text = f"{candidates[0]} {len(self.used)}"
        self.used.add(text)
        return text

    def people(self, n: int) -> list[str]:
        r = self.rng
        return [self._unique([f"{r.choice(_FIRST)} {r.choice(_LAST)}" for _ in range(20)]) for _ in range(n)]

    def title(self) -> str:
        r = self.rng

        def plural(noun: str) -> str:
            irregular = {"Wolf": "Wolves", "Thief": "Thieves", "Glass": "Glasses", "Witch": "Witches"}
            return irregular.get(noun, noun + ("es" if noun.endswith(("s", "sh", "ch", "x")) else "s"))

        def one() -> str:
            return r.choice(
                (
                    f"The {r.choice(_NOUN)} of {plural(r.choice(_NOUN))}",
                    f"{r.choice(_ADJ)} {r.choice(_NOUN)}",
                    f"The {r.choice(_ADJ)} {r.choice(_NOUN)}",
                    f"{r.choice(_NOUN)} of the {r.choice(_ADJ)} Sea",
                    f"A {r.choice(_NOUN)} for the {r.choice(_NOUN)}",
                )
            )

        return self._unique([one() for _ in range(30)])

    def series_names(self) -> tuple[str, str, str, str]:
        """(hardcover_name, audible_name, alt_name, style) with style one of the name quirks."""
        r = self.rng
        for _ in range(50):
            core = (
                f"{r.choice(_NOUN)} and {r.choice(_NOUN)}"
                if r.random() < 0.1
                else f"{r.choice(_ADJ)} {r.choice(_NOUN)}"
                if r.random() < 0.6
                else r.choice(_NOUN)
            )
            word = r.choice(_STYLES)
            hc = f"{core} {word}".strip()
            if hc in self.used or f"The {hc}" in self.used or len(hc.split()) < 2 and not word:
                continue
            style = r.choices(("same", "article", "suffix", "subtitle"), (40, 20, 20, 20))[0]
            if " and " in core and r.random() < 0.7:
                style = "ampersand"
            audible = {
                "same": hc,
                "article": f"The {hc}",
                "suffix": f"{core} Series" if word not in ("", "Series") else f"{core} Saga",
                "subtitle": f"{hc}: {r.choice(_SUBTITLES)}",
                "ampersand": hc.replace(" and ", " & "),
            }[style]
            alt = f"{hc} Series" if not hc.endswith("Series") else f"The {hc} Books"
            self.used.update({hc, audible, f"The {hc}"})
            return hc, audible, alt, style
        raise RuntimeError("series name space exhausted; extend the word lists")


def _make_series(
    i: int, rng: random.Random, ids: _Ids, names: _NameBook, authors: tuple[Author, ...], narrators: list[str]
) -> Series:
    hc_name, aud_name, alt_name, style = names.series_names()
    quirks = [] if style == "same" else [f"name:{style}"]
    who = tuple(a.name for a in rng.sample(authors, 2 if rng.random() < 0.12 else 1))
    specs = _bibliography(rng, quirks)
    released = [int(p) for k, p, _, when in specs if k == "primary" and when <= AS_OF]
    missing = rng.randint(2, len(released)) if len(released) >= 3 and rng.random() < 0.15 else None
    duplicate = rng.choice(released) if released and rng.random() < 0.15 else None
    uk = rng.random() < 0.35
    voice = rng.choice(narrators)
    low_high = {"primary": (6, 22), "novella": (1, 4), "prequel": (2, 6), "omnibus": (0, 0)}
    seconds = [rng.randint(low_high[k][0] * 3600, low_high[k][1] * 3600) for k, *_ in specs]
    for j, (kind, _, covers, _) in enumerate(specs):
        if kind == "omnibus":
            seconds[j] = rng.randint(0, 600) + sum(
                seconds[x] for x, spec in enumerate(specs) if spec[0] == "primary" and spec[2][0] in covers
            )
    sort = 0
    works: list[Work] = []
    for j, (kind, pos, covers, when) in enumerate(specs):
        on_audible = not (kind == "novella" and rng.random() < 0.5)
        linked = not (kind == "primary" and pos == str(missing))
        is_duplicate = kind == "primary" and pos == str(duplicate)
        quirks += [
            q
            for q, hit in (
                (f"hc_extra_novella:{pos}", not on_audible),
                (f"audible_missing:{pos}", not linked),
                (f"hc_duplicate:{pos}", is_duplicate),
            )
            if hit
        ]
        if kind == "omnibus":
            title, subtitle = f"{aud_name}: Books {pos}", None
        else:
            title = names.title()
            subtitle = None
            if rng.random() < 0.35:
                subtitle = f"{hc_name}, Book {pos}" if kind == "primary" else f"A {hc_name} Novella"
        voices: tuple[str, ...] = (voice,) if rng.random() < 0.8 else (rng.choice(narrators),)
        if rng.random() < 0.1:
            voices += (rng.choice([v for v in narrators if v not in voices]),)
        sort += 1 if on_audible and linked else 0
        editions = _editions(rng, ids, title, voices, seconds[j], when, pos, linked, sort, uk) if on_audible else ()
        isbn = ids.isbn13() if rng.random() < {"primary": 0.92, "omnibus": 0.5}.get(kind, 0.6) else None
        works.append(
            Work(
                work_id=f"{i:04d}-{j:02d}",
                series_id=f"s{i:04d}",
                kind=kind,
                position=pos,
                covers=covers,
                title=title,
                subtitle=subtitle,
                authors=who,
                release_date=when,
                isbn13=isbn,
                hardcover_id=200_000 + ids.next(),
                hardcover_duplicate_id=900_000 + ids.next() if f"hc_duplicate:{pos}" in quirks else None,
                hardcover_position=float(covers[0]) if kind == "omnibus" else float(pos),
                hardcover_details=pos if kind == "omnibus" else None,
                ol_work=f"OL{10_000 + ids.next()}W",
                ol_edition=f"OL{50_000 + ids.next()}M" if isbn else None,
                google_id=ids.token("gB"),
                itunes_id=1_000_000_000 + ids.next(),
                editions=editions,
            )
        )
    regions = sorted({e.region for w in works for e in w.editions})
    if "uk" in regions:
        quirks.append("uk")
    return Series(
        series_id=f"s{i:04d}",
        name=hc_name,
        audible_name=aud_name,
        hardcover_name=hc_name,
        alt_name=alt_name,
        authors=who,
        audible_asins=tuple((r, ids.asin()) for r in regions),
        hardcover_id=10_000 + i,
        universe=None,
        works=tuple(works),
        quirks=tuple(quirks),
    )


def _bibliography(rng: random.Random, quirks: list[str]) -> list[tuple[WorkKind, str, tuple[int, ...], date]]:
    """(kind, position, covered primary positions, release date) for every work, in volume order."""
    n = rng.choice((3, 3, 4, 4, 5, 5, 6, 7, 8, 9, 10, 12))
    unreleased = rng.random() < 0.10
    if unreleased:
        last = AS_OF + timedelta(days=rng.randint(20, 300))
        quirks.append(f"unreleased:{n}")
    else:
        last = AS_OF - timedelta(days=rng.randint(30, 1500))
    gap = max(rng.randint(150, 420), (last - AS_OF).days + 30)  # only the last book can be unreleased
    dates = {k: last - timedelta(days=gap * (n - k)) for k in range(1, n + 1)}
    released = [k for k in range(1, n + 1) if dates[k] <= AS_OF]
    specs: list[tuple[WorkKind, str, tuple[int, ...], date]] = [
        ("primary", str(k), (k,), dates[k]) for k in range(1, n + 1)
    ]
    if rng.random() < 0.15:
        specs.append(("prequel", "0", (), min(dates[1] + timedelta(days=60), AS_OF)))
    if rng.random() < 0.4:
        for m in sorted(rng.sample(range(1, n), rng.choice((1, 1, 2)))):
            specs.append(("novella", f"{m}.5", (), min(dates[m] + timedelta(days=gap // 2), AS_OF)))
    if len(released) >= 4 and rng.random() < 0.2:
        for a, b in ((1, 3), (4, 6)):
            when = dates.get(b, AS_OF) + timedelta(days=30)
            if len(released) >= b + 1 and when <= AS_OF and (a == 1 or rng.random() < 0.3):
                specs.append(("omnibus", f"{a}-{b}", tuple(range(a, b + 1)), when))
                quirks.append(f"omnibus:{a}-{b}")
    specs.sort(key=lambda s: (float(s[1].split("-")[0]), s[0] != "omnibus"))
    return specs


def _editions(
    rng: random.Random,
    ids: _Ids,
    title: str,
    voices: tuple[str, ...],
    seconds: int,
    when: date,
    pos: str,
    linked: bool,
    sort: int,
    uk: bool,
) -> tuple[AudioEdition, ...]:
    """The Audible products of one work: US, maybe UK, and the distractors a matcher must refuse."""
    sequence: str | None = pos
    roll = rng.random()
    if roll < 0.08:
        sequence = f"Book {pos}"
    elif roll < 0.11:
        sequence = None
    elif roll < 0.13 and pos.isdigit():
        sequence = f"{pos}, Dramatized Adaptation"
    main = AudioEdition(
        ids.asin(), "us", "main", title, "english", voices, seconds, when, linked, sequence, sort if linked else 0
    )
    out = [main]
    if uk and rng.random() < 0.7:
        out.append(replace(main, asin=ids.asin(), region="uk", duration_seconds=seconds + rng.randint(-5, 5)))
    if rng.random() < 0.04:
        out.append(
            AudioEdition(
                ids.asin(),
                "us",
                "abridged",
                title,
                "english",
                (f"{rng.choice(_FIRST)} {rng.choice(_LAST)}",),
                int(seconds * 0.45),
                when,
                False,
                None,
                0,
            )
        )
    if rng.random() < 0.03:
        german = (f"{rng.choice(_GERMAN)} {rng.choice(_LAST)}",)
        out.append(
            AudioEdition(
                ids.asin(), "us", "foreign", title, "german", german, int(seconds * 1.12), when, False, None, 0
            )
        )
    return tuple(out)


def _add_universes(
    rng: random.Random,
    ids: _Ids,
    series: list[Series],
) -> tuple[list[Series], list[Universe]]:
    """Umbrella series for some authors with several series (Audible lists them as a second series)."""
    by_author: dict[str, list[int]] = {}
    for idx, s in enumerate(series):
        by_author.setdefault(s.authors[0], []).append(idx)
    universes: list[Universe] = []
    for author in sorted(by_author):
        members = by_author[author]
        if len(members) < 2 or rng.random() >= 0.2:
            continue
        name = f"The {author.split()[-1]} Universe"
        if any(u.name == name for u in universes):
            name = f"The {author} Universe"
        universes.append(Universe(name, ids.asin(), tuple(series[m].series_id for m in members)))
        for m in members:
            series[m] = replace(series[m], universe=name, quirks=series[m].quirks + ("universe",))
    return series, universes


def _owned_primaries(rng: random.Random, released: list[int]) -> set[int]:
    pattern = rng.choices(("complete", "prefix", "scattered", "single"), (15, 35, 35, 15))[0]
    if pattern == "complete" or len(released) == 1:
        return set(released)
    if pattern == "prefix":
        return set(released[: rng.randint(1, len(released) - 1)])
    if pattern == "single":
        return {rng.choice(released)}
    chosen = {k for k in released if rng.random() < 0.55}
    return chosen or {rng.choice(released)}


def _own(rng: random.Random, series: list[Series]) -> list[Ownership]:
    """The user owns part of every series, described as messily as real libraries are."""
    picks: list[tuple[Series, Work]] = []
    for s in series:
        ownable = [w for w in s.works if w.edition("us") is not None and w.release_date <= AS_OF]
        released = sorted(int(w.position) for w in ownable if w.kind == "primary")
        wanted = _owned_primaries(rng, released) if released else set()
        omnibus = [w for w in ownable if w.kind == "omnibus"]
        for om in omnibus:
            if wanted & set(om.covers) and rng.random() < 0.6:
                wanted -= set(om.covers)
                picks.append((s, om))
        for w in ownable:
            if (w.kind == "primary" and int(w.position) in wanted) or (
                w.kind in ("novella", "prequel") and rng.random() < 0.3
            ):
                picks.append((s, w))
        if not any(p[0] is s for p in picks) and ownable:
            picks.append((s, ownable[0]))
    out = [_describe(rng, s, w) for s, w in picks]
    rng.shuffle(out)
    return [replace(o, book=replace(o.book, item_id=f"li_{n:05d}")) for n, o in enumerate(out)]


def _describe(rng: random.Random, s: Series, w: Work) -> Ownership:
    mess = rng.choices(
        (
            "clean",
            "odd_title",
            "other_region_asin",
            "no_asin_isbn",
            "no_asin_no_isbn",
            "alt_series_name",
            "no_series_meta",
        ),
        (34, 12, 8, 12, 10, 14, 10),
    )[0]
    uk = w.edition("uk")
    if mess == "other_region_asin" and uk is None:
        mess = "clean"
    if mess == "no_asin_isbn" and w.isbn13 is None:
        mess = "no_asin_no_isbn"
    edition = uk if mess == "other_region_asin" and uk else w.edition("us")
    assert edition is not None
    title = w.title
    if mess == "clean" and w.subtitle and rng.random() < 0.15:
        title = f"{w.title}: {w.subtitle}"
    if mess == "odd_title":
        title = rng.choice((f"{s.audible_name} {w.position} - {w.title}", f"{s.name} Book {w.position} - {w.title}"))
    authors = [
        a if rng.random() >= 0.1 else f"{a.split()[-1]}, {' '.join(a.split()[:-1])}" for a in w.authors
    ]  # "Last, First", as some taggers write it
    series_meta: list[tuple[str, str | None]] = []
    if mess in ("clean", "other_region_asin") or (mess.startswith("no_asin") and rng.random() < 0.5):
        series_meta = [(s.audible_name, w.position)]
    elif mess == "alt_series_name":
        series_meta = [(rng.choice((s.alt_name, s.hardcover_name)), w.position)]
    if series_meta and s.universe and rng.random() < 0.3:
        series_meta.append((s.universe, None))
    isbn = None
    if mess == "no_asin_isbn" and w.isbn13:
        isbn = isbn10_of(w.isbn13) if rng.random() < 0.5 else w.isbn13
    elif mess == "clean" and rng.random() < 0.3:
        isbn = w.isbn13
    book = OwnedBook(
        title=title,
        authors=authors,
        series=series_meta,
        narrators=[] if rng.random() < 0.08 else list(edition.narrators),
        asin=None if mess in ("odd_title", "no_asin_isbn", "no_asin_no_isbn") else edition.asin,
        isbn=isbn,
        duration_seconds=edition.duration_seconds + rng.randint(-40, 40),
        language=rng.choices(("English", "eng", "en", "english"), (70, 10, 10, 10))[0],
    )
    return Ownership(book, w.work_id, s.series_id, edition.asin, mess)
