"""GET /api/handoff/meta: the skill groups, handoff reasons, intents and statuses with their Chinese names, so the
agents' console reads them from the server instead of keeping copies."""

from __future__ import annotations

from collections.abc import Collection

from sanic import Blueprint
from sanic.request import Request
from sanic.response import HTTPResponse

from desk.auth_api import authenticated
from desk.openapi_parts import OpenApiPart, Schema
from desk.params import single_values
from desk.views import json_reply
from handoff.labels import handoff_meta
from handoff.queueing import AGENT_STATUSES


def handoff_meta_blueprint() -> Blueprint:
    bp = Blueprint("handoff_meta", url_prefix="/api")

    @bp.get("/handoff/meta")
    @authenticated()
    async def meta(request: Request) -> HTTPResponse:
        single_values(request.args, ())  # no parameters
        return json_reply(handoff_meta(list(request.app.ctx.bridge.config.groups)))

    return bp


def openapi_part(groups: Collection[str]) -> OpenApiPart:
    text = {"type": "string"}
    named = {"type": "array", "items": {"type": "object", "required": ["name", "label"],
                                        "properties": {"name": text, "label": text}}}
    group = {"type": "string", **({"enum": list(groups)} if groups else {})}
    schema: Schema = {"type": "object", "required": ["groups", "reasons", "intents", "statuses", "session_statuses"],
                      "properties": {"groups": {"type": "array", "items": group}, "reasons": named, "intents": named,
                                     "statuses": {"type": "array", "items": {"type": "string",
                                                                             "enum": list(AGENT_STATUSES)}},
                                     "session_statuses": named}}
    return OpenApiPart(tag="handoff-meta", schemas={"HandoffMeta": schema}, paths={"/api/handoff/meta": {"get": {
        "summary": "Skill groups, handoff reasons, intents and statuses with their Chinese names",
        "operationId": "handoffMeta", "tags": ["handoff-meta"],
        "description": "Any staff token. The console names reasons and intents with these labels.",
        "responses": {"200": {"description": "the names", "content": {"application/json": {
            "schema": {"$ref": "#/components/schemas/HandoffMeta"}}}},
            "400": {"$ref": "#/components/responses/BadRequest"},
            "401": {"$ref": "#/components/responses/Unauthorized"}}}}})
