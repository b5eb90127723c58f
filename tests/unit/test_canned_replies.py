"""快捷回复 in service/canned_replies: checking, CRUD, search, who sees what, placeholders and rendering, the
defaults, and migration 0007."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from service.canned_replies.defaults import DEFAULT_REPLIES
from service.canned_replies.placeholders import (
    PLACEHOLDERS,
    PlaceholderError,
    marker,
    names_in,
    render,
    render_context,
)
from service.canned_replies.store import CannedReplies, ReplyDraft, Scope, scope_for
from service.clock import fixed_clock
from service.db import make_engine
from service.errors import InvalidInput, NotAllowed, NotFound
from service.migrate import upgrade

GROUPS = ("售前咨询", "售后服务", "物流", "投诉", "技术")
NOW = datetime(2026, 11, 21, 10, 0)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'canned.db'}")
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def replies(engine: Engine) -> CannedReplies:
    return CannedReplies(engine, GROUPS, fixed_clock(NOW))


# --- placeholders and rendering --------------------------------------------------------------


def test_names_in_lists_placeholders_and_refuses_unknown_ones_and_stray_braces() -> None:
    assert names_in("{customer_name}您好，订单{order_id}，{customer_name}") == ("customer_name", "order_id")
    assert names_in("没有占位符") == ()
    with pytest.raises(PlaceholderError, match=r"未知的占位符 \{ order_id \}"):
        names_in("{ order_id }")
    with pytest.raises(PlaceholderError, match=r"未知的占位符 \{phone\}.*\{customer_name\}"):
        names_in("您的手机号{phone}")
    with pytest.raises(PlaceholderError, match="未知的占位符"):
        names_in("{订单号}")
    for text in ("少了一半 {order_id", "多了 }", "{{order_id}}"):
        with pytest.raises(PlaceholderError):
            names_in(text)


SESSION = {"session_id": "s1", "group": "物流", "context": {
    "customer": {"id": "C001", "name": "张伟", "tier": "金卡会员", "phone": "138****8000"},
    "slots": {"order_id": "E202611010001", "waybill": "SF1234567890", "customer_id": "C001"}}}


def test_render_fills_values_from_the_session_and_marks_what_is_missing() -> None:
    context = render_context(SESSION, "小李")
    done = render("{customer_name}您好，我是{agent_name}。订单{order_id}（运单{waybill}）", context)
    assert done.text == "张伟您好，我是小李。订单E202611010001（运单SF1234567890）"
    assert done.missing == ()
    gap = render("退款{refund_id}处理中；{customer_tier}专享", context)
    assert gap.text == "退款【待填：退款单号】处理中；金卡会员专享"
    assert gap.missing == ("refund_id",) and marker("refund_id") == "【待填：退款单号】"


def test_an_anonymous_visitor_gets_markers_not_empty_words() -> None:
    visitor = render_context({"session_id": "s2", "context": {"customer": {}, "slots": {"order_id": ""}}}, "小王")
    done = render("{customer_name}您好，订单{order_id}", visitor)
    assert done.text == "【待填：客户姓名】您好，订单【待填：订单号】"
    assert done.missing == ("customer_name", "order_id")
    assert render("{customer_name}", render_context({}, "小王")).missing == ("customer_name",)


def test_filled_values_are_one_line_and_bounded() -> None:
    context = render_context({"context": {"customer": {"name": "张\n伟" + "长" * 100}}}, "")
    assert render("{customer_name}", context).text == "张 伟" + "长" * 57
    assert render("{agent_name}", context).missing == ("agent_name",)


def test_every_placeholder_reads_customer_slots_or_agent() -> None:
    assert {"customer_name", "order_id", "agent_name"} <= set(PLACEHOLDERS)
    assert {p.source.split(".")[0] for p in PLACEHOLDERS.values()} == {"customer", "slots", "agent"}


# --- checking and CRUD -----------------------------------------------------------------------


def test_create_update_delete_with_who_and_when(replies: CannedReplies) -> None:
    made = replies.create(ReplyDraft("  物流查询 ", " 订单{order_id}在路上 ", "Track", "物流"), "supervisor")
    assert (made.title, made.text, made.shortcut, made.group) == ("物流查询", "订单{order_id}在路上", "track", "物流")
    assert (made.created_by, made.created_at, made.updated_by) == ("supervisor", NOW, "supervisor")
    assert made.placeholders == ("order_id",)
    changed = replies.update(made.id, ReplyDraft("物流", "在路上了", None, None), "boss2")
    assert (changed.group, changed.shortcut, changed.updated_by, changed.created_by) == (None, None, "boss2",
                                                                                         "supervisor")
    replies.delete(made.id, "supervisor")
    with pytest.raises(NotFound):
        replies.get(made.id)
    with pytest.raises(NotFound):
        replies.delete(made.id, "supervisor")
    with pytest.raises(NotFound):
        replies.update(made.id, ReplyDraft("a", "b"), "supervisor")


@pytest.mark.parametrize(("draft", "field", "reason"), [
    (ReplyDraft(" ", "内容"), "title", "标题不能为空"),
    (ReplyDraft("长" * 31, "内容"), "title", "标题最多"),
    (ReplyDraft("标题", "内容", None, ""), "group", "没有技能组"),
    (ReplyDraft("标题", "  "), "text", "不能为空"),
    (ReplyDraft("标题", "字" * 1001), "text", "最多 1000"),
    (ReplyDraft("标题", "{phone}您好"), "text", "未知的占位符"),
    (ReplyDraft("标题", "内容", "有 空格"), "shortcut", "快捷码"),
    (ReplyDraft("标题", "内容", "a" * 17), "shortcut", "快捷码"),
    (ReplyDraft("标题", "内容", None, "财务"), "group", "没有技能组 财务"),
])
def test_bad_drafts_are_refused_with_a_reason(replies: CannedReplies, draft: ReplyDraft, field: str,
                                              reason: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        replies.create(draft, "supervisor")
    assert refused.value.field == field and reason in refused.value.reason
    assert replies.count() == 0


def test_the_openapi_text_pattern_says_what_check_says() -> None:
    import re

    from service.canned_replies.placeholders import TEXT_PATTERN

    samples = ["{order_id}", " 您好{customer_name} ", "{x}", "{", "}", "  ", "{ order_id }", "{{order_id}}",
               "a{order_id", "多行\n{agent_name}\n", "{订单号}", "\t{waybill}"]
    for text in samples:
        try:
            fine = bool(text.strip()) and names_in(text) is not None
        except PlaceholderError:
            fine = False
        assert bool(re.search(TEXT_PATTERN, text)) == fine, text


def test_a_title_is_kept_on_one_line(replies: CannedReplies) -> None:
    assert replies.create(ReplyDraft(" 两\n 行 ", "内容"), "s").title == "两 行"


def test_a_shortcut_is_unique_whatever_its_case(replies: CannedReplies) -> None:
    first = replies.create(ReplyDraft("问候", "您好", "hi"), "supervisor")
    with pytest.raises(NotAllowed) as taken:
        replies.create(ReplyDraft("问候2", "您好呀", "HI"), "supervisor")
    assert taken.value.code == "shortcut_taken" and "hi" in str(taken.value)
    other = replies.create(ReplyDraft("稍等", "请稍等"), "supervisor")
    with pytest.raises(NotAllowed):
        replies.update(other.id, ReplyDraft("稍等", "请稍等", "hi"), "supervisor")
    assert replies.update(first.id, ReplyDraft("问候", "您好！", "hi"), "supervisor").text == "您好！"
    replies.create(ReplyDraft("无快捷码", "一"), "supervisor")  # many without one
    replies.create(ReplyDraft("无快捷码2", "二", ""), "supervisor")


# --- search and who sees what ----------------------------------------------------------------


def test_search_matches_title_text_and_shortcut_best_first(replies: CannedReplies) -> None:
    text_only = replies.create(ReplyDraft("说明", "退货需要寄回原商品"), "s")
    title = replies.create(ReplyDraft("申请退货", "按提示操作", None, "售后服务"), "s")
    short = replies.create(ReplyDraft("流程", "在订单页操作", "tuihuo"), "s")
    replies.create(ReplyDraft("物流", "在路上", None, "物流"), "s")
    everything = Scope(None)
    assert [r.id for r in replies.search(everything, "退货")] == [title.id, text_only.id]
    assert [r.id for r in replies.search(everything, "TUI")] == [short.id]
    assert len(replies.search(everything)) == 4
    assert replies.search(everything, "100%") == [] and replies.search(everything, "_") == []
    assert [r.title for r in replies.search(Scope(frozenset({"物流"})))] == ["说明", "流程", "物流"]


def test_agents_see_their_groups_and_the_global_replies_supervisors_all() -> None:
    assert scope_for(GROUPS, (), True) == Scope(None)
    assert scope_for(GROUPS, (), True, "投诉") == Scope(frozenset({"投诉"}))
    assert scope_for(GROUPS, {"物流", "售前咨询"}, False) == Scope(frozenset({"物流", "售前咨询"}))
    assert scope_for(GROUPS, {"物流", "售前咨询"}, False, "物流") == Scope(frozenset({"物流"}))
    assert scope_for(GROUPS, set(), False) == Scope(frozenset())  # only the global ones
    with pytest.raises(NotAllowed) as refused:
        scope_for(GROUPS, {"物流"}, False, "技术")
    assert refused.value.code == "wrong_group"
    with pytest.raises(InvalidInput):
        scope_for(GROUPS, {"物流"}, True, "财务")


def test_an_agent_never_gets_another_groups_reply(replies: CannedReplies) -> None:
    replies.create(ReplyDraft("通用", "您好"), "s")
    replies.create(ReplyDraft("物流的", "在路上", None, "物流"), "s")
    replies.create(ReplyDraft("技术的", "请重启", None, "技术"), "s")
    logistics_agent = scope_for(GROUPS, {"物流", "售前咨询"}, False)
    assert {r.title for r in replies.search(logistics_agent)} == {"通用", "物流的"}
    assert {r.title for r in replies.search(logistics_agent, "重启")} == set()


# --- defaults --------------------------------------------------------------------------------


def test_defaults_are_seeded_once_on_an_empty_table(replies: CannedReplies) -> None:
    added = replies.seed(DEFAULT_REPLIES)
    assert added == len(DEFAULT_REPLIES) == replies.count()
    titles = [r.title for r in replies.search(Scope(None))]
    assert titles[:4] == ["问候", "稍等", "致谢", "结束前"]  # the console's former chips come first
    assert {r.group for r in replies.search(Scope(None))} == {None, *GROUPS}
    assert all(len(r.placeholders) == r.text.count("{") for r in replies.search(Scope(None)))
    assert replies.seed(DEFAULT_REPLIES) == 0
    hello = next(r for r in replies.search(Scope(None), "hi") if r.title == "问候")
    assert render(hello.text, render_context(SESSION, "小李")).text == "您好，我是客服小李，很高兴为您服务，请问有什么可以帮您？"


def test_defaults_skip_groups_handoff_yml_does_not_have(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'few.db'}")
    upgrade(engine)
    fewer = CannedReplies(engine, ("物流",), fixed_clock(NOW))
    assert fewer.seed(DEFAULT_REPLIES) > 0
    assert {r.group for r in fewer.search(Scope(None))} == {None, "物流"}
    engine.dispose()


# --- migration -------------------------------------------------------------------------------


def test_migration_0007_matches_the_schema_and_downgrades(tmp_path: Path) -> None:
    from alembic import command
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlalchemy import inspect

    import service.canned_replies.schema  # noqa: F401  (registers the table on the shared metadata)
    from service.migrate import alembic_config
    from service.tickets.schema import metadata

    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    upgrade(engine)
    assert "canned_replies" in inspect(engine).get_table_names()
    with engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), metadata)
    assert [d for d in diffs if "canned_replies" in repr(d)] == []
    with engine.connect() as conn:
        command.downgrade(alembic_config(conn), "0006")
        conn.commit()
    assert "canned_replies" not in inspect(engine).get_table_names()
    upgrade(engine)
    assert "canned_replies" in inspect(engine).get_table_names()
    engine.dispose()
