"""A slow or failing backend never crashes a turn: an apology, within the timeout."""

from __future__ import annotations

import time

from rasa_sdk.executor import CollectingDispatcher

from actions.address import ValidateChangeAddressForm
from actions.deps import build_services
from actions.orders import ActionCheckLogistics
from service.backends import build_backends
from service.clock import fixed_clock
from service.settings import load_settings
from service.tickets import build_ticket_service
from tests.conftest import NOW
from tests.trackers import domain, responses, signed_in, tracker


def services_with(tmp_path, **env: str):
    settings = load_settings({"XIAOZHI_VAR_DIR": str(tmp_path), **env})
    clock = fixed_clock(NOW)
    return build_services(build_backends(settings, clock), clock, build_ticket_service(settings, clock))


async def test_slow_backend_gets_an_apology_within_three_seconds(tmp_path) -> None:
    services = services_with(tmp_path, STUB_LATENCY_MS="10000", BACKEND_TIMEOUT_S="1.5")
    dispatcher = CollectingDispatcher()
    started = time.monotonic()
    events = await ActionCheckLogistics(services).run(
        dispatcher, tracker("到哪了", "query_logistics", slots={"order_id": "E202611010001", **signed_in("C001")}),
        domain())
    assert time.monotonic() - started < 3
    assert responses(dispatcher) == ["utter_backend_error"]
    assert events == []


async def test_failing_backend_gets_an_apology(tmp_path, caplog) -> None:
    services = services_with(tmp_path, STUB_FAILING="logistics")
    dispatcher = CollectingDispatcher()
    await ActionCheckLogistics(services).run(
        dispatcher, tracker("到哪了", "query_logistics", slots={"order_id": "E202611010001", **signed_in("C001")}),
        domain())
    assert responses(dispatcher) == ["utter_backend_error"]
    assert "backend_error operation=logistics.get_shipment" in caplog.text
    assert "13800138000" not in caplog.text


async def test_failing_backend_inside_a_form_ends_it_politely(tmp_path) -> None:
    services = services_with(tmp_path, STUB_FAILING="orders")
    dispatcher = CollectingDispatcher()
    t = tracker("E202611150002", entities={"order_id": "E202611150002"},
                slots={"order_id": "E202611150002", "requested_slot": "order_id", **signed_in("C001")},
                active_loop="change_address_form")
    events = await ValidateChangeAddressForm(services).run(dispatcher, t, domain())
    assert responses(dispatcher) == ["utter_backend_error"]
    assert events[-1] == {"event": "slot", "timestamp": None, "name": "requested_slot", "value": None}
