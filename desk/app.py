"""The desk's Sanic app: blueprints, error handling, and resources opened on server start and closed on stop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path
from typing import Any
from urllib.parse import quote_from_bytes

from sanic import Sanic
from sanic.config import Config
from sanic.request import Request
from sanic.response import HTTPResponse, file, redirect

from desk.agent_socket import AUTH_TIMEOUT_S, AgentSockets, agent_socket_blueprint, check_sockets
from desk.assist_api import assist_blueprint
from desk.audit_api import audit_blueprint
from desk.audit_trail import AuditTrail
from desk.auth import PasswordHasher, StaffDirectory, TokenIssuer
from desk.auth_api import auth_blueprint
from desk.canned_api import canned_blueprint
from desk.errors import NotFoundError, register_error_handlers
from desk.escalation import run_escalation
from desk.handoff_api import handoff_blueprint
from desk.handoff_meta_api import handoff_meta_blueprint
from desk.login_throttle import CheckGate, LoginThrottle
from desk.openapi import meta_blueprint
from desk.quality_api import quality_blueprint
from desk.rasa_client import HttpRasaClient, RasaClient
from desk.reports_api import reports_blueprint
from desk.review_api import review_blueprint
from desk.revocation import TokenRevocations
from desk.schedules_api import schedules_blueprint
from desk.summary_api import summary_blueprint
from desk.tickets_api import tickets_blueprint
from desk.tracker_log import listen_for_tracker_log
from handoff.bridge import Bridge
from handoff.config import load_config as load_handoff_config
from handoff.records import HandoffRecords
from handoff.schedules import desk_schedules
from handoff.state import QueueState, open_queue_state
from service.audit import AuditLog
from service.clock import Clock
from service.db import make_engine
from service.desk_keys import bot_token_key
from service.errors import NotFound
from service.logs import log_event
from service.migrate import upgrade
from service.settings import Settings, desk_signing_key
from service.tickets.policy import load_policy
from service.tickets.service import TicketService

logger = logging.getLogger(__name__)
MAX_BODY_BYTES = 64 * 1024
STOP_GRACE_S = 5.0
QUEUE_CHECK_S = 15.0  # how often waits past the limit are turned into tickets
CONSOLE_DIR = Path(__file__).resolve().parent.parent / "handoff" / "console"
WIDGET_DIR = Path(__file__).resolve().parent.parent / "web"
# socket.io-client for the widget, installed from package-lock.json by `make web-deps` (npm ci); never a CDN
WIDGET_SOCKET_IO = Path(__file__).resolve().parent.parent / "node_modules" / "socket.io-client" / "dist" / "socket.io.min.js"


_PRINTABLE_ASCII = "".join(chr(c) for c in range(0x21, 0x7F))


class DeskRequest(Request):
    """Percent-encodes raw non-ASCII bytes in the URL (curl sends ?department=物流部 unencoded): Sanic's URL
    parser would drop the connection with a logged traceback instead of answering."""

    def __init__(self, url_bytes: bytes, *args: Any, **kwargs: Any) -> None:
        if not url_bytes.isascii() or b" " in url_bytes:
            url_bytes = quote_from_bytes(url_bytes, safe=_PRINTABLE_ASCII).encode("ascii")
        super().__init__(url_bytes, *args, **kwargs)


def _config() -> Config:
    config = Config()
    config.REGISTER = False  # several desks (tests) may live in one process
    config.REQUEST_MAX_SIZE = MAX_BODY_BYTES
    config.ACCESS_LOG = False
    config.FALLBACK_ERROR_FORMAT = "json"
    return config


def create_app(
    settings: Settings,
    tickets: TicketService | None = None,
    rasa: RasaClient | None = None,
    hasher: PasswordHasher | None = None,
    *,
    escalate: bool = True,
    queue_state: QueueState | None = None,
    login_throttle: LoginThrottle | None = None,
    login_gate: CheckGate | None = None,
) -> Sanic:
    """The desk. Injected tickets/rasa/queue state are used as given (the caller owns them); missing ones are
    built on start (the queue in memory, or in Redis when REDIS_URL is set). Demo accounts are seeded only in
    embedded mode."""
    policy = tickets.policy if tickets is not None else load_policy(settings.ticketing_config)  # fails loudly, early
    handoff_config = load_handoff_config(settings.handoff_config)
    app = Sanic("xiaozhi-desk", config=_config(), configure_logging=False, request_class=DeskRequest)
    app.ctx.settings = settings
    app.ctx.tickets = tickets
    app.ctx.rasa = rasa
    app.ctx.owned = []  # what this app opened and must close
    app.ctx.background = set()  # proactive messages under way
    app.ctx.escalation = None
    secret = desk_signing_key(settings)
    app.ctx.tokens = TokenIssuer(secret)  # staff tokens, with their own derived key
    app.ctx.bot_key = bot_token_key(secret)  # the action server's tokens, with the other
    app.ctx.hasher = hasher or PasswordHasher()
    app.ctx.login_throttle = login_throttle or LoginThrottle()
    app.ctx.login_gate = login_gate or CheckGate()
    app.ctx.queue_state = queue_state
    app.ctx.agent_sockets = AgentSockets()
    app.ctx.socket_auth_timeout_s = AUTH_TIMEOUT_S  # for the first frame of /ws/agent
    app.ctx.queue_job = None
    app.ctx.socket_job = None
    register_error_handlers(app)
    app.blueprint(auth_blueprint())
    app.blueprint(tickets_blueprint())
    app.blueprint(audit_blueprint())
    app.blueprint(handoff_blueprint())
    app.blueprint(agent_socket_blueprint())
    app.blueprint(handoff_meta_blueprint())
    app.blueprint(schedules_blueprint())
    listen_for_tracker_log(app)  # the tracker store review and reports read: opened before their start listeners
    app.blueprint(review_blueprint())
    app.blueprint(reports_blueprint())
    app.blueprint(summary_blueprint())
    app.blueprint(quality_blueprint())
    app.blueprint(assist_blueprint())
    app.blueprint(canned_blueprint())
    app.blueprint(meta_blueprint(policy.supervisors, handoff_config.groups))
    if WIDGET_DIR.is_dir():  # the customers' demo page with the chat widget (same routes as the console's)
        app.static("/chat", str(WIDGET_DIR), name="widget")
        app.static("/chat/", str(WIDGET_DIR / "index.html"), name="widget_index", strict_slashes=True)
        app.add_route(to_widget, "/chat", strict_slashes=True, name="widget_redirect")
        app.add_route(widget_socket_io, "/chat/vendor/socket.io.min.js", name="widget_socket_io")
    if CONSOLE_DIR.is_dir():
        app.static("/console", str(CONSOLE_DIR), name="console")
        # strict: without it /console/ falls to the folder route (a 500); /console redirects so relative URLs work
        app.static("/console/", str(CONSOLE_DIR / "index.html"), name="console_index", strict_slashes=True)
        app.add_route(to_console, "/console", strict_slashes=True, name="console_redirect")

    @app.before_server_start
    async def open_resources(app: Sanic, _loop: Any) -> None:
        engine = make_engine(settings.database_url)
        app.ctx.owned.append(engine)
        await asyncio.to_thread(upgrade, engine)
        if app.ctx.tickets is None:
            app.ctx.tickets = TicketService(engine, policy, Clock(settings.business_date))
        app.ctx.staff = StaffDirectory(engine, app.ctx.hasher)
        app.ctx.revocations = TokenRevocations(engine, app.ctx.staff)
        clock = Clock(settings.business_date)
        app.ctx.handoff_records = HandoffRecords(engine, clock)
        # the 操作日志 carries the real time, never a demo date pinned with XIAOZHI_TODAY
        app.ctx.audit = AuditTrail(AuditLog(engine, Clock()),
                                   customer_of=lambda ref: session_customer(app.ctx.handoff_records, ref))
        app.ctx.agent_sockets.audit = app.ctx.audit
        await seed_accounts(app.ctx.staff, settings)
        if app.ctx.rasa is None:
            client = HttpRasaClient.from_settings(settings)
            await client.open()
            app.ctx.rasa = client
            app.ctx.owned.append(client)
        if app.ctx.queue_state is None:
            app.ctx.queue_state = await open_queue_state(settings.redis_url, settings.queue_prefix)
            app.ctx.owned.append(app.ctx.queue_state)
        app.ctx.schedules = desk_schedules(handoff_config, engine, clock)
        app.ctx.bridge = Bridge(app.ctx.queue_state, app.ctx.handoff_records, app.ctx.rasa, app.ctx.tickets,
                                handoff_config, clock, app.ctx.schedules)
        app.ctx.agent_profile = lambda member: agent_profile(engine, handoff_config.groups_of, member,
                                                             handoff_config.default_capacity)
        app.ctx.queue_state.listen(app.ctx.agent_sockets.deliver)
        restored = await app.ctx.bridge.restore()
        if restored:
            log_event(logger, "handoff_queue_restored", sessions=restored)

    @app.after_server_start
    async def start_jobs(app: Sanic, _loop: Any) -> None:
        if escalate:
            app.ctx.escalation = asyncio.create_task(run_escalation(app.ctx.tickets))
        app.ctx.queue_job = asyncio.create_task(expire_waits(app.ctx.bridge))
        app.ctx.socket_job = asyncio.create_task(check_sockets(app.ctx.agent_sockets, app.ctx.revocations.still_valid))
        log_event(logger, "desk_started", mode=settings.mode)

    @app.before_server_stop
    async def stop_jobs(app: Sanic, _loop: Any) -> None:
        for job in (app.ctx.escalation, app.ctx.queue_job, app.ctx.socket_job):
            if job is not None:
                job.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await job
        if app.ctx.background:
            await asyncio.wait(set(app.ctx.background), timeout=STOP_GRACE_S)
        if getattr(app.ctx, "bridge", None) is not None:
            await app.ctx.bridge.settle(STOP_GRACE_S)

    @app.after_server_stop
    async def close_resources(app: Sanic, _loop: Any) -> None:
        for resource in reversed(app.ctx.owned):
            if isinstance(resource, HttpRasaClient):
                await resource.close()
            elif hasattr(resource, "dispose"):
                resource.dispose()
            else:
                await resource.close()  # the queue state
        app.ctx.owned.clear()

    return app


async def seed_accounts(staff: StaffDirectory, settings: Settings) -> None:
    """Embedded mode: the demo accounts on an empty database. Scaled mode: never (real accounts only)."""
    if settings.scaled:
        if not await asyncio.to_thread(staff.count):
            log_event(logger, "no_staff_accounts", level=logging.WARNING,
                      hint="add one with python -m desk.staff add <username> --role 主管 ...")
        return
    created = await asyncio.to_thread(staff.seed_demo, settings.desk_demo_password)
    if created:
        log_event(logger, "demo_accounts_created", level=logging.WARNING, usernames=",".join(created),
                  hint="set DESK_DEMO_PASSWORD or change them with python -m desk.staff passwd")


def session_customer(records: HandoffRecords, reference: str) -> str | None:
    """Whose a handoff session is, for audit rows whose data did not say (None for other references)."""
    try:
        return records.get(reference).customer_id
    except NotFound:
        return None


def agent_profile(engine: Any, groups_of: Any, member: Any, default_capacity: int = 3) -> tuple[frozenset[str], int]:
    """An agent's skill groups and capacity from their staff account (handoff.yml's default_capacity when the
    account gives none)."""
    from sqlalchemy import select

    from service.tickets.schema import staff

    with engine.connect() as conn:
        row = conn.execute(select(staff.c.skill_groups, staff.c.capacity, staff.c.department)
                           .where(staff.c.username == member.username)).first()
    if row is None:
        return groups_of("", member.department), default_capacity
    return groups_of(row.skill_groups or "", row.department), int(row.capacity or default_capacity)


async def to_console(_request: Request) -> HTTPResponse:
    return redirect("/console/")


async def to_widget(_request: Request) -> HTTPResponse:
    return redirect("/chat/")


async def widget_socket_io(_request: Request) -> HTTPResponse:
    """The widget's socket.io-client, from node_modules (a clear 404 until `make web-deps` installed it)."""
    if not WIDGET_SOCKET_IO.is_file():
        raise NotFoundError("not_installed", "socket.io-client is not installed: run `make web-deps` (npm ci)")
    return await file(WIDGET_SOCKET_IO, mime_type="application/javascript; charset=utf-8")


async def expire_waits(bridge: Bridge) -> None:
    """Every QUEUE_CHECK_S: waits past the limit become tickets (errors logged, the job goes on)."""
    while True:
        await asyncio.sleep(QUEUE_CHECK_S)
        try:
            await bridge.expire_waiting()
        except Exception as exc:  # a failed round must not stop the job
            log_event(logger, "queue_check_failed", level=logging.WARNING, error=type(exc).__name__)
