"""One customer, every channel: a proven channel user writes to the customer's one conversation, nothing lost."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from rasa.core.lock_store import InMemoryLockStore
from rasa.core.tracker_store import InMemoryTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, SlotSet, UserUttered

from connectors.gate import chosen_payload, offered_buttons, titled_payload
from connectors.routing import ConversationRouter, carried_events, proven_customer
from service.channel_users import ChannelUsers
from service.clock import Clock
from service.conversation_links import ConversationLinks
from service.db import make_engine
from service.migrate import upgrade

DOMAIN = Domain.from_yaml("""
version: "3.1"
intents: [inform]
slots:
  customer_id: {type: text, influence_conversation: false, mappings: [{type: custom}]}
  identity_proof: {type: text, influence_conversation: false, mappings: [{type: custom}]}
  order_id: {type: text, influence_conversation: false, mappings: [{type: custom}]}
""")


class World:
    def __init__(self, tmp_path: Path) -> None:
        engine = make_engine(f"sqlite:///{tmp_path / 'bot.db'}")
        upgrade(engine)
        self.users = ChannelUsers(engine, Clock())
        self.links = ConversationLinks(engine, Clock())
        self.store = InMemoryTrackerStore(DOMAIN)
        self.router = ConversationRouter(self.users)
        self.router.bind(SimpleNamespace(ctx=SimpleNamespace(agent=SimpleNamespace(
            tracker_store=self.store, lock_store=InMemoryLockStore()))))

    async def say(self, conversation: str, *events: Any) -> None:
        tracker = await self.store.get_or_create_tracker(conversation)
        for event in events:
            tracker.update(event)
        await self.store.save(tracker)

    async def texts(self, conversation: str) -> list[str]:
        tracker = await self.store.retrieve(conversation)
        assert tracker is not None
        return [e.text for e in tracker.events if isinstance(e, (UserUttered, BotUttered)) and e.text]

    async def slots(self, conversation: str) -> dict[str, Any]:
        tracker = await self.store.retrieve(conversation)
        assert tracker is not None
        return tracker.current_slot_values()


@pytest.fixture
def world(tmp_path: Path) -> World:
    return World(tmp_path)


def proven_by_code(customer: str) -> list[Any]:
    return [SlotSet("customer_id", customer), SlotSet("identity_proof", "otp")]


async def test_a_new_channel_user_has_a_conversation_of_its_own(world: World) -> None:
    assert await world.router.route("wechat", "oOPENID1") == "oOPENID1"
    assert await world.router.route("wechat", "oOPENID1") == "oOPENID1"
    assert await world.router.conversation_of("wechat", "oOPENID1") == "oOPENID1"
    assert await world.router.user_of("oOPENID1", "wechat") == "oOPENID1"


async def test_a_rest_sender_cannot_walk_into_a_wechat_conversation_by_naming_it(world: World) -> None:
    await world.router.route("wechat", "oOPENID1")
    other = await world.router.route("rest", "oOPENID1")
    assert other != "oOPENID1"
    assert await world.router.user_of("oOPENID1", "rest") is None


async def test_proven_on_wechat_then_the_app_continues_the_same_conversation(world: World) -> None:
    wechat = await world.router.route("wechat", "oOPENID1")
    await world.say(wechat, UserUttered("查一下E202611010001的物流"), SlotSet("order_id", "E202611010001"),
                    *proven_by_code("C001"))
    world.links.record("C001", wechat, "wechat")  # what the action server records on a good code

    app = await world.router.route("app", "app-user-7", customer_id="C001")

    assert app == wechat
    assert (await world.slots(app))["order_id"] == "E202611010001"
    assert await world.router.user_of(wechat, "app") == "app-user-7"
    assert await world.router.route("wechat", "oOPENID1") == wechat  # and WeChat stays in it


async def test_an_anonymous_conversation_that_proves_itself_is_carried_into_the_customers(world: World) -> None:
    home = await world.router.route("app", "app-user-7", customer_id="C001")
    await world.say(home, UserUttered("我的快递到哪了"), BotUttered("请问是哪个订单？"))
    web = await world.router.route("socketio", "s" * 32)
    await world.say(web, SessionStarted(), ActionExecuted("action_listen"), UserUttered("冰箱坏了想报修"),
                    SlotSet("order_id", "E202610200003"), *proven_by_code("C001"))
    world.links.record("C001", web, "socketio")  # what the action server records on a good code

    joined = await world.router.route("socketio", "s" * 32)  # its next message, after the code was right

    assert joined == home
    assert await world.texts(home) == ["我的快递到哪了", "请问是哪个订单？", "冰箱坏了想报修"]
    assert (await world.slots(home))["order_id"] == "E202610200003"
    assert await world.router.user_of(home, "socketio") == "s" * 32


async def test_a_plain_claim_joins_nothing(world: World) -> None:
    home = await world.router.route("app", "app-user-7", customer_id="C001")
    web = await world.router.route("socketio", "t" * 32)
    await world.say(web, SlotSet("customer_id", "C001"), SlotSet("identity_proof", "claimed"))
    world.links.record("C001", web, "socketio")  # recorded too, but a plain claim proves nothing
    assert await world.router.route("socketio", "t" * 32) == web != home


def test_only_a_code_or_a_signature_proves_a_customer_for_joining() -> None:
    assert proven_customer({"customer_id": "C001", "identity_proof": "otp"}) == "C001"
    assert proven_customer({"customer_id": "C001", "identity_proof": "signed"}) == "C001"
    assert proven_customer({"customer_id": "C001", "identity_proof": "claimed"}) is None
    assert proven_customer({"customer_id": None, "identity_proof": "otp"}) is None


def test_carried_events_skip_session_starts_and_read_as_the_latest() -> None:
    events = [SessionStarted(timestamp=1), ActionExecuted("action_session_start", timestamp=1),
              UserUttered("你好", timestamp=2), BotUttered("您好", timestamp=3)]
    carried = carried_events(events, now=1000.0)
    assert [type(e) for e in carried] == [UserUttered, BotUttered]
    assert carried[0].timestamp > 1000.0 and carried[1].timestamp > carried[0].timestamp


def test_a_number_answers_the_numbered_choices() -> None:
    events = [UserUttered("退货"), BotUttered("请选择订单", data={"buttons": [
        {"title": "E1", "payload": '/inform{"order_id":"E1"}'}, {"title": "E2", "payload": '/inform{"order_id":"E2"}'}]})]
    buttons = offered_buttons(events)
    assert chosen_payload("2", buttons) == '/inform{"order_id":"E2"}'
    assert chosen_payload(" １ ", buttons) == '/inform{"order_id":"E1"}'
    assert chosen_payload("3", buttons) is None
    assert chosen_payload("两个", buttons) is None


def test_typing_a_buttons_title_chooses_that_button() -> None:
    offer = [UserUttered("查下物流，顺便开个发票"), BotUttered("您的包裹已到杭州"),
             BotUttered("您刚才还提到要开发票，现在接着帮您处理吗？", data={"buttons": [
                 {"title": "好的", "payload": "/request_invoice"}, {"title": "不用了", "payload": "/deny"}]})]
    assert titled_payload("好的", offer) == "/request_invoice"
    assert titled_payload(" 好的！", offer) == "/request_invoice"
    assert titled_payload("不用了。", offer) == "/deny"
    assert titled_payload("好的 发票抬头写公司", offer) is None  # more than the title: the NLU reads it
    answered = [*offer, UserUttered("不用了"), BotUttered("好的，还有什么可以帮您？")]
    assert titled_payload("好的", answered) is None  # only the last reply's buttons count
    twice = [UserUttered("退货"), BotUttered("请选择", data={"buttons": [
        {"title": "好的", "payload": "/affirm"}, {"title": "好的", "payload": "/request_human"}]})]
    assert titled_payload("好的", twice) is None


async def test_a_device_that_switches_customer_takes_nothing_of_the_first_along(world: World) -> None:
    first = await world.router.route("app", "tablet", customer_id="C001")
    await world.say(first, UserUttered("我的地址是杭州市西湖区文三路1号"))
    second = await world.router.route("app", "tablet", customer_id="C002")
    assert second != first
    assert await world.router.route("app", "phone-of-c002", customer_id="C002") == second
    assert await world.store.retrieve(second) is None or "文三路" not in " ".join(await world.texts(second))
    assert await world.router.route("app", "phone-of-c001", customer_id="C001") == first  # C001 keeps his


async def test_forgetting_a_customer_leaves_no_way_into_the_old_conversation(world: World) -> None:
    home = await world.router.route("app", "app-user-7", customer_id="C001")
    world.users.forget("C001")
    assert await world.router.route("app", "app-user-8", customer_id="C001") != home
