"""The flow world: every outside system of MAMcrawler, simulated or real, on loopback and free ports,
fed by one generated world, so the whole flow (library sync, gaps, search, grab, download, import)
runs for real. Used by ``make demo`` (tests/demo/__main__.py) and by the end-to-end tests
(tests/integration/test_flow_real_parts.py, tests/browser/test_ui_flow.py).

What runs:

* the Audiobookshelf simulator holding the world's owned books (a few hundred, messy, with series
  gaps) in a library whose folder is a real one on disk: imports land there and its scans read it
  with ffprobe, as ABS does;
* the Audible, Audnexus and Hardcover simulators of the same world (gap detection has ground truth);
* the MAM simulator, whose catalogue offers editions of the missing books (tests/demo/books.py) and
  whose ``.torrent`` files announce to the local tracker;
* a real swarm (tests/fixtures/swarm.py): opentracker, a seeder qbittorrent-nox that seeds real
  audio made when MAM first serves its torrent (tests/demo/payloads.py), and the user's own
  qbittorrent-nox. qbittorrent-nox, opentracker, mktorrent and ffmpeg must be installed: without
  them there is nothing to download through, and :class:`MissingTools` says which to install.

The user's downloads and the ABS library are folders under ``root`` on one filesystem, so imports
are hardlinks, as they should be.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from shared.wanted.service import WantedRow
from shared.wanted.states import WantedReason
from tests.demo.books import Catalogue, build_offers, short_world
from tests.demo.payloads import Payloads
from tests.fixtures.swarm import BINARIES, Swarm
from tests.integration.test_metadata_world import ServedWorld, serve_world
from tests.sims.mam import MamSimState, SimTorrent, build_catalogue, serve_mam
from tests.sims.world import Work, World

TOOLS = (*BINARIES, "ffmpeg", "ffprobe")
#: Rate limits for simulators: the providers far above their real limits (the demo is about the
#: flow, not about waiting), MAM at one request a second (its real budget is one every 3 s).
SIM_LIMITS = {"abs": "5000/1/500", "audible": "5000/1/500", "audnexus": "5000/1/500", "hardcover": "5000/1/500",
              "qbit": "50/1/50", "mam": "1/1/1", "probe": "1000/1/100"}
CATEGORY = "mamcrawler"


class MissingTools(RuntimeError):
    """A program the flow world needs is not installed; the message names the Debian packages."""


def check_tools() -> None:
    missing = [t for t in TOOLS if shutil.which(t) is None]
    if missing:
        packages = sorted({"ffmpeg" if t.startswith("ff") else t for t in missing})
        raise MissingTools(f"{', '.join(missing)} not found: the flow world needs them "
                           f"(sudo apt install {' '.join(packages)})")


@dataclass
class FlowWorld:
    root: Path
    served: ServedWorld
    catalogue: Catalogue
    mam: MamSimState
    mam_url: str
    swarm: Swarm
    payloads: Payloads
    library_dir: Path
    stops: list[Callable[[], None]] = field(default_factory=list)

    @property
    def world(self) -> World:
        return self.served.world

    @property
    def library_id(self) -> str:
        return next(iter(self.served.abs_state.libraries))

    def main_offer(self, *, wrong: bool = False) -> tuple[SimTorrent, Work]:
        """The first missing book whose best edition on MAM is the ``.m4b`` metadata describes (whose files
        run 20 % short when ``wrong``), with its work."""
        by_title = {w.title: w for w in self.world.works.values()}
        for torrent in self.mam.catalogue:
            if (torrent.filetype == "m4b" and torrent.tags.startswith("Unabridged") and torrent.lang_code == "ENG"
                    and (torrent.id in self.catalogue.wrong_recordings) == wrong and torrent.title in by_title):
                return torrent, by_title[torrent.title]
        raise LookupError(f"the world offers no {'wrong ' if wrong else ''}main .m4b edition")

    def wanted_row(self, work: Work, priority: int = 60) -> WantedRow:
        """The wanted entry gap detection makes of ``work`` (tests that skip detection add it directly)."""
        edition = work.edition("us", "main")
        assert edition is not None
        series = self.world.series_by_id[work.series_id]
        return WantedRow(reason=WantedReason.SERIES_GAP, title=work.title, authors=list(work.authors),
                         priority=priority, series_name=series.audible_name, position=work.position, language="en",
                         asin=edition.asin, release_date=edition.release_date.isoformat(),
                         runtime_seconds=float(edition.duration_seconds), narrators=list(edition.narrators))

    def env(self) -> dict[str, str]:
        """The ``MAMC_*`` settings that point a stack at this world."""
        ours = self.swarm.ours
        return {
            **self.served.env(),
            "MAMC_MAM_URL": self.mam_url, "MAMC_MAM_ID": self.mam.session,
            "MAMC_QBIT_URL": ours.url, "MAMC_QBIT_USER": ours.username, "MAMC_QBIT_PASSWORD": ours.password,
            "MAMC_QBIT_CATEGORY": CATEGORY, "MAMC_QBIT_SAVE_PATH": str(ours.downloads / CATEGORY),
            "MAMC_ABS_LIBRARY_DIR": str(self.library_dir),
            # the world's audio is a tone: nobody says "narrated by" (listening would spend its whole
            # budget on each book and answer "not heard"); the narrator tags are checked
            "MAMC_IMPORT_LISTEN_NARRATOR": "false",
            "MAMC_IMPORT_SCAN_POLL": "0.5",
            "MAMC_RATE_LIMITS": json.dumps(SIM_LIMITS),
            # gap detection runs with the world's own date (its ground truth), started by whoever runs
            # the world (tests/demo/kickoff.py), not by beat with today's
            "MAMC_SCHEDULE_GAPS_DETECT": "0",
        }

    def stop(self) -> None:
        for stop in reversed(self.stops):
            stop()
        self.stops.clear()


def start_world(root: Path, *, series: int = 80, seed: int = 7, swarm: Swarm | None = None) -> FlowWorld:
    """Start everything under ``root`` (created; 0755, so opentracker can reach it when we are root).
    ``swarm``: an already running one (the tests' session fixture); else one is started here and
    stopped with the world."""
    check_tools()
    root.mkdir(parents=True, exist_ok=True)
    root.chmod(0o755)
    stops: list[Callable[[], None]] = []
    try:
        if swarm is None:
            swarm = Swarm(root / "swarm")
            (root / "swarm").mkdir(exist_ok=True)
            (root / "swarm").chmod(0o755)
            swarm.start()
            stops.append(swarm.stop)
        world = short_world(series, seed)
        library_dir = root / "library"
        library_dir.mkdir(exist_ok=True)
        served = serve_world(world, library_dir=library_dir)
        stops.append(served.stop)
        catalogue = build_offers(world, seed)
        mam = MamSimState(catalogue=build_catalogue(catalogue.specs))
        mam.announce_override = swarm.announce_for(mam.passkey)
        payloads = Payloads(root / "seeding", swarm, catalogue.seconds)
        mam.torrent_maker = payloads
        mam_url, stop_mam = serve_mam(mam)
        stops.append(stop_mam)
        (swarm.ours.downloads / CATEGORY).mkdir(parents=True, exist_ok=True)
    except BaseException:
        for stop in reversed(stops):
            stop()
        raise
    return FlowWorld(root, served, catalogue, mam, mam_url, swarm, payloads, library_dir, stops)


def same_file(a: Path, b: Path) -> bool:
    """Hardlinks of one file: the same device and inode."""
    sa, sb = os.stat(a), os.stat(b)
    return (sa.st_dev, sa.st_ino) == (sb.st_dev, sb.st_ino)
