"""What an import says about the book, in the three shapes ABS reads: the folder name, the
``metadata.json`` beside the files, and the ``PATCH /api/items/{id}/media`` body.

Why ``metadata.json`` and a PATCH both: the file makes ABS's first scan right (it is the highest
source in ABS's default precedence, and its ``authors`` array keeps "Martin Smith, Jr." whole where
tags are split on commas, reference §10); the PATCH, read back, proves ABS stored what we meant
(reference §4: ABS answers 200 while ignoring a wrongly shaped field).

The file's keys and types are ABS's (``abmetadataGenerator.js``): strings, string arrays, series
as ``"Name #sequence"``. Empty values are left out rather than written empty: ABS lets an empty
``narrators`` or ``series`` array in the file *clear* what the tags said, and ``chapters: []``
would drop the chapters of the audio.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from shared.imports.template import FolderFields

__all__ = ["BookFacts"]

_SEQUENCE = re.compile(r"^[^#\s]+$")


@dataclass(frozen=True, slots=True, kw_only=True)
class BookFacts:
    title: str
    authors: tuple[str, ...] = ()
    narrators: tuple[str, ...] = ()
    series: str | None = None
    position: str | None = None
    year: str | None = None
    asin: str | None = None
    subtitle: str | None = None

    def folder_fields(self) -> FolderFields:
        return FolderFields(title=self.title, authors=self.authors, series=self.series, position=self.position,
                            year=self.year, subtitle=self.subtitle, narrators=self.narrators, asin=self.asin)

    def _series_entry(self) -> str | None:
        if not self.series:
            return None
        # ABS splits " #<no spaces, no #>" off the end; a position it could not split stays off
        if self.position and _SEQUENCE.match(self.position):
            return f"{self.series} #{self.position}"
        return self.series

    def metadata_json(self) -> dict[str, Any]:
        """The ``metadata.json`` object (keys ABS reads for a book; empty values left out)."""
        out: dict[str, Any] = {"title": self.title}
        if self.subtitle:
            out["subtitle"] = self.subtitle
        if self.authors:
            out["authors"] = list(self.authors)
        if self.narrators:
            out["narrators"] = list(self.narrators)
        entry = self._series_entry()
        if entry:
            out["series"] = [entry]
        if self.year:
            out["publishedYear"] = self.year
        if self.asin:
            out["asin"] = self.asin
        return out

    def metadata_text(self) -> str:
        return self.json_text(self.metadata_json())

    @staticmethod
    def json_text(metadata: dict[str, Any]) -> str:
        """The file's text: ABS's own layout (two-space indent), UTF-8, names unescaped."""
        return json.dumps(metadata, indent=2, ensure_ascii=False) + "\n"

    def patch_fields(self) -> dict[str, Any]:
        """The fields ``AbsClient.patch_media`` writes (our names; it shapes them for ABS)."""
        fields: dict[str, Any] = {"title": self.title}
        if self.authors:
            fields["authors"] = list(self.authors)
        if self.narrators:
            fields["narrators"] = list(self.narrators)
        if self.series:
            fields["series"] = [(self.series, self.position or None)]
        if self.year:
            fields["published_year"] = self.year
        if self.asin:
            fields["asin"] = self.asin
        if self.subtitle:
            fields["subtitle"] = self.subtitle
        return fields
