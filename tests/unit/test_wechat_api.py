"""connectors/wechat_api.py and wechat_tokens.py against the fake WeChat server (tests/fake_wechat.py)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert, select
from sqlalchemy.engine import Engine

from connectors.wechat_api import HttpWeChatApi, WeChatApiError
from connectors.wechat_tokens import AccessTokens, TokenUnavailable
from scripts.launch import free_port
from service.channel_schema import wechat_tokens
from service.clock import Clock
from service.db import make_engine
from service.migrate import upgrade
from tests.fake_wechat import FakeWeChat

APP_ID = "wx-unit-test"
SECRET = "unit-test-app-secret"
OPENID = "oUnitTestOpenid0123456789ab"


@pytest.fixture
def fake() -> Iterator[FakeWeChat]:
    server = FakeWeChat(app_id=APP_ID, secret=SECRET)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def database(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    return url


@pytest.fixture
def each_database(database_url: str) -> str:
    """A migrated database on SQLite, and on PostgreSQL in the `postgres` suite."""
    engine = make_engine(database_url)
    upgrade(engine)
    engine.dispose()
    return database_url


@pytest.fixture
def engine(database: str) -> Iterator[Engine]:
    engine = make_engine(database)
    yield engine
    engine.dispose()


def client(base_url: str, engine: Engine | None, secret: str = SECRET, timeout_s: float = 5.0) -> HttpWeChatApi:
    return HttpWeChatApi(base_url, APP_ID, secret, engine=engine, timeout_s=timeout_s, retry_pause_s=0.01)


@pytest.fixture
async def api(fake: FakeWeChat, engine: Engine) -> AsyncIterator[HttpWeChatApi]:
    wechat = client(fake.base_url, engine)
    yield wechat
    await wechat.close()


async def test_a_message_reaches_the_user(api: HttpWeChatApi, fake: FakeWeChat) -> None:
    await api.send_text(OPENID, "您的订单 E202611010001 已发货。")
    assert fake.sent == [(OPENID, "您的订单 E202611010001 已发货。")]


async def test_the_token_is_fetched_once_and_reused(api: HttpWeChatApi, fake: FakeWeChat) -> None:
    for i in range(3):
        await api.send_text(OPENID, f"第{i}条")
    assert fake.token_requests == 1
    assert len(fake.sent) == 3


async def test_an_expired_token_is_renewed_and_the_message_still_goes(api: HttpWeChatApi, fake: FakeWeChat) -> None:
    await api.send_text(OPENID, "一")
    fake.expire_tokens()
    await api.send_text(OPENID, "二")
    assert fake.texts_to(OPENID) == ["一", "二"]
    assert fake.token_requests == 2


async def test_an_invalid_token_is_renewed_once_only(api: HttpWeChatApi, fake: FakeWeChat) -> None:
    fake.fail_next(40001, n=2)
    with pytest.raises(WeChatApiError) as refused:
        await api.send_text(OPENID, "你好")
    assert refused.value.code == 40001
    assert fake.sent == []


async def test_a_refusal_is_raised_with_wechats_code_and_not_retried(api: HttpWeChatApi, fake: FakeWeChat) -> None:
    fake.fail_next(45015)
    with pytest.raises(WeChatApiError) as refused:
        await api.send_text(OPENID, "你好")
    assert refused.value.code == 45015
    await api.send_text(OPENID, "再试一次")  # the refusal was answered once; the next call is sent
    assert fake.sent == [(OPENID, "再试一次")]


async def test_wechat_down_once_is_retried(api: HttpWeChatApi, fake: FakeWeChat) -> None:
    fake.down_next(1)
    await api.send_text(OPENID, "你好")
    assert fake.sent == [(OPENID, "你好")]


async def test_wechat_down_after_the_retry_raises_without_a_code(api: HttpWeChatApi, fake: FakeWeChat) -> None:
    fake.down_next(2)
    with pytest.raises(WeChatApiError) as down:
        await api.send_text(OPENID, "你好")
    assert down.value.code is None
    assert fake.sent == []


async def test_system_busy_is_retried(api: HttpWeChatApi, fake: FakeWeChat) -> None:
    fake.fail_next(-1)
    await api.send_text(OPENID, "你好")
    assert fake.sent == [(OPENID, "你好")]


async def test_a_wrong_secret_says_so(fake: FakeWeChat) -> None:
    wechat = client(fake.base_url, None, secret="not-the-secret")
    try:
        with pytest.raises(WeChatApiError) as refused:
            await wechat.send_text(OPENID, "你好")
    finally:
        await wechat.close()
    assert refused.value.code == 40125


async def test_no_server_is_an_error_in_bounded_time() -> None:
    wechat = client(f"http://127.0.0.1:{free_port()}", None, timeout_s=1.0)
    try:
        with pytest.raises(WeChatApiError) as down:
            await wechat.send_text(OPENID, "你好")
    finally:
        await wechat.close()
    assert down.value.code is None


async def test_the_menu_goes_as_utf8_chinese(api: HttpWeChatApi, fake: FakeWeChat) -> None:
    menu = {"button": [{"type": "click", "name": "查订单", "key": "MENU_ORDER_STATUS"}]}
    await api.create_menu(menu)
    assert fake.menus == [menu]
    assert "查订单".encode() in fake.menu_bodies[0]  # WeChat shows \\u escapes literally


def test_secrets_stay_out_of_repr(fake: FakeWeChat) -> None:
    assert SECRET not in repr(client(fake.base_url, None))


# --- the token shared across processes -------------------------------------------------------------


async def test_many_callers_in_two_processes_make_one_token_request(fake: FakeWeChat, each_database: str) -> None:
    engines = [make_engine(each_database), make_engine(each_database)]  # two processes, each with its own engine
    clients = [client(fake.base_url, e) for e in engines]
    try:
        tokens = [AccessTokens(APP_ID, c.fetch_token, e) for c, e in zip(clients, engines, strict=True)]
        got = await asyncio.gather(*(tokens[i % 2].get() for i in range(40)))
    finally:
        for c in clients:
            await c.close()
        for e in engines:
            e.dispose()
    assert fake.token_requests == 1
    assert len(set(got)) == 1


async def test_a_token_another_process_renewed_is_used(api: HttpWeChatApi, fake: FakeWeChat, engine: Engine) -> None:
    await api.send_text(OPENID, "一")
    other = client(fake.base_url, engine)
    try:
        fake.expire_tokens()
        await other.send_text(OPENID, "二")  # renews the token in the table
        await api.send_text(OPENID, "三")  # refused once with its old token, then takes the new one from the table
    finally:
        await other.close()
    assert fake.texts_to(OPENID) == ["一", "二", "三"]
    assert fake.token_requests == 2


async def test_a_lease_left_by_a_crashed_process_runs_out(fake: FakeWeChat, engine: Engine) -> None:
    now = Clock().now()
    with engine.begin() as conn:  # a process took the lease and died before storing a token
        conn.execute(insert(wechat_tokens).values(app_id=APP_ID, token="", refreshing_until=now + timedelta(seconds=0.3)))
    wechat = client(fake.base_url, engine)
    try:
        token = await AccessTokens(APP_ID, wechat.fetch_token, engine, wait_s=5, lease_s=1).get()
    finally:
        await wechat.close()
    assert token.startswith("FAKE_TOKEN_")
    with engine.connect() as conn:
        row = conn.execute(select(wechat_tokens)).one()
    assert row.token == token and row.refreshing_until is None and row.expires_at > now


async def test_waiting_for_another_process_is_bounded(fake: FakeWeChat, engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(insert(wechat_tokens).values(app_id=APP_ID, token="", refreshing_until=datetime(2999, 1, 1)))
    wechat = client(fake.base_url, engine)
    wechat.tokens = AccessTokens(APP_ID, wechat.fetch_token, engine, wait_s=0.2)
    try:
        with pytest.raises(TokenUnavailable):
            await wechat.tokens.get()
        with pytest.raises(WeChatApiError):
            await wechat.send_text(OPENID, "你好")
    finally:
        await wechat.close()
    assert fake.token_requests == 0


async def test_a_failed_fetch_leaves_the_lease_to_others(fake: FakeWeChat, engine: Engine) -> None:
    wrong = client(fake.base_url, engine, secret="wrong")
    right = client(fake.base_url, engine)
    try:
        with pytest.raises(WeChatApiError):
            await wrong.send_text(OPENID, "一")
        await right.send_text(OPENID, "二")  # no lease waits: the failed fetch released it
    finally:
        await wrong.close()
        await right.close()
    assert fake.sent == [(OPENID, "二")]


def test_the_fake_runs_as_its_own_process_and_reports_what_it_got(tmp_path: Path) -> None:
    import subprocess
    import sys
    import urllib.request

    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "tests.fake_wechat", "--port", str(port)],
                               stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == f"fake wechat on http://127.0.0.1:{port}"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/fake/state", timeout=5) as answer:
            assert json.load(answer) == {"sent": [], "menus": [], "token_requests": 0}
    finally:
        process.terminate()
        process.wait(timeout=10)
    assert process.returncode == 0
