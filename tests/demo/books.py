"""The books of the flow world: a generated metadata world whose missing books are short, and the MAM
catalogue that offers editions of them.

Why short: every missing book may be downloaded and imported for real (real audio, a real swarm,
ffprobe), and an import checks the file's duration against the runtime metadata gives (3 %). A
ten-hour book would take a minute of ffmpeg to make; so the world's *missing* works run one to three
whole minutes (Audible states runtimes in whole minutes), and the audio made for them runs exactly
that. Owned books keep their generated durations: matching the library against metadata uses them.

What MAM offers for each true gap (ground truth of :mod:`tests.sims.world`), drawn from a seeded
random stream so a demo is the same every time:

* mostly the edition the wanted entry describes: ``.m4b``, 64 kbps, unabridged, its narrators;
* often a second, multi-file MP3 edition (acceptable, scored lower);
* sometimes a dramatisation, an abridged edition or a German translation (rejected, with reasons);
* for a few books the best-looking ``.m4b`` is a *wrong recording*: its files run 20 % short of the
  runtime, so the import rejects it, the next search skips it and takes the MP3 edition;
* for some books nothing at all ("nothing acceptable", searched again later).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from typing import Any

from tests.sims.world import Work, World, generate_world

BITRATE_KBPS = 64
FIRST_TORRENT_ID = 500_001


def short_world(n_series: int = 80, seed: int = 7, minutes: tuple[int, int] = (1, 3)) -> World:
    """``generate_world(n_series, seed)`` with every edition of every unowned work running a whole
    number of minutes in ``minutes`` (the abridged and foreign editions keep their proportions)."""
    base = generate_world(n_series, seed)
    rng = random.Random(f"mamcrawler-demo-runtimes:{seed}")
    owned = base.owned_work_ids
    series = []
    for s in base.series:
        works = []
        for work in s.works:
            if work.work_id in owned:
                works.append(work)
                continue
            main = rng.randint(*minutes) * 60
            editions = tuple(replace(e, duration_seconds=_scaled(e.kind, main)) for e in work.editions)
            works.append(replace(work, editions=editions))
        series.append(replace(s, works=tuple(works)))
    return World(base.seed, base.as_of, base.authors, tuple(series), base.universes, base.ownerships)


def _scaled(kind: str, main: int) -> int:
    return {"abridged": max(60, round(main * 0.45 / 60) * 60), "foreign": round(main * 1.12)}.get(kind, main)


def missing_works(world: World) -> list[Work]:
    """The true gaps of the world, as works, in series order."""
    found = []
    for s in world.series:
        gaps = set(world.true_gaps(s.series_id))
        found += [w for w in s.works if w.kind == "primary" and w.position.isdigit() and int(w.position) in gaps]
    return found


def size_of(seconds: float, kbps: int = BITRATE_KBPS) -> int:
    """What the listing says the files weigh: the bitrate over the runtime (the made file is within ~1 %)."""
    return int(seconds * kbps * 1000 / 8)


@dataclass
class Catalogue:
    """The MAM catalogue's torrent specs and, per torrent id, how long its real files run."""

    specs: list[dict[str, Any]] = field(default_factory=list)
    seconds: dict[int, float] = field(default_factory=dict)
    wrong_recordings: set[int] = field(default_factory=set)  # ids whose files run 20 % short
    unoffered: list[str] = field(default_factory=list)  # titles MAM has nothing for

    def add(self, spec: dict[str, Any], seconds: float) -> int:
        torrent_id = FIRST_TORRENT_ID + len(self.specs)
        self.specs.append({"id": torrent_id, **spec})
        self.seconds[torrent_id] = seconds
        return torrent_id


def build_offers(world: World, seed: int = 7, *, unoffered: float = 0.08, wrong: float = 0.04) -> Catalogue:
    """The catalogue for ``world``'s missing books (see the module docstring for what is offered)."""
    rng = random.Random(f"mamcrawler-demo-offers:{seed}")
    cat = Catalogue()
    for work in missing_works(world):
        edition = work.edition("us", "main")
        if edition is None:
            continue
        roll = rng.random()
        if roll < unoffered:
            cat.unoffered.append(work.title)
            continue
        series = world.series_by_id[work.series_id].name
        seconds = float(edition.duration_seconds)
        base = {"title": work.title, "authors": list(work.authors), "narrators": list(edition.narrators),
                "series": [(series, work.position)], "lang_code": "ENG"}
        is_wrong = roll < unoffered + wrong
        main_id = cat.add({**base, "filetype": "m4b", "numfiles": 1, "size_bytes": size_of(seconds),
                           "tags": f"Unabridged, {BITRATE_KBPS} kbps", "seeders": rng.randint(8, 40)},
                          seconds * 0.8 if is_wrong else seconds)
        if is_wrong:
            cat.wrong_recordings.add(main_id)
        if is_wrong or rng.random() < 0.35:
            cat.add({**base, "filetype": "mp3", "numfiles": rng.randint(3, 6), "size_bytes": size_of(seconds),
                     "tags": f"Unabridged, {BITRATE_KBPS} kbps, MP3", "seeders": rng.randint(2, 7)}, seconds)
        if rng.random() < 0.12:
            cat.add({**base, "title": f"{work.title} (GraphicAudio)", "narrators": ["A Full Cast"],
                     "filetype": "m4b", "size_bytes": size_of(seconds), "seeders": rng.randint(2, 20),
                     "tags": "GraphicAudio, dramatized, full cast"}, seconds)
        if rng.random() < 0.10:
            short = _scaled("abridged", int(seconds))
            cat.add({**base, "filetype": "m4b", "size_bytes": size_of(short), "seeders": rng.randint(1, 10),
                     "tags": f"Abridged, {BITRATE_KBPS} kbps"}, short)
        if rng.random() < 0.05:
            german = _scaled("foreign", int(seconds))
            cat.add({**base, "lang_code": "GER", "narrators": ["Lukas Vance"], "filetype": "m4b",
                     "size_bytes": size_of(german), "seeders": rng.randint(1, 6),
                     "tags": f"Ungekürzt, German, {BITRATE_KBPS} kbps"}, german)
    return cat
