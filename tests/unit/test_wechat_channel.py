"""The WeChat Official Account webhook, served on loopback and pushed to exactly as WeChat pushes.

The bot is a fake `on_new_message` that answers through the message's output channel, like Rasa; the gate is
the real one (numbered choices) over a fake router and history; the outbox is the real one over a fake WeChat
API that records what it was asked to send.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import random
import uuid
from collections.abc import AsyncIterator, Iterable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from rasa.core.channels.channel import UserMessage
from rasa.shared.core.events import BotUttered, Event
from sanic import Sanic
from sqlalchemy.engine import Engine

from connectors.gate import AS_TEXT, MessageGate
from connectors.routing import ConversationRouter
from connectors.wechat import WeChatChannel
from connectors.wechat_dedup import SqlSeen
from connectors.wechat_menu import menu_intents
from connectors.wechat_messages import (
    BadPush,
    Kind,
    Push,
    fresh,
    inbound_of,
    push_of,
    signature_matches,
    signature_of,
    xml_fields,
)
from connectors.wechat_outbox import WeChatOutbox
from service.channel_users import ChannelUsers
from service.db import make_engine
from service.migrate import upgrade
from service.settings import Settings, load_settings
from tests.desk_harness import serving
from tests.wechat_push import WeChatPusher

TOKEN = "xiaozhi-wechat-token"
APP_ID = "wx0000000000000001"
AES_KEY = base64.b64encode(os.urandom(32)).decode().rstrip("=")
TEXTS = {
    "utter_unsupported_message": "抱歉，小智暂时只能看懂文字消息。",
    "utter_attachment_to_agent": "收到，已经转给正在为您服务的人工客服。",
    "utter_choose_by_number": "请回复序号选择：",
    "utter_message_too_long": "您的消息有点长",
    "utter_too_many_messages": "您发消息的速度有点快",
}
MENU = """
buttons:
  - name: 查订单
    key: MENU_ORDER
    intent: query_order_status
  - name: 更多
    sub_buttons:
      - {name: 查物流, key: MENU_LOGISTICS, intent: query_logistics}
      - {name: 转人工, key: MENU_HUMAN, intent: request_human}
"""
BUTTONS = [{"title": "查订单", "payload": "/query_order_status"}, {"title": "转人工", "payload": "/request_human"}]


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterable[Engine]:
    """One migrated database for the module (tests use their own openids and MsgIds)."""
    path = tmp_path_factory.mktemp("wechat") / "bot.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    yield engine
    engine.dispose()


@dataclass
class FakeApi:
    sent: list[tuple[str, str]] = field(default_factory=list)

    async def send_text(self, openid: str, text: str) -> None:
        self.sent.append((openid, text))

    async def create_menu(self, menu: dict[str, Any]) -> None:
        raise AssertionError("not called by the webhook")


class FakeRouter:
    """Each openid writes to conversation "conv-<openid>"."""

    def __init__(self) -> None:
        self.users: dict[str, str] = {}

    def bind(self, app: Any) -> None:
        pass

    async def route(self, channel: str, user_key: str, customer_id: str | None = None) -> str:
        self.users[f"conv-{user_key}"] = user_key
        return f"conv-{user_key}"

    async def user_of(self, conversation: str, channel: str) -> str | None:
        return self.users.get(conversation)


@dataclass
class Bot:
    """Rasa's part: answers each message through its output channel, and remembers what it said (the history)."""

    delay_s: float = 0.0
    heard: list[UserMessage] = field(default_factory=list)
    said: dict[str, list[Event]] = field(default_factory=dict)
    answers: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    async def __call__(self, message: UserMessage) -> None:
        self.heard.append(message)
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        for answer in self.answers.get(message.text or "", [{"text": f"小智收到：{message.text}"}]):
            self.said.setdefault(message.sender_id, []).append(BotUttered(answer.get("text"), data=answer))
            await message.output_channel.send_response(message.sender_id, dict(answer))

    async def history(self, conversation: str) -> list[Event]:
        return self.said.get(conversation, [])

    @property
    def texts(self) -> list[str | None]:
        return [message.text for message in self.heard]


@dataclass
class Webhook:
    url: str
    channel: WeChatChannel
    bot: Bot
    api: FakeApi
    pusher: WeChatPusher
    session: aiohttp.ClientSession

    async def post(self, signed: tuple[str, bytes], query: str | None = None) -> tuple[int, str]:
        async with self.session.post(f"{self.url}?{query or signed[0]}", data=signed[1]) as answer:
            return answer.status, await answer.text()

    async def get(self, query: str) -> tuple[int, str]:
        async with self.session.get(f"{self.url}?{query}") as answer:
            return answer.status, await answer.text()

    async def reply(self, signed: tuple[str, bytes]) -> str:
        """The text of the passive reply to a push."""
        status, body = await self.post(signed)
        assert status == 200, body
        return self.pusher.reply_text(body, signed[0])


def settings_for(tmp_path: Path, safe: bool = False, token: str | None = TOKEN) -> Settings:
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "menu.yml").write_text(MENU, encoding="utf-8")
    env = {"XIAOZHI_VAR_DIR": str(tmp_path), "WECHAT_APP_ID": APP_ID, "WECHAT_APP_SECRET": "s" * 32,
           "WECHAT_MENU": str(tmp_path / "menu.yml")}
    if token:
        env["WECHAT_TOKEN"] = token
    if safe:
        env["WECHAT_AES_KEY"] = AES_KEY
    return load_settings(env)


@asynccontextmanager
async def webhook(tmp_path: Path, engine: Engine, safe: bool = False, token: str | None = TOKEN,
                  budget_s: float = 4.0, bot: Bot | None = None, handoff: bool = False,
                  seen: SqlSeen | None = None, router: Any = None) -> AsyncIterator[Webhook]:
    settings = settings_for(tmp_path, safe, token)
    bot = bot or Bot()
    api = FakeApi()
    router = router or FakeRouter()
    gate = MessageGate(settings, history=bot.history, texts=TEXTS.get, router=router,  # type: ignore[arg-type]
                       numbered_choices=True)

    async def in_handoff(conversation: str) -> bool:
        return handoff

    async def nowhere(item: Any) -> None:
        raise AssertionError(f"undeliverable: {item}")

    outbox = WeChatOutbox(api, engine, texts=TEXTS.get, undeliverable=nowhere)
    channel = WeChatChannel(settings, gate=gate, seen=seen or SqlSeen(engine), outbox=outbox, router=router,
                            budget_s=budget_s, texts=TEXTS.get, in_handoff=in_handoff)
    app = Sanic(f"wechat_{uuid.uuid4().hex[:8]}")
    app.ctx.agent = None
    app.blueprint(channel.blueprint(bot), url_prefix="/webhooks/wechat")
    pusher = WeChatPusher(TOKEN, AES_KEY if safe else None, APP_ID)
    async with serving(app) as base, aiohttp.ClientSession() as session:
        yield Webhook(f"{base}/webhooks/wechat/webhook", channel, bot, api, pusher, session)
        await channel.drain(5.0)


def openid() -> str:
    return "o" + uuid.uuid4().hex[:27]


# --- URL check, signatures, replays, bad input -------------------------------------------------


async def test_the_url_check_echoes_echostr_only_when_signed_by_wechat_just_now(tmp_path: Path, engine: Engine) -> None:
    async with webhook(tmp_path, engine) as hook:
        assert await hook.get(hook.pusher.verification("5837397520912278720")) == (200, "5837397520912278720")
        forged = WeChatPusher("not-our-token")
        status, body = await hook.get(forged.verification())
        assert status == 403 and "signature" in body
        status, body = await hook.get(hook.pusher.verification(timestamp=int(hook.pusher.clock()) - 600))
        assert status == 403 and "replay" in body


async def test_the_channel_is_off_without_a_token(tmp_path: Path, engine: Engine) -> None:
    async with webhook(tmp_path, engine, token=None) as hook:
        hook.pusher = WeChatPusher(TOKEN)
        for status, body in (await hook.get(hook.pusher.verification()),
                             await hook.post(hook.pusher.text(openid(), "在吗"))):
            assert status == 404 and "WECHAT_TOKEN" in body
        assert hook.bot.heard == []


async def test_a_push_not_signed_by_wechat_is_refused(tmp_path: Path, engine: Engine) -> None:
    async with webhook(tmp_path, engine) as hook:
        query, body = WeChatPusher("not-our-token").text(openid(), "在吗")
        assert (await hook.post((query, body)))[0] == 403
        assert (await hook.post((query, body), query="timestamp=1&nonce=2"))[0] == 403
        assert hook.bot.heard == []


async def test_a_replayed_push_with_a_stale_or_future_timestamp_is_refused(tmp_path: Path, engine: Engine) -> None:
    async with webhook(tmp_path, engine) as hook:
        now = int(hook.pusher.clock())
        for stamp in (now - 6 * 60, now + 6 * 60):
            xml = hook.pusher.message_xml(openid(), "text", Content="在吗", MsgId="1")
            status, body = await hook.post(hook.pusher.sign(xml, "o1", timestamp=stamp))
            assert status == 403 and "replay" in body
        assert hook.bot.heard == []


async def test_unreadable_pushes_get_a_400_with_the_reason(tmp_path: Path, engine: Engine) -> None:
    async with webhook(tmp_path, engine) as hook:
        for xml, reason in (("not xml at all", "well-formed"), ("<xml><ToUserName>gh", "well-formed"),
                            ("<html><body/></html>", "<xml>"), ("<xml><MsgType>text</MsgType></xml>", "lacks"),
                            (hook.pusher.message_xml("bad openid!", "text", Content="hi"), "openid")):
            status, body = await hook.post(hook.pusher.sign(xml, "o1"))
            assert status == 400 and reason in body and '"error":"bad_request"' in body.replace(" ", "")
        assert hook.bot.heard == []


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE xml [<!ENTITY a "哈哈哈哈哈哈哈哈哈哈"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>
<xml><ToUserName>gh</ToUserName><FromUserName>o1</FromUserName><CreateTime>1</CreateTime>
<MsgType>text</MsgType><Content>&d;</Content><MsgId>7</MsgId></xml>"""
EXTERNAL_ENTITY = """<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<xml><ToUserName>gh</ToUserName><FromUserName>o1</FromUserName><CreateTime>1</CreateTime>
<MsgType>text</MsgType><Content>&x;</Content><MsgId>8</MsgId></xml>"""


@pytest.mark.parametrize("safe", [False, True], ids=["plain", "safe"])
async def test_xml_entity_attacks_are_refused_not_expanded(tmp_path: Path, engine: Engine, safe: bool) -> None:
    async with webhook(tmp_path, engine, safe=safe) as hook:
        for attack in (BILLION_LAUGHS, EXTERNAL_ENTITY):
            status, body = await hook.post(hook.pusher.sign(attack, "o1"))
            assert status == 400 and "DTD" in body
        assert hook.bot.heard == []


async def test_an_oversized_body_is_413(tmp_path: Path, engine: Engine) -> None:
    async with webhook(tmp_path, engine) as hook:
        status, body = await hook.post(hook.pusher.text(openid(), "长" * 30_000))
        assert status == 413 and "65536" in body
        assert hook.bot.heard == []


# --- messages to the bot and the passive reply ----------------------------------------------------


async def test_a_text_gets_the_bots_answer_as_a_passive_reply(tmp_path: Path, engine: Engine,
                                                              caplog: pytest.LogCaptureFixture) -> None:
    user = openid()
    caplog.set_level(logging.INFO)
    async with webhook(tmp_path, engine) as hook:
        assert await hook.reply(hook.pusher.text(user, "我的快递到哪了")) == "小智收到：我的快递到哪了"
        message = hook.bot.heard[0]
        assert message.sender_id == f"conv-{user}" and message.input_channel == "wechat"
        assert hook.api.sent == []  # everything went passively
    assert "wechat_push" in caplog.text and user not in caplog.text and "快递" not in caplog.text


async def test_what_the_gate_refuses_is_answered_politely_and_a_failing_bot_is_no_5xx(
        tmp_path: Path, engine: Engine, caplog: pytest.LogCaptureFixture) -> None:
    user = openid()
    async with webhook(tmp_path, engine) as hook:
        assert await hook.reply(hook.pusher.text(user, "长" * 2100)) == TEXTS["utter_message_too_long"]
        assert hook.bot.heard == []
        hook.bot.answers = None  # type: ignore[assignment]  # from now on the bot fails while answering
        assert await hook.post(hook.pusher.text(user, "在吗")) == (200, "success")
    assert "wechat_push_failed" in caplog.text and "在吗" not in caplog.text


async def test_safe_mode_reads_and_answers_in_the_encrypted_envelope(tmp_path: Path, engine: Engine) -> None:
    user = openid()
    async with webhook(tmp_path, engine, safe=True) as hook:
        signed = hook.pusher.text(user, "退货怎么办")
        status, body = await hook.post(signed)
        assert status == 200 and "退货" not in body and "<Encrypt>" in body
        assert hook.pusher.reply_text(body, signed[0]) == "小智收到：退货怎么办"
        # a push whose envelope signature does not match is refused, even with a good URL signature
        query, sealed = hook.pusher.text(user, "再问一次")
        tampered = query.replace("msg_signature=", "msg_signature=0")
        assert (await hook.post((tampered, sealed)))[0] == 403
        plain = WeChatPusher(TOKEN).text(user, "明文")
        status, body = await hook.post(plain)
        assert status == 400 and "Encrypt" in body
        assert hook.bot.texts == ["退货怎么办"]


async def test_a_slow_answer_gets_success_now_and_arrives_through_the_api(tmp_path: Path, engine: Engine) -> None:
    user = openid()
    async with webhook(tmp_path, engine, budget_s=0.1, bot=Bot(delay_s=0.4)) as hook:
        assert await hook.post(hook.pusher.text(user, "查一下订单")) == (200, "success")
        await hook.channel.drain(5.0)
        assert hook.api.sent == [(user, "小智收到：查一下订单")]


async def test_an_answer_too_long_for_one_reply_sends_the_rest_through_the_api(tmp_path: Path, engine: Engine) -> None:
    user = openid()
    long_answers = [{"text": "第一段。" + "很" * 600}, {"text": "第二段。" + "长" * 600}]
    async with webhook(tmp_path, engine, bot=Bot(answers={"说说政策": long_answers})) as hook:
        first = await hook.reply(hook.pusher.text(user, "说说政策"))
        await hook.channel.drain(5.0)
        assert first.startswith("第一段。") and "第二段" not in first
        assert [(to, text[:4]) for to, text in hook.api.sent] == [(user, "第二段。")]


async def test_a_push_retried_three_times_is_processed_once(tmp_path: Path, engine: Engine) -> None:
    user = openid()
    async with webhook(tmp_path, engine) as hook:
        push = hook.pusher.text(user, "在吗", msg_id="61000000000000001")
        answers = [await hook.post(push) for _ in range(3)]
        assert hook.bot.texts == ["在吗"]
        assert hook.pusher.reply_text(answers[0][1], push[0]) == "小智收到：在吗"
        assert answers[1:] == [(200, "success"), (200, "success")]


async def test_a_retry_that_reaches_another_process_is_not_processed_again(tmp_path: Path, engine: Engine) -> None:
    user, bot = openid(), Bot()
    async with webhook(tmp_path / "a", engine, bot=bot) as first, \
            webhook(tmp_path / "b", engine, bot=bot, seen=SqlSeen(make_engine(str(engine.url)))) as second:
        push = first.pusher.text(user, "在吗", msg_id="61000000000000002")
        assert (await first.post(push))[0] == 200
        assert await second.post(push) == (200, "success")
        assert await first.post(push) == (200, "success")
        # events have no MsgId: the user and the creation time say it is the same push
        subscribe = first.pusher.event(user, "subscribe", create_time=1_800_000_000)
        assert (await second.post(subscribe))[0] == 200
        assert await first.post(subscribe) == (200, "success")
        assert bot.texts == ["在吗", "你好"]


async def test_a_new_follower_is_greeted(tmp_path: Path, engine: Engine) -> None:
    user = openid()
    bot = Bot(answers={"你好": [{"text": "您好，我是小智，有什么可以帮您？"}]})
    async with webhook(tmp_path, engine, bot=bot) as hook:
        assert await hook.reply(hook.pusher.event(user, "subscribe")) == "您好，我是小智，有什么可以帮您？"
        assert await hook.post(hook.pusher.event(user, "unsubscribe")) == (200, "success")
        assert bot.texts == ["你好"]


async def test_a_menu_click_asks_for_its_intent_and_typed_intents_stay_words(tmp_path: Path, engine: Engine) -> None:
    user = openid()
    async with webhook(tmp_path, engine) as hook:
        await hook.reply(hook.pusher.event(user, "CLICK", key="MENU_LOGISTICS"))
        await hook.reply(hook.pusher.text(user, "/request_human"))
        later = int(hook.pusher.clock()) + 1  # WeChat tells events apart by user and second
        unknown = await hook.reply(hook.pusher.event(user, "CLICK", key="NO_SUCH_KEY", create_time=later))
        assert hook.bot.texts == ["/query_logistics", AS_TEXT + "/request_human"]
        assert unknown == TEXTS["utter_unsupported_message"]


async def test_buttons_are_numbered_and_the_number_picks_the_button(tmp_path: Path, engine: Engine) -> None:
    user = openid()
    bot = Bot(answers={"有问题": [{"text": "您想办理什么？", "buttons": BUTTONS}]})
    async with webhook(tmp_path, engine, bot=bot) as hook:
        shown = await hook.reply(hook.pusher.text(user, "有问题"))
        assert shown == "您想办理什么？\n请回复序号选择：\n1. 查订单\n2. 转人工"
        await hook.reply(hook.pusher.text(user, "2"))
        assert bot.texts[-1] == "/request_human"


async def test_a_voice_message_goes_by_its_recognition_text(tmp_path: Path, engine: Engine) -> None:
    user = openid()
    async with webhook(tmp_path, engine) as hook:
        assert await hook.reply(hook.pusher.voice(user, "我要退货")) == "小智收到：我要退货"
        assert await hook.reply(hook.pusher.voice(user, None)) == TEXTS["utter_unsupported_message"]
        assert hook.bot.texts == ["我要退货"]


async def test_images_and_locations_get_a_polite_reply(tmp_path: Path, engine: Engine) -> None:
    user = openid()
    async with webhook(tmp_path, engine) as hook:
        for push in (hook.pusher.image(user), hook.pusher.location(user),
                     hook.pusher.push(user, "link", Title="看看", Url="https://x.example", MsgId="99")):
            assert await hook.reply(push) == TEXTS["utter_unsupported_message"]
        assert hook.bot.heard == []


async def test_an_image_during_a_handoff_goes_to_the_agent_as_a_link(tmp_path: Path, engine: Engine) -> None:
    user = openid()
    bot = Bot(answers={"[图片] http://mmbiz.qpic.cn/demo/photo.jpg": []})  # the relay says nothing itself
    async with webhook(tmp_path, engine, bot=bot, handoff=True) as hook:
        assert await hook.reply(hook.pusher.image(user)) == TEXTS["utter_attachment_to_agent"]
        assert bot.texts == ["[图片] http://mmbiz.qpic.cn/demo/photo.jpg"]


async def test_agent_replies_go_to_the_conversations_wechat_user_through_the_api(tmp_path: Path, engine: Engine) -> None:
    user = openid()
    router = ConversationRouter(ChannelUsers(engine))  # the real one, on the module's database
    async with webhook(tmp_path, engine, router=router) as hook:
        await hook.reply(hook.pusher.text(user, "转人工"))
        conversation = hook.bot.heard[0].sender_id
        output = hook.channel.get_output_channel()
        assert output is not None
        await output.send_response(conversation, {"text": "您好，我是客服小王", "buttons": BUTTONS})
        await output.send_response("conv-nobody", {"text": "无人收"})
        assert hook.api.sent == [(user, "您好，我是客服小王\n请回复序号选择：\n1. 查订单\n2. 转人工")]


def mutations(pusher: WeChatPusher, rng: random.Random, count: int) -> Iterator[tuple[str, bytes]]:
    """Signed pushes whose bodies are broken in the ways a hostile or buggy sender breaks them."""
    types = ["text", "image", "voice", "video", "shortvideo", "location", "link", "event", "file", "", "TEXT", "x" * 300]
    events = ["subscribe", "unsubscribe", "CLICK", "VIEW", "SCAN", "LOCATION", "", "weird"]
    for index in range(count):
        fields = {"Content": rng.choice(["在吗", "", "/EXTERNAL_agent_message", "]]>", "<b>", "\x00x", "长" * 700]),
                  "Event": rng.choice(events), "EventKey": rng.choice(["MENU_ORDER", "", "../../etc"]),
                  "Recognition": rng.choice(["", "退货"]), "PicUrl": rng.choice(["", "javascript:x", "http://p/1.jpg"]),
                  "MsgId": rng.choice([str(10**18 + index), "", "abc", "-1"])}
        chosen = {k: v for k, v in fields.items() if rng.random() < 0.6}
        user = rng.choice([f"o{index:027d}", "", "o" * 65, "用户"])
        xml = pusher.message_xml(user or "o1", rng.choice(types), int(pusher.clock()), **chosen)
        if not user:
            xml = xml.replace("<FromUserName><![CDATA[o1]]></FromUserName>", "")
        raw = xml.encode()
        cut = rng.randrange(len(raw))
        if rng.random() < 0.5:  # half of them broken further
            raw = rng.choice([raw[:cut], raw[:cut] + bytes([rng.randrange(256)]) + raw[cut + 1:],
                              raw.replace(b"<xml>", b"<!DOCTYPE xml><xml>"), b"\xff\xfe" + raw, raw * 2, b""])
        query, body = pusher.sign(raw.decode("utf-8", "replace"), "o1") if pusher.crypto else (pusher.sign(xml, "o1")[0], raw)
        if pusher.crypto and rng.random() < 0.3:
            body = body.replace(b"<Encrypt><![CDATA[", b"<Encrypt><![CDATA[" + bytes([65 + index % 26]))
        yield query, body


@pytest.mark.parametrize("safe", [False, True], ids=["plain", "safe"])
async def test_broken_pushes_never_get_a_5xx_or_a_traceback(tmp_path: Path, engine: Engine, safe: bool,
                                                            caplog: pytest.LogCaptureFixture) -> None:
    rng = random.Random(8)
    async with webhook(tmp_path, engine, safe=safe) as hook:
        for signed in mutations(hook.pusher, rng, 150):
            status, body = await hook.post(signed)
            assert status in (200, 400, 403, 413), (status, body)
            assert status != 200 or body == "success" or "<xml>" in body
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]


# --- the wire format, without HTTP ---------------------------------------------------------------------


def test_signatures_and_timestamps() -> None:
    good = signature_of(TOKEN, "1800000000", "42")
    assert signature_matches(good, TOKEN, "1800000000", "42")
    assert not signature_matches(good, TOKEN, "1800000001", "42")
    assert not signature_matches(None, TOKEN, "1800000000", "42") and not signature_matches("签名", TOKEN, "1", "2")
    assert fresh("1800000000", now=1_800_000_299) and not fresh("1800000000", now=1_800_000_301)
    assert not fresh("1800000400", now=1_800_000_000) and not fresh("abc", now=0) and not fresh(None)
    assert not fresh("²", now=2) and not fresh("①", now=1)  # digits to str.isdigit, not to int(): found by the fuzz


def test_an_xml_encoding_python_does_not_know_is_a_bad_push() -> None:
    with pytest.raises(BadPush):  # LookupError inside the parser: found by the fuzz
        xml_fields(b'<?xml version="1.0" encoding="nonexistent"?><xml><MsgType>text</MsgType></xml>')


def test_what_each_push_asks_of_the_bot(tmp_path: Path) -> None:
    (tmp_path / "menu.yml").write_text(MENU, encoding="utf-8")
    menu = menu_intents(tmp_path / "menu.yml")
    assert menu == {"MENU_ORDER": "query_order_status", "MENU_LOGISTICS": "query_logistics", "MENU_HUMAN": "request_human"}

    def push(msg_type: str, **fields: str) -> Push:
        return push_of({"ToUserName": "gh", "FromUserName": "o1", "CreateTime": "1", "MsgType": msg_type, **fields})

    click = inbound_of(push("event", Event="CLICK", EventKey="MENU_ORDER"), menu)
    assert (click.kind, click.text, click.payloads) == (Kind.BOT, "/query_order_status", {"/query_order_status"})
    assert inbound_of(push("event", Event="unsubscribe"), menu).user_acted is False
    assert inbound_of(push("event", Event="VIEW", EventKey="https://x"), menu).kind is Kind.IGNORED
    assert inbound_of(push("video", MediaId="m"), menu).kind is Kind.UNSUPPORTED
    assert push("text", MsgId="5").dedup_key != push("text", MsgId="6").dedup_key
    assert push("event").dedup_key == push("event").dedup_key != push_of(
        {"ToUserName": "gh", "FromUserName": "o1", "CreateTime": "2", "MsgType": "event"}).dedup_key
    with pytest.raises(BadPush):
        xml_fields("<xml><a>&amp;</a><b>&lt;</b></xml><xml/>")
