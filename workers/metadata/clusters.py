"""Which library books belong to which *bibliographic* series, whatever each source calls it.

One series shows up under many identities: an Audible series ASIN per marketplace, a Hardcover id,
and the library's own series rows ("The Iron Crown", "Iron Crown Series"...), plus series hidden in
titles ("Iron Crown 3 - Title") or only known through a provider match (items without series
metadata). Gap detection must treat them as one series, or a book owned under one name is reported
missing under another.

So every owned work contributes *references* (node, name, position, source), and references are
joined (union-find) when they name the same series:
- the same node (an Audible series ASIN, a Hardcover id, a library series row *by the same author*:
  ABS merges same-named series of different authors into one row) in two works;
- within one work, two references with the same name core ("The Iron Crown Chronicles" and
  "Iron Crown Series" are both "iron crown"), or with the same position and alike names;
- across works, the same name core by the same author (a ``name:`` node per core and author).
Umbrella series (Audible's "The X Universe", positionless) are left out: a book's primary series
and the series where it has a position count, so umbrellas cannot glue series together.
Each resulting cluster is one ``metadata_series`` row, anchored on its primary-marketplace Audible
series ASIN when it has one.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from shared.models.metadata import MetadataSeries, MetadataSeriesLink, MetadataSeriesWork, OwnedKey, wanted_key
from shared.names import author_keys, series_core, similarity, title_forms
from shared.normalize import split_series_title_hint
from shared.positions import canonical_position
from workers.metadata.providers._normalize import normalize_language
from workers.metadata.records import book_from_json

PRESENT_WORK = """EXISTS (SELECT 1 FROM recordings r JOIN library_items i ON i.recording_id = r.id
                          JOIN libraries l ON l.id = i.library_id
                          WHERE r.work_id = w.id AND i.state = 'present' AND l.media_type = 'book')"""


@dataclass(frozen=True, slots=True)
class Ref:
    """One source's statement that a work belongs to a series (at a position)."""

    node: str
    name: str
    position: str | None
    source: str

    @property
    def core(self) -> str:
        return series_core(self.name)


@dataclass
class WorkRefs:
    work_id: int
    title: str
    authors: tuple[str, ...]
    provider_authors: tuple[str, ...] = ()
    refs: list[Ref] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)
    record_titles: list[str] = field(default_factory=list)  # what matched providers call it
    asins: set[str] = field(default_factory=set)  # every marketplace's, from ABS and matches
    hardcover_ids: set[str] = field(default_factory=set)

    @property
    def author_keys(self) -> set[str]:
        return author_keys(self.authors) or author_keys(self.provider_authors)


@dataclass
class Cluster:
    key: str
    name: str
    authors: list[str]
    author_keys: list[str]
    audible_asins: list[str]
    hardcover_ids: list[int]
    library_series: list[int]
    nodes: list[str]
    cores: list[str]
    works: dict[int, dict[str, list[str]]]  # work id -> source -> positions it gives
    language: str | None


def _position(raw: str | None) -> str | None:
    return canonical_position(raw) if raw else None


def refs_from_abs(memberships: list[tuple[int, str, str | None]]) -> list[Ref]:
    """Library series rows; a positionless one only counts when the work has no positioned one."""
    refs = [Ref(f"abs:{sid}", name, _position(pos), "abs") for sid, name, pos in memberships]
    positioned = [r for r in refs if r.position is not None]
    return positioned or refs


def refs_from_record(provider: str, region: str | None, record: dict[str, Any]) -> list[Ref]:
    """A matched provider record's series: its primary series, and any where it has a position."""
    book = book_from_json(record)
    out = []
    for n, ref in enumerate(book.series):
        position = _position(ref.position)
        if n > 0 and position is None:
            continue  # an umbrella series, or one that cannot place the book: never a join
        if provider == "hardcover":
            node = f"hardcover:{ref.source_series_id}" if ref.source_series_id else ""
        else:
            node = f"audible:{(book.region or region or '').lower()}:{ref.source_series_id}" \
                if ref.source_series_id else ""
        out.append(Ref(node, ref.name, position, provider))
    return out


def refs_from_title(title: str) -> list[Ref]:
    hint = split_series_title_hint(title)
    if hint is None:
        return []
    return [Ref("", hint[0], _position(hint[1]), "title")]


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        self.parent.setdefault(x, x)
        root = x
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[x] != root:
            self.parent[x], x = root, self.parent[x]
        return root

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def same_series(a: Ref, b: Ref) -> bool:
    if a.core and a.core == b.core:
        return True
    return a.position is not None and a.position == b.position and similarity(a.core, b.core) >= 0.5


def build_clusters(works: list[WorkRefs], primary_region: str) -> list[Cluster]:
    works = [w for w in works if w.refs]
    uf = _UnionFind()
    work_nodes: dict[int, list[tuple[Ref, str]]] = defaultdict(list)
    for work in works:
        keys = sorted(work.author_keys)
        nodes: list[tuple[Ref, str]] = []
        for ref in work.refs:
            if not ref.node and not ref.core:
                continue  # a name with nothing distinctive in it identifies nothing
            names = [f"name:{ref.core}|{k}" for k in keys] if ref.core else []
            ids = [ref.node]
            if ref.node.startswith("abs:"):
                # ABS keeps one series row per *name*: two authors' "Mask Series" share it, so a library
                # series only joins books by the same author
                ids = [f"{ref.node}|{k}" for k in keys] or [f"{ref.node}|"]
            own = [n for n in ids if n] + names
            node = own[0] if own else f"name:{ref.core}|"
            uf.find(node)
            for other in own[1:]:
                uf.union(node, other)
            nodes.append((ref, node))
        for i, (a, node_a) in enumerate(nodes):
            for b, node_b in nodes[i + 1:]:
                if same_series(a, b):
                    uf.union(node_a, node_b)
        work_nodes[work.work_id] = nodes
    by_root: dict[str, list[tuple[WorkRefs, Ref, str]]] = defaultdict(list)
    for work in works:
        for ref, node in work_nodes[work.work_id]:
            by_root[uf.find(node)].append((work, ref, node))
    members_of: dict[str, set[str]] = defaultdict(set)
    for node in uf.parent:
        members_of[uf.find(node)].add(node)
    return [_cluster(sorted(members_of[root]), entries, primary_region)
            for root, entries in sorted(by_root.items())]


def _cluster(nodes: list[str], entries: list[tuple[WorkRefs, Ref, str]], primary: str) -> Cluster:
    audible = sorted({n.split(":", 2)[2] for n in nodes if n.startswith(f"audible:{primary}:")})
    hardcover = sorted({int(n.split(":", 1)[1]) for n in nodes
                        if n.startswith("hardcover:") and n.split(":", 1)[1].isdigit()})
    library = sorted({int(n.split(":", 1)[1].split("|", 1)[0]) for n in nodes if n.startswith("abs:")})
    anchor = next((n for prefix in (f"audible:{primary}:", "hardcover:", "abs:", "audible:", "name:")
                   for n in nodes if n.startswith(prefix)), nodes[0])
    abs_names = Counter(ref.name for _, ref, _ in entries if ref.source == "abs")
    any_names = Counter(ref.name for _, ref, _ in entries)
    name = (abs_names or any_names).most_common(1)[0][0]
    works: dict[int, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    authors: Counter[tuple[str, ...]] = Counter()
    languages: Counter[str] = Counter()
    seen: set[int] = set()
    for work, ref, _ in entries:
        positions = works[work.work_id][ref.source]
        if ref.position is not None and ref.position not in positions:
            positions.append(ref.position)
        if work.work_id not in seen:
            seen.add(work.work_id)
            authors[work.provider_authors or work.authors] += 1
            languages.update(work.languages)
    top_authors = list(authors.most_common(1)[0][0]) if authors else []
    cores = sorted({ref.core for _, ref, _ in entries if ref.core})
    return Cluster(key=anchor, name=name, authors=top_authors, author_keys=sorted(author_keys(top_authors)),
                   audible_asins=audible, hardcover_ids=hardcover, library_series=library, nodes=nodes, cores=cores,
                   works={w: {s: list(p) for s, p in by.items()} for w, by in works.items()},
                   language=languages.most_common(1)[0][0] if languages else None)


# -- loading and storing --------------------------------------------------------------------------


def load_work_refs(session: Session) -> list[WorkRefs]:
    """Every present work with every series reference ABS, matched providers and its title give."""
    works: dict[int, WorkRefs] = {}
    for wid, title, authors in session.execute(text(f"""
            SELECT w.id, w.title, coalesce((SELECT array_agg(a.name ORDER BY wa.ordinal, a.name) FROM work_authors wa
                                            JOIN authors a ON a.id = wa.author_id WHERE wa.work_id = w.id), '{{}}')
              FROM works w WHERE {PRESENT_WORK} ORDER BY w.id""")):
        works[wid] = WorkRefs(wid, title, tuple(authors), refs=refs_from_title(title))
    memberships: dict[int, list[tuple[int, str, str | None]]] = defaultdict(list)
    for wid, sid, name, position in session.execute(text(f"""
            SELECT sm.work_id, s.id, s.name, sm.position FROM series_memberships sm JOIN series s ON s.id = sm.series_id
              JOIN works w ON w.id = sm.work_id WHERE {PRESENT_WORK} ORDER BY sm.work_id, s.id""")):
        memberships[wid].append((sid, name, position))
    for wid, found in memberships.items():
        if wid in works:
            works[wid].refs.extend(refs_from_abs(found))
    for wid, provider, region, record, provider_id in session.execute(text(f"""
            SELECT r.work_id, m.provider, m.region, m.record, m.provider_id FROM metadata_matches m
              JOIN recordings r ON r.id = m.recording_id JOIN works w ON w.id = r.work_id
             WHERE m.state = 'applied' AND m.record IS NOT NULL AND {PRESENT_WORK}
             ORDER BY r.work_id, m.provider, r.id""")):
        work = works.get(wid)
        if work is None:
            continue
        work.refs.extend(refs_from_record(provider, region, record))
        if not work.provider_authors and record.get("authors"):
            work.provider_authors = tuple(record["authors"])
        work.record_titles.append(record["title"])
        if record.get("subtitle"):
            work.record_titles.append(f"{record['title']}: {record['subtitle']}")
        (work.hardcover_ids if provider == "hardcover" else work.asins).add(provider_id)
        if record.get("asin"):
            work.asins.add(record["asin"])
    for wid, language, asin in session.execute(text(f"""
            SELECT r.work_id, r.language, r.asin FROM recordings r JOIN works w ON w.id = r.work_id
             WHERE {PRESENT_WORK}""")):
        lang = normalize_language(language)
        if wid in works and lang:
            works[wid].languages.append(lang)
        if wid in works and asin:
            works[wid].asins.add(asin)
    return list(works.values())


def store_clusters(session: Session, clusters: list[Cluster]) -> dict[str, int]:
    """Upsert the clusters by anchor key, drop vanished ones, rebuild links and owned works; key -> id."""
    if clusters:
        rows = [{"key": c.key, "name": c.name, "authors": c.authors, "author_keys": c.author_keys,
                 "audible_asins": c.audible_asins, "hardcover_ids": c.hardcover_ids, "nodes": c.nodes,
                 "language": c.language} for c in sorted(clusters, key=lambda c: c.key)]
        for start in range(0, len(rows), 1000):
            stmt = insert(MetadataSeries).values(rows[start:start + 1000])
            session.execute(stmt.on_conflict_do_update(index_elements=["key"], set_={
                "name": stmt.excluded.name, "authors": stmt.excluded.authors,
                "author_keys": stmt.excluded.author_keys, "audible_asins": stmt.excluded.audible_asins,
                "nodes": stmt.excluded.nodes, "language": stmt.excluded.language, "updated_at": text("now()"),
                # ids found by a listing job (no match named them) survive re-clustering
                "hardcover_ids": text("CASE WHEN excluded.hardcover_ids = '[]'::jsonb "
                                      "THEN metadata_series.hardcover_ids ELSE excluded.hardcover_ids END")}))
    keys = [c.key for c in clusters]
    session.execute(delete(MetadataSeries).where(MetadataSeries.key.not_in(keys)) if keys
                    else delete(MetadataSeries))
    ids: dict[str, int] = {k: i for k, i in session.execute(select(MetadataSeries.key, MetadataSeries.id))}
    session.execute(delete(MetadataSeriesLink))
    session.execute(delete(MetadataSeriesWork))
    links = sorted({(sid, ids[c.key]) for c in clusters for sid in c.library_series})
    _insert(session, MetadataSeriesLink, [{"series_id": s, "metadata_series_id": m} for s, m in links])
    owned = [{"metadata_series_id": ids[c.key], "work_id": w, "positions": p}
             for c in clusters for w, p in sorted(c.works.items())]
    _insert(session, MetadataSeriesWork, owned)
    return ids


def _insert(session: Session, model: type[MetadataSeriesLink] | type[MetadataSeriesWork],
            rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), 2000):
        session.execute(insert(model).values(rows[start:start + 2000]).on_conflict_do_nothing())


def owned_keys(works: list[WorkRefs]) -> list[dict[str, Any]]:
    """Rows of ``metadata_owned_keys``: every ASIN, Hardcover id, title key and work key of owned works."""
    rows: dict[tuple[str, str, int], list[str]] = {}
    for work in works:
        keys = sorted(work.author_keys | author_keys(work.provider_authors))
        titles = [work.title, *work.record_titles]
        hint = split_series_title_hint(work.title)
        if hint is not None:
            titles.append(hint[2])
        for title in titles:
            forms = title_forms(title)
            for key in forms.full:
                rows[("title", key, work.work_id)] = keys
            for key in forms.short:
                rows[("title_short", key, work.work_id)] = keys
            rows[("work", wanted_key(title, work.provider_authors or work.authors), work.work_id)] = keys
            rows[("work", wanted_key(title, work.authors), work.work_id)] = keys
        for asin in work.asins:
            rows[("asin", asin.upper(), work.work_id)] = keys
        for hc in work.hardcover_ids:
            rows[("hardcover", hc, work.work_id)] = keys
    return [{"kind": k, "key": key, "work_id": w, "author_keys": a} for (k, key, w), a in sorted(rows.items())]


def store_owned_keys(session: Session, works: list[WorkRefs]) -> int:
    rows = owned_keys(works)
    session.execute(delete(OwnedKey))
    for start in range(0, len(rows), 2000):
        session.execute(insert(OwnedKey).values(rows[start:start + 2000]).on_conflict_do_nothing())
    return len(rows)
