"""Loads and checks catalog files; picks the version in effect at a time."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from pathlib import Path

from pydantic import ValidationError

from rating.catalog.model import CatalogVersion
from rating.errors import RatingError
from rating.periods import require_aware


class CatalogError(RatingError):
    """A catalog file is malformed; the message names the file, the key and the problem."""


@dataclass(frozen=True, slots=True)
class Catalog:
    """Every version of a catalog, oldest first."""

    source: str
    versions: tuple[CatalogVersion, ...]

    def at(self, when: datetime) -> CatalogVersion:
        """The version in effect at ``when``."""
        when = require_aware(when, "when")
        chosen = None
        for v in self.versions:
            if v.effective_from <= when:
                chosen = v
        if chosen is None:
            raise CatalogError(f"{self.source}: no catalog version in effect at {when.isoformat()}")
        return chosen


def parse_catalog(text: str, source: str) -> Catalog:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(f"{source}: not valid TOML: {exc}") from exc
    items = raw.get("versions")
    if not isinstance(items, list) or not items:
        raise CatalogError(f"{source}: key 'versions': expected at least one [[versions]] table")
    versions = []
    for i, item in enumerate(items):
        try:
            versions.append(CatalogVersion.model_validate(item))
        except ValidationError as exc:
            first = exc.errors()[0]
            key = ".".join(str(p) for p in ("versions", i, *first["loc"]))
            raise CatalogError(f"{source}: key '{key}': {first['msg']}") from exc
    versions.sort(key=lambda v: v.effective_from)
    if len({v.effective_from for v in versions}) != len(versions):
        raise CatalogError(f"{source}: two versions share an effective_from")
    return Catalog(source, tuple(versions))


def read_data_file(path: Path | None, packaged: str, error: type[RatingError]) -> tuple[str, str]:
    """The text of a data file and its name for messages: ``path``, or the file ``packaged`` shipped in
    ``rating/catalog`` (the catalog and the tax table are read the same way)."""
    if path is None:
        return resources.files("rating.catalog").joinpath(packaged).read_text(
            encoding="utf-8"
        ), f"rating/catalog/{packaged}"
    try:
        return path.read_text(encoding="utf-8"), str(path)
    except OSError as exc:
        raise error(f"{path}: cannot read: {exc}") from exc


def load_catalog(path: Path | None = None) -> Catalog:
    """A catalog file, or the default catalog shipped with Meterline."""
    return parse_catalog(*read_data_file(path, "default.toml", CatalogError))
