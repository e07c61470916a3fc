"""The content transforms, in one ordered tuple (ties in detection go to the earlier one)."""

from __future__ import annotations

from wiretrim.compression.transforms._api import (
    LEVELS,
    Level,
    Transform,
    TransformParams,
    lossy_allowed,
    mentions_kept_term,
)
from wiretrim.compression.transforms.code import CODE
from wiretrim.compression.transforms.diff import DIFF
from wiretrim.compression.transforms.html import HTML
from wiretrim.compression.transforms.json_text import JSON_TEXT
from wiretrim.compression.transforms.listing import LISTING
from wiretrim.compression.transforms.logs import LOGS
from wiretrim.compression.transforms.prose import PROSE
from wiretrim.compression.transforms.search import SEARCH
from wiretrim.compression.transforms.table import TABLE
from wiretrim.compression.transforms.terminal import TERMINAL
from wiretrim.compression.transforms.whitespace import WHITESPACE

TRANSFORMS: tuple[Transform, ...] = (
    DIFF,
    SEARCH,
    LISTING,
    TABLE,
    HTML,
    JSON_TEXT,
    LOGS,
    CODE,
    PROSE,
    TERMINAL,
    WHITESPACE,
)


def _name_map(transforms: tuple[Transform, ...]) -> dict[str, Transform]:
    names: dict[str, Transform] = {}
    for t in transforms:
        if t.name in names:
            raise ValueError(f"duplicate transform name {t.name!r}")
        names[t.name] = t
    return names


_BY_NAME = _name_map(TRANSFORMS)


def by_name(name: str) -> Transform:
    """The transform registered as `name`; ValueError listing the known names otherwise."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise ValueError(f"unknown transform {name!r}; known: {', '.join(sorted(_BY_NAME))}") from None


def names() -> tuple[str, ...]:
    return tuple(t.name for t in TRANSFORMS)


__all__ = [
    "LEVELS",
    "TRANSFORMS",
    "Level",
    "Transform",
    "TransformParams",
    "by_name",
    "lossy_allowed",
    "mentions_kept_term",
    "names",
]
