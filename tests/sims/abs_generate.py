"""A deterministic, realistically messy Audiobookshelf library and the figures a sync must report.

What "messy" means here (all of it seen in real libraries): co-authored books; authors whose names
contain a comma ("Martin Smith, Jr."), dotted initials, diacritics; the same person or series
spelled several ways across items ("Brandon Sanderson" / "brandon  sanderson", "Stephen King" /
"Stéphen King", "The King's Road" / "The King’s Road"); books in two series at once; positions
"0", "2.5", "1-3"; books with no series; explicit and ``isMissing`` items; deliberate duplicate
copies of a work in another library; a podcast library alongside; ASINs missing or from another
marketplace; ISBN-13s; multi-narrator books; audio files with codec/bitrate/channels.

**Ground-truth rules** (what :class:`GroundTruth` counts — the sync must reproduce them):

* *present item*: an item in a **book** library with ``isMissing`` false. Podcasts never count.
  Missing items are excluded from every figure: their files are gone, so the user does not own
  them any more (ABS keeps the row). Explicit items *are* counted: the generated API key is root,
  which sees them; ``explicit_item_ids`` lets a test adjust for a non-admin view.
* *work*: what one book item is. The only exception is a deliberate duplicate — a second item for
  the same work (another library, possibly another author spelling or ASIN region); the pair is
  one work. Identity rule a sync can apply: ``(fold_name(title), frozenset(fold_name(author)))``.
  The generator guarantees distinct works never share a folded title, so that rule is exact.
* ``books``: distinct works with at least one present item.
* ``authors`` / ``series`` / ``narrators``: distinct ``fold_name`` keys over present items (from the
  expanded ``authors[]``, ``series[]``, ``narrators[]`` arrays, never split display strings).
* ``hours``: sum of ``media.duration`` of present items / 3600 — per *item*, so both copies of a
  duplicated work count (they are both on disk).
* ``author_book_counts``: folded author → number of distinct present works crediting them.
* ``series_positions``: folded series → owned sequence strings (as stored, e.g. "1", "2.5", "1-3"),
  sorted by :func:`shared.normalize.position_sort_key`; unsequenced memberships are not positions
  but are counted in ``series_book_counts``.
"""

from __future__ import annotations

import gc
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from shared.normalize import fold_name, position_sort_key
from tests.sims import abs_names as names
from tests.sims.abs_records import SimLibrary
from tests.sims.abs_state import AbsState

ADMIN_TOKEN = "sim-admin-token-0123456789abcdef"
USER_TOKEN = "sim-user-token-fedcba9876543210"
EPOCH_MS = 1_600_000_000_000
_YEARS = tuple(str(y) for y in range(1950, 2026))


class _TickingClock:
    """Deterministic time: each reading is 1 ms after the previous one, so writes stay ordered."""

    def __init__(self) -> None:
        self.now = EPOCH_MS

    def __call__(self) -> int:
        self.now += 1
        return self.now


@dataclass(frozen=True, slots=True)
class GroundTruth:
    books: int
    authors: int
    series: int
    narrators: int
    hours: float
    author_book_counts: dict[str, int]
    series_positions: dict[str, tuple[str, ...]]
    series_book_counts: dict[str, int]
    present_item_ids: frozenset[str]
    missing_item_ids: frozenset[str]
    explicit_item_ids: frozenset[str]
    podcast_item_ids: frozenset[str]
    duplicate_groups: tuple[tuple[str, ...], ...]
    work_of_item: dict[str, int]
    asin_region: dict[str, str]  # item id → "us" | "uk"; items without ASIN are absent
    book_library_ids: tuple[str, ...]
    podcast_library_ids: tuple[str, ...]
    admin_token: str = ADMIN_TOKEN
    user_token: str = USER_TOKEN  # non-admin, cannot see explicit items, cannot update


@dataclass(slots=True)
class _Work:
    title: str
    authors: tuple[int, ...]  # person indexes
    series: tuple[tuple[int, str | None], ...] = ()  # (series index, sequence)
    explicit: bool = False
    omnibus: bool = False
    asin: str | None = None
    items: list[str] = field(default_factory=list)


class _Builder:
    def __init__(self, n_items: int, seed: int) -> None:
        self.rng = random.Random(seed)
        self.n_items = n_items
        self.people: list[str] = []
        self.narrators: list[str] = []
        self.series: list[str] = []
        self._people_keys: set[str] = set()
        self._narrator_keys: set[str] = set()
        self._series_keys: set[str] = set()
        self._titles: set[str] = set()
        self._asins: set[str] = set()
        self._tuples: dict[tuple[str, ...], tuple[str, ...]] = {}
        self._folded: dict[str, str] = {}

    def _unique(self, make: Callable[[random.Random], str], pool: list[str], keys: set[str]) -> int:
        for _ in range(1000):
            candidate = make(self.rng)
            key = fold_name(candidate)
            if key not in keys:
                keys.add(key)
                pool.append(candidate)
                return len(pool) - 1
        raise RuntimeError("name pool exhausted; widen abs_names pools")

    def person(self) -> int:
        """Skewed choice: a few prolific authors, a long tail (new people appear as we go)."""
        target = max(8, self.n_items // 5)
        if len(self.people) < target and (not self.people or self.rng.random() < 0.35):
            return self._unique(names.person_name, self.people, self._people_keys)
        return int(len(self.people) * self.rng.random() ** 2)

    def narrator(self) -> int:
        target = max(5, self.n_items // 8)
        if len(self.narrators) < target and (not self.narrators or self.rng.random() < 0.4):
            return self._unique(names.person_name, self.narrators, self._narrator_keys)
        return int(len(self.narrators) * self.rng.random() ** 1.5)

    def new_series(self) -> int:
        return self._unique(names.series_name, self.series, self._series_keys)

    def title(self) -> str:
        for _ in range(1000):
            candidate = names.title_text(self.rng)
            key = fold_name(candidate)
            if key not in self._titles:
                self._titles.add(key)
                return candidate
        raise RuntimeError("title pool exhausted; widen abs_names pools")

    def shared(self, value: tuple[str, ...]) -> tuple[str, ...]:
        """One tuple object per distinct value: 100,000 items share a few hundred genre tuples."""
        return self._tuples.setdefault(value, value)

    def fold(self, text: str) -> str:
        key = self._folded.get(text)
        if key is None:
            key = self._folded[text] = fold_name(text)
        return key

    def asin(self) -> str:
        while True:
            value = names.asin(self.rng)
            if value not in self._asins:
                self._asins.add(value)
                return value

    def authors_for(self) -> tuple[int, ...]:
        roll = self.rng.random()
        count = 3 if roll < 0.03 else 2 if roll < 0.15 else 1
        chosen: list[int] = []
        while len(chosen) < count:
            p = self.person()
            if p not in chosen:
                chosen.append(p)
        return tuple(chosen)

    def works(self, n_works: int) -> list[_Work]:
        rng, works = self.rng, list[_Work]()
        universes: dict[tuple[int, ...], tuple[int, list[int]]] = {}
        while len(works) < n_works:
            if rng.random() < 0.3:
                works.append(_Work(self.title(), self.authors_for(), explicit=rng.random() < 0.03))
                continue
            authors = self.authors_for()[:2]
            series = self.new_series()
            length = rng.choice((1, 2, 3, 3, 4, 5, 5, 6, 7, 8, 10, 12))
            positions = [str(i) for i in range(1, length + 1)]
            if rng.random() < 0.1:
                positions.insert(0, "0")
            if length > 1 and rng.random() < 0.12:
                positions.append(f"{rng.randrange(1, length)}.5")
            if length >= 3 and rng.random() < 0.06:
                positions.append("1-3")
            owned = [p for p in positions if rng.random() < 0.8] or positions[:1]
            universe = None
            if rng.random() < 0.1:
                universe = universes.setdefault(authors, (self.new_series(), [0]))
            explicit = rng.random() < 0.03
            for pos in owned:
                if len(works) >= n_works:
                    break
                links: list[tuple[int, str | None]] = [(series, pos if rng.random() > 0.02 else None)]
                if universe is not None:
                    universe[1][0] += 1
                    links.append((universe[0], str(universe[1][0]) if rng.random() < 0.5 else None))
                title = f"{self.series[series]} Omnibus" if "-" in pos else self.title()
                if not title.endswith("Omnibus") and rng.random() < 0.03:
                    title = f"{title} ({self.series[series]}, Book {pos})"  # series hint baked into title
                if title.endswith("Omnibus") and fold_name(title) in self._titles:
                    title = self.title()
                self._titles.add(fold_name(title))
                works.append(_Work(title, authors, tuple(links), explicit, omnibus="-" in pos))
        return works


def _spell(name: str, rng: random.Random, p_variant: float) -> str:
    return names.variant(name, rng) if rng.random() < p_variant else name


def _item_fields(b: _Builder, work: _Work) -> dict[str, Any]:
    rng = b.rng
    codec = rng.choices(("aac", "mp3", "opus", "flac"), (60, 35, 3, 2))[0]
    single = codec == "aac" and rng.random() < 0.7
    n_files = 1 if single else rng.randint(2, 40 if codec == "mp3" else 25)
    hours = min(60.0, max(0.4, rng.lognormvariate(2.2, 0.6))) * (3 if work.omnibus else 1)
    roll = rng.random()
    n_narr = 3 if roll < 0.05 else 2 if roll < 0.2 else 1
    narrators: list[int] = []
    while len(narrators) < n_narr:
        n = b.narrator()
        if n not in narrators:
            narrators.append(n)
    lang_roll, language = rng.randrange(100), None
    for lang, weight in names.LANGUAGES:
        if lang_roll < weight:
            language = lang
            break
        lang_roll -= weight
    return {
        "duration": round(hours * 3600 + rng.random(), 3),
        "codec": codec,
        "n_files": n_files,
        "bitrate": rng.choice(
            {"aac": (64000, 128000), "mp3": (64000, 128000, 192000), "opus": (32000, 64000), "flac": (640000,)}[codec]
        ),
        "channels": 2 if rng.random() < 0.7 else 1,
        "narrators": tuple(_spell(b.narrators[n], rng, 0.15) for n in narrators),
        "genres": b.shared(tuple(rng.sample(names.GENRES, rng.randint(1, 3)))),
        "publisher": rng.choice(names.PUBLISHERS) if rng.random() < 0.85 else None,
        "published_year": _YEARS[rng.randrange(len(_YEARS))] if rng.random() < 0.95 else None,
        "language": language,
        "asin": work.asin,
        "isbn": names.isbn13(rng) if rng.random() < 0.4 else None,
        "explicit": work.explicit,
        "abridged": rng.random() < 0.02,
    }


def generate_library(
    n_items: int,
    seed: int = 0,
    *,
    n_book_libraries: int = 2,
    n_podcasts: int | None = None,
    duplicate_rate: float = 0.02,
    missing_rate: float = 0.01,
) -> tuple[AbsState, GroundTruth]:
    """Build ``n_items`` book items (plus a podcast library) and the figures a sync must reproduce.

    Same ``(n_items, seed, …)`` → identical state and truth. ``n_items`` counts book items only; the
    podcast library gets ``n_podcasts`` (default ``max(3, n_items // 200)``) more on top.
    """
    # Millions of small objects and no cycles: pausing the cyclic GC saves ~15% at 100,000 items.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _generate(n_items, seed, n_book_libraries, n_podcasts, duplicate_rate, missing_rate)
    finally:
        if gc_was_enabled:
            gc.enable()


def _generate(
    n_items: int, seed: int, n_book_libraries: int, n_podcasts: int | None, duplicate_rate: float, missing_rate: float
) -> tuple[AbsState, GroundTruth]:
    b = _Builder(n_items, seed)
    rng = b.rng
    clock = _TickingClock()
    state = AbsState(seed=seed, clock=clock)
    admin = state.add_user("root", type="root")
    state.add_api_key(ADMIN_TOKEN, admin)
    listener = state.add_user("listener", type="user", access_explicit=False, can_update=False)
    state.add_api_key(USER_TOKEN, listener)
    libs = [
        state.add_library("Audiobooks" if i == 0 else f"Audiobooks {i + 1}", folder_path=f"/audiobooks{i or ''}")
        for i in range(max(1, n_book_libraries))
    ]
    podcast_lib = state.add_library("Podcasts", "podcast", folder_path="/podcasts")

    n_dups = int(n_items * duplicate_rate) if n_items > 10 else 0
    works = b.works(n_items - n_dups)
    for work in works:  # 80% Audible ASIN, 5% an ISBN-10 used as ASIN (older titles), 15% none
        roll = rng.random()
        work.asin = b.asin() if roll < 0.8 else "0" + "".join(rng.choices("0123456789", k=9)) if roll < 0.85 else None
    specs: list[tuple[int, int, bool]] = []  # (work index, library index, is duplicate)
    for w in range(len(works)):
        specs.append((w, 0 if len(libs) == 1 or rng.random() < 0.75 else rng.randrange(1, len(libs)), False))
    for w in rng.sample(range(len(works)), min(n_dups, len(works))):
        home = specs[w][1]
        other = home if len(libs) == 1 else rng.choice([i for i in range(len(libs)) if i != home])
        specs.append((w, other, True))
    rng.shuffle(specs)  # rowid/addedAt order is unrelated to series or author order

    added_at, asin_region = EPOCH_MS, {}
    for work_index, lib_index, duplicate in specs:
        work = works[work_index]
        fields = _item_fields(b, work)
        if duplicate:  # another edition/rip: slightly different duration, maybe the UK ASIN
            fields["duration"] = round(fields["duration"] * rng.uniform(0.995, 1.005), 3)
            if work.asin and work.asin.startswith("B0") and rng.random() < 0.5:
                fields["asin"] = b.asin()
        author_names = [_spell(b.people[p], rng, 0.5 if duplicate else 0.2) for p in work.authors]
        series = [(_spell(b.series[s], rng, 0.15), seq) for s, seq in work.series]
        title = work.title.replace("'", "\u2019") if duplicate and rng.random() < 0.3 else work.title
        folder = b.people[work.authors[0]]
        if work.series:
            rel = f"{folder}/{b.series[work.series[0][0]]}/Vol {work.series[0][1] or 'x'} - {work.title}"
        else:
            rel = f"{folder}/{work.title}"
        is_file = not work.series and fields["n_files"] == 1 and rng.random() < 0.05
        if is_file:
            rel = f"{work.title}.m4b"
        if duplicate and len(libs) == 1:
            rel = f"Duplicates/{rel}"
        added_at += 0 if rng.random() < 0.08 else rng.randint(1, 600_000)  # bulk scans tie on addedAt
        item = state.add_book(
            libs[lib_index].id,
            title=title,
            authors=author_names,
            series=series,
            rel_path=rel,
            added_at=added_at,
            is_file=is_file,
            updated_at=added_at + (rng.randint(1, 10**9) if rng.random() < 0.2 else 0),
            **fields,
        )
        work.items.append(item.id)
        if item.asin:
            asin_region[item.id] = "us" if item.asin == work.asin else "uk"

    all_ids = [i for w in works for i in w.items]
    missing = set(rng.sample(all_ids, int(len(all_ids) * missing_rate)))
    dup_groups = tuple(tuple(w.items) for w in works if len(w.items) > 1)
    if dup_groups:
        missing.add(dup_groups[0][1])  # one work present only through its other copy
    for item_id in missing:
        state.items[item_id].is_missing = True

    podcast_ids = []
    for _ in range(max(3, n_items // 200) if n_podcasts is None else n_podcasts):
        added_at += rng.randint(1, 3_600_000)
        pod = state.add_podcast(
            podcast_lib.id,
            title=f"The {b.title()} Podcast",
            author=b.people[b.person()],
            added_at=added_at,
            n_files=rng.randint(5, 50),
            codec="mp3",
            bitrate=128000,
            duration=round(rng.uniform(20, 200) * 3600, 3),
            explicit=rng.random() < 0.2,
        )
        podcast_ids.append(pod.id)
    # "now" is after everything generated, so items added later sort last by addedAt, as in ABS
    clock.now = max(i.updated_at for i in state.items.values()) + 86_400_000 if state.items else EPOCH_MS
    state.version += 1
    truth = _truth(b, works, state, missing, dup_groups, asin_region, libs, podcast_lib.id, podcast_ids)
    return state, truth


def _truth(
    b: _Builder,
    works: list[_Work],
    state: AbsState,
    missing: set[str],
    dup_groups: tuple[tuple[str, ...], ...],
    asin_region: dict[str, str],
    libs: list[SimLibrary],
    podcast_library_id: str,
    podcast_ids: list[str],
) -> GroundTruth:
    present = [w for w in works if any(i not in missing for i in w.items)]
    present_items = [i for w in works for i in w.items if i not in missing]
    author_counts: dict[str, int] = {}
    series_counts: dict[str, int] = {}
    positions: dict[str, set[str]] = {}
    for w in present:
        for p in w.authors:
            key = fold_name(b.people[p])
            author_counts[key] = author_counts.get(key, 0) + 1
        for s, seq in w.series:
            key = fold_name(b.series[s])
            series_counts[key] = series_counts.get(key, 0) + 1
            bucket = positions.setdefault(key, set())
            if seq is not None:
                bucket.add(seq)
    narrators = {b.fold(n) for i in present_items for n in state.items[i].narrators}
    return GroundTruth(
        books=len(present),
        authors=len(author_counts),
        series=len(series_counts),
        narrators=len(narrators),
        hours=sum(state.items[i].duration for i in present_items) / 3600,
        author_book_counts=author_counts,
        series_positions={
            k: tuple(sorted(v, key=lambda p: (position_sort_key(p) or 0.0, p))) for k, v in positions.items()
        },
        series_book_counts=series_counts,
        present_item_ids=frozenset(present_items),
        missing_item_ids=frozenset(missing),
        explicit_item_ids=frozenset(i for w in works if w.explicit for i in w.items),
        podcast_item_ids=frozenset(podcast_ids),
        duplicate_groups=dup_groups,
        work_of_item={i: n for n, w in enumerate(works) for i in w.items},
        asin_region=asin_region,
        book_library_ids=tuple(lib.id for lib in libs),
        podcast_library_ids=(podcast_library_id,),
    )
