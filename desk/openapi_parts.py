"""The parts of the desk's OpenAPI description that live beside their routes (canned replies, assist, reports,
review, schedules…). Each API module has a function `openapi_part(groups) -> OpenApiPart`; list it in PARTS and
/openapi.json, /docs and the fuzz pick it up."""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any

Schema = dict[str, Any]


@dataclass(frozen=True)
class OpenApiPart:
    tag: str
    paths: dict[str, Schema]
    schemas: dict[str, Schema] = field(default_factory=dict)


PartFactory = Callable[[Collection[str]], OpenApiPart]

# one line per API module, in the order of the console's views
PARTS: list[str] = [
]


def load_parts(groups: Collection[str]) -> list[OpenApiPart]:
    """Each listed module's part (imported here, so openapi.py does not import every API module at load)."""
    import importlib

    parts = []
    for name in PARTS:
        factory: PartFactory = importlib.import_module(name).openapi_part
        parts.append(factory(groups))
    return parts
