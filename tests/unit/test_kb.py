"""Agent assist's knowledge base on a small fixture corpus: the three sources, masking, ranking, build and refresh."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy.engine import Engine

from handoff.records import HandoffRecords
from service.clock import CST, Clock
from service.db import make_engine
from service.errors import NotAllowed
from service.kb.access import check_session_access, latest_customer_message
from service.kb.assist import BUILDING, FAILED, READY, Assist, KnowledgeSources, NotReady, shared_tokenizer
from service.kb.faq import example_text, faq_units, load_faq
from service.kb.index import Blend, BuildTimeout, KnowledgeIndex, VectorCache
from service.kb.past_replies import PastReplies, mask
from service.kb.policy_docs import load_policy_docs, section_units
from service.kb.units import KnowledgeUnit, Source
from service.migrate import upgrade
from service.settings import PROJECT_ROOT

NLU = """version: "3.1"
nlu:
- intent: faq/seven_day_return
  examples: |
    - 支持7天无理由退货吗
    - 七天无理由怎么算
- intent: faq/shipping_fee
  examples: |
    - 包邮吗
    - [新疆](city)包邮吗
- intent: greet
  examples: |
    - 你好
responses:
  utter_faq/seven_day_return:
  - text: "签收次日起7天内，商品完好的，可以申请7天无理由退货。"
  utter_faq/shipping_fee:
  - text: "单笔订单实付满99元包邮，不满99元收取8元运费。"
"""
DOC = """# 发票开具说明

## 发票类型 {#types}
默认开具电子普通发票。企业如需增值税专用发票，请提供企业名称和税号。

## 开票期限 {#deadline}
订单完成后180天内都可以申请开票，超过180天就无法补开了。

## 没有锚点的小节
换开发票请在订单详情里申请。
"""
NAME, PHONE = "张伟", "13800138000"


class CharEncoder:
    """A stand-in for the sentence encoder: a unit vector of character counts (similar text, similar vector)."""

    def __init__(self) -> None:
        self.encoded: list[str] = []

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        self.encoded.extend(texts)
        vectors = np.zeros((len(texts), 512), dtype=np.float32)
        for row, text in enumerate(texts):
            for char in text:
                vectors[row, ord(char) % 512] += 1.0
            vectors[row] /= max(float(np.linalg.norm(vectors[row])), 1e-9)
        return vectors


@pytest.fixture
def corpus(tmp_path: Path) -> KnowledgeSources:
    (tmp_path / "nlu").mkdir()
    (tmp_path / "nlu" / "faq.yml").write_text(NLU, encoding="utf-8")
    (tmp_path / "kb").mkdir()
    (tmp_path / "kb" / "invoices.md").write_text(DOC, encoding="utf-8")
    reply = KnowledgeUnit("reply/7", Source.REPLY, "冰箱不制冷了怎么办",
                          "您好，冰箱不制冷可以申请上门维修，工程师会先电话联系您。", ("冰箱不制冷了怎么办",))
    return KnowledgeSources(tmp_path / "nlu", tmp_path / "kb", past_replies=lambda: [reply])


# --- the sources ------------------------------------------------------------------------------------


def test_faq_units_take_the_answer_and_every_example_as_questions() -> None:
    units = {u.id: u for u in faq_units([{"nlu": [{"intent": "faq/shipping_fee", "examples": "- 包邮吗\n- [新疆](city)包邮吗\n"},
                                                  {"intent": "greet", "examples": "- 你好\n"}],
                                          "responses": {"utter_faq/shipping_fee": [{"text": "满99元包邮"}],
                                                        "utter_greet": [{"text": "您好"}]}}])}
    assert list(units) == ["faq/shipping_fee"]
    unit = units["faq/shipping_fee"]
    assert (unit.source, unit.title, unit.text, unit.questions) == (Source.FAQ, "包邮吗", "满99元包邮", ("包邮吗", "新疆包邮吗"))
    assert example_text('[蓝牙耳机 X1]{"entity": "product"}保修多久') == "蓝牙耳机 X1保修多久"


def test_the_projects_faq_and_policy_documents_load() -> None:
    faq = load_faq(PROJECT_ROOT / "data" / "nlu")
    docs = load_policy_docs(PROJECT_ROOT / "docs" / "kb")
    assert {"faq/seven_day_return", "faq/invoice_policy", "faq/warranty_policy"} <= {u.id for u in faq}
    assert all(u.questions and u.text for u in faq)
    documents = {u.id.split("#")[0] for u in docs}
    assert {"kb/returns", "kb/refunds", "kb/invoices", "kb/price_protection", "kb/delivery", "kb/repairs",
            "kb/membership", "kb/exchanges", "kb/installation"} <= documents
    assert len({u.id for u in docs}) == len(docs)  # anchors unique


def test_policy_documents_split_into_titled_sections() -> None:
    units = section_units("invoices", DOC)
    assert [u.id for u in units] == ["kb/invoices#types", "kb/invoices#deadline", "kb/invoices#s3"]
    assert units[0].title == "发票开具说明 · 发票类型"
    assert units[1].text == "订单完成后180天内都可以申请开票，超过180天就无法补开了。"
    assert all(u.source is Source.POLICY for u in units)
    assert "开票期限" not in units[0].text  # a section ends at the next heading


def _records(tmp_path: Path) -> tuple[Engine, HandoffRecords]:
    engine = make_engine(f"sqlite:///{tmp_path / 'kb.db'}")
    upgrade(engine)
    return engine, HandoffRecords(engine, Clock(source=lambda: datetime(2026, 11, 21, 10, 0, tzinfo=CST)))


def _handoff(records: HandoffRecords, lines: list[tuple[str, str]], rating: int | None) -> str:
    session = records.open_session(sender_id=f"web-{rating}-{len(lines)}", channel="rest", customer_id="C001",
                                   reason="request_human", skill_group="售后", priority=1, summary="",
                                   context={"customer": {"id": "C001", "name": NAME, "phone": PHONE}})
    records.assign(session.id, "agent1", "pick", "agent1")
    for direction, text in lines:
        records.add_message(session.id, direction, "agent1" if direction == "agent" else "customer", text)
    records.close(session.id, "ended", "agent")
    if rating is not None:
        records.rate(session.id, rating)
    return session.id


def test_past_replies_come_from_well_rated_handoffs_masked(tmp_path: Path) -> None:
    engine, records = _records(tmp_path)
    _handoff(records, [("customer", f"我是{NAME}，电话{PHONE}，订单E202611010001的耳机左耳没声音"),
                       ("agent", f"{NAME}您好，耳机在保修期内，我为您登记了免费维修，工程师会打{PHONE}联系您。"),
                       ("agent", "还有别的问题吗？请随时告诉我。"),  # no customer message since the last reply
                       ("customer", "好"), ("agent", "好的")], rating=5)  # too short to answer anything
    _handoff(records, [("customer", "冰箱不制冷"), ("agent", "这个问题需要工程师上门检测，请耐心等待。")], rating=2)
    _handoff(records, [("customer", "发票怎么开"), ("agent", "订单详情里点申请开票就可以了，1–3个工作日发到邮箱。")],
             rating=None)
    units = PastReplies(engine).load()
    engine.dispose()
    assert len(units) == 1
    [unit] = units
    assert unit.source is Source.REPLY and unit.id.startswith("reply/")
    assert PHONE not in unit.text + unit.title and NAME not in unit.text + unit.title
    assert "138****8000" in unit.text and "张*" in unit.text
    assert "E202611010001" not in unit.title and "〔订单号〕" in unit.title
    assert unit.questions == (unit.title,)
    assert "耳机左耳没声音" in unit.title


def test_mask_covers_phones_names_addresses_and_the_customers_numbers() -> None:
    masked = mask("张伟住浙江省杭州市西湖区文三路100号，退款R202611130001，工单T2026112100001，单号SF1234567890",
                  ["张伟"])
    assert masked == "张*住浙江省杭州市西湖区****，退款〔退款单号〕，工单〔工单号〕，单号〔快递单号〕"


# --- the index ----------------------------------------------------------------------------------------


def test_bm25_finds_the_unit_and_every_source_is_searched(corpus: KnowledgeSources) -> None:
    units = [*corpus.documents(), *corpus.past_replies()]
    assert {u.source for u in units} == {Source.FAQ, Source.POLICY, Source.REPLY}
    index = KnowledgeIndex.build(units, shared_tokenizer())
    assert not index.reranks
    assert index.search("买的衣服能7天无理由退吗")[0].unit.id == "faq/seven_day_return"
    assert index.search("专票需要提供什么")[0].unit.id == "kb/invoices#types"
    assert index.search("冰箱不制冷")[0].unit.id == "reply/7"
    found = index.search("开票期限和运费", k=2)
    assert len(found) == 2 and found[0].score == 1.0 and 0 < found[1].score <= 1.0
    assert index.search("的了吗") == []  # only function words: nothing to search


def test_the_encoder_reranks_bm25s_candidates(corpus: KnowledgeSources) -> None:
    units = [KnowledgeUnit("a", Source.POLICY, "运费", "运费 运费 运费 满99元包邮"),
             KnowledgeUnit("b", Source.POLICY, "退货运费", "退货运费谁出：质量问题商城出")]
    encoder = CharEncoder()
    lexical = KnowledgeIndex.build(units, shared_tokenizer(), blend=Blend(bm25=1.0, cosine=0.0))
    query = "退货运费谁出"
    reranked = KnowledgeIndex.build(units, shared_tokenizer(), encoder, VectorCache(), Blend(bm25=0.0, cosine=1.0))
    assert [s.unit.id for s in reranked.search(query, 2)] == ["b", "a"]
    assert reranked.search(query, 1, rerank=False)[0].unit.id == lexical.search(query, 1)[0].unit.id
    only_bm25_candidates = KnowledgeIndex.build(units, shared_tokenizer(), encoder, VectorCache(),
                                                Blend(bm25=0.0, cosine=1.0, candidates=1))
    assert len(only_bm25_candidates.search(query, 3)) == 1  # the encoder re-ranks, it does not add


def test_vectors_are_cached_across_builds_and_a_build_can_be_cut_short() -> None:
    encoder, cache = CharEncoder(), VectorCache()
    units = [KnowledgeUnit(f"u{i}", Source.POLICY, f"标题{i}", f"内容{i}") for i in range(3)]
    KnowledgeIndex.build(units, shared_tokenizer(), encoder, cache)
    first = len(encoder.encoded)
    KnowledgeIndex.build([*units, KnowledgeUnit("u9", Source.POLICY, "新标题", "新内容")], shared_tokenizer(), encoder, cache)
    assert encoder.encoded[first:] == ["新标题", "新标题\n新内容", "新内容"]  # only the new unit's passages
    with pytest.raises(BuildTimeout):
        KnowledgeIndex.build([KnowledgeUnit("x", Source.POLICY, "没见过", "的内容")], shared_tokenizer(), encoder,
                             VectorCache(), keep_going=lambda: False)


# --- Assist: build in a thread, refresh, failures ----------------------------------------------------------


def test_assist_is_not_ready_until_built_then_answers(corpus: KnowledgeSources) -> None:
    release = threading.Event()
    replies = corpus.past_replies

    def slow_replies() -> list[KnowledgeUnit]:
        release.wait(5)
        return replies()

    assist = Assist(KnowledgeSources(corpus.nlu_dir, corpus.kb_dir, slow_replies), shared_tokenizer(), CharEncoder())
    assist.start()
    assert assist.state == BUILDING
    with pytest.raises(NotReady, match="正在建立"):
        assist.suggest("包邮吗")
    release.set()
    assert assist.wait(10) and assist.state == READY
    [first, *_] = assist.suggest("新疆包邮吗")
    assert first.unit.id == "faq/shipping_fee"
    assert assist.index is not None and assist.index.reranks


def test_refresh_rebuilds_only_when_past_replies_changed(corpus: KnowledgeSources) -> None:
    replies: list[KnowledgeUnit] = []
    assist = Assist(KnowledgeSources(corpus.nlu_dir, corpus.kb_dir, lambda: list(replies)), shared_tokenizer(),
                    CharEncoder())
    assert assist.refresh() is False  # not built yet
    assist.build()
    assert assist.refresh() is False
    replies.append(KnowledgeUnit("reply/9", Source.REPLY, "洗衣机漏水", "洗衣机漏水请先关闭水龙头，我们安排师傅上门。",
                                 ("洗衣机漏水",)))
    assert assist.refresh() is True
    assert assist.suggest("洗衣机漏水了")[0].unit.id == "reply/9"


def test_a_failed_build_says_why_and_a_timeout_falls_back_to_bm25(corpus: KnowledgeSources) -> None:
    def broken() -> list[KnowledgeUnit]:
        raise RuntimeError("database down")

    failing = Assist(KnowledgeSources(corpus.nlu_dir, corpus.kb_dir, broken), shared_tokenizer(), CharEncoder())
    failing.start()
    assert failing.wait(10) and failing.state == FAILED
    with pytest.raises(NotReady, match="失败"):
        failing.suggest("包邮吗")
    now, step = [0.0], [1.0]  # every look at the clock: a second later

    def clock() -> float:
        now[0] += step[0]
        return now[0]

    late = Assist(corpus, shared_tokenizer(), CharEncoder(), build_timeout_s=0.5, vectors=VectorCache(), clock=clock)
    late.build()
    assert late.state == READY and late.index is not None and not late.index.reranks
    assert late.suggest("包邮吗")[0].unit.id == "faq/shipping_fee"
    step[0] = 0.0  # the next refresh has time: it encodes what the build left out, though no reply changed
    assert late.refresh() is True and late.index is not None and late.index.reranks


def test_stopping_a_build_leaves_no_index(corpus: KnowledgeSources) -> None:
    assist = Assist(corpus, shared_tokenizer(), CharEncoder(), vectors=VectorCache())
    assist.stop()
    assist.start()
    assert assist.wait(10) is False and assist.state == BUILDING  # stopped before its first encoding


# --- who may ask for a session ---------------------------------------------------------------------------


def test_agents_only_for_sessions_they_hold_supervisors_for_any(tmp_path: Path) -> None:
    engine, records = _records(tmp_path)
    session = records.open_session(sender_id="web-1", channel="rest", customer_id=None, reason="request_human",
                                   skill_group="售后", priority=1, summary="", context={})
    with pytest.raises(NotAllowed):
        check_session_access("agent1", False, session)  # queued: nobody holds it
    check_session_access("supervisor", True, session)
    held = records.assign(session.id, "agent1", "pick", "agent1")
    check_session_access("agent1", False, held)
    with pytest.raises(NotAllowed):
        check_session_access("agent2", False, held)
    with pytest.raises(NotAllowed):
        check_session_access("agent1", False, records.close(session.id, "ended", "agent"))
    records.add_message(session.id, "customer", "c", "第一句")
    records.add_message(session.id, "agent", "agent1", "回复")
    records.add_message(session.id, "customer", "c", "发票怎么开")
    records.add_message(session.id, "system", "", "系统提示")
    assert latest_customer_message(records.messages(session.id)) == "发票怎么开"
    assert latest_customer_message([]) == ""
    engine.dispose()
