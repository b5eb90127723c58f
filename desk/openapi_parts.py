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
RESPONSES = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 405: "MethodNotAllowed",
             413: "PayloadTooLarge", 422: "Unprocessable"}  # the shared error responses of /openapi.json's components


def ref(name: str) -> Schema:
    """A component schema."""
    return {"$ref": f"#/components/schemas/{name}"}


def errors(*statuses: int) -> dict[str, Schema]:
    """The shared error responses of these statuses."""
    return {str(status): {"$ref": f"#/components/responses/{RESPONSES[status]}"} for status in statuses}


def answer(schema: Schema, description: str) -> Schema:
    """A JSON response."""
    return {"description": description, "content": {"application/json": {"schema": schema}}}


# A calendar day as the desk takes it: 2000-01-01 to 2099-12-31, written YYYY-MM-DD (a day past the month's end,
# such as 2027-02-30, is still a 4xx: no pattern can say that)
DAY: Schema = {"type": "string", "format": "date",
               "pattern": r"^20[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"}


def nullable(schema: Schema, description: str = "") -> Schema:
    """`schema` or null. An enum lists null too: OpenAPI 3.0 checks `nullable` against the enum, so a nullable
    enum without it refuses null."""
    out: Schema = {**schema, "nullable": True}
    if "enum" in out and None not in out["enum"]:
        out["enum"] = [*out["enum"], None]
    return {**out, "description": description} if description else out


def query(name: str, description: str, schema: Schema) -> Schema:
    """An optional query parameter (empty is the same as leaving it out)."""
    return {"name": name, "in": "query", "required": False, "allowEmptyValue": True, "description": description,
            "schema": schema}

# one line per API module, in the order of the console's views
PARTS: list[str] = [
    "desk.handoff_meta_api",
    "desk.canned_api",
    "desk.reports_api",
    "desk.schedules_api",
    "desk.review_api",
    "desk.summary_api",
    "desk.quality_api",
    "desk.assist_api",
]


def load_parts(groups: Collection[str]) -> list[OpenApiPart]:
    """Each listed module's part (imported here, so openapi.py does not import every API module at load)."""
    import importlib

    parts = []
    for name in PARTS:
        factory: PartFactory = importlib.import_module(name).openapi_part
        parts.append(factory(groups))
    return parts
