"""Exporting reviewed inbox items as Rasa NLU YAML: deduplicated, masked, new intents flagged, batches marked; and the
file passes `make validate`'s checks (scripts/validate_data.py) in a copy of the project's data (tests/review_validation.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from service.errors import NotAllowed, NotFound
from service.review.export import example_text, render_export
from service.review.inbox import CONFIRMED, CORRECTED, DISCARDED, LOW_CONFIDENCE, InboxQuery, NewItem
from service.review.intents import load_training_data
from service.review.service import ReviewService
from tests.review_conversations import DAY, ID_NUMBER, NAME, PHONE
from tests.review_validation import assert_export_validates
from tests.unit.desk_fixtures import review_service

pytestmark = pytest.mark.usefixtures("restore_log_record_factory")


@pytest.fixture
async def review(tmp_path: Path) -> ReviewService:
    review = await review_service(tmp_path)
    review.scan()
    return review


def reviewed(review: ReviewService, verdicts: list[tuple[str, str | None]]) -> None:
    for item, (status, intent) in zip(review.inbox.search(InboxQuery()).items, verdicts, strict=True):
        review.inbox.review(item.id, status, intent, "supervisor")


def nlu_of(text: str) -> dict[str, list[str]]:
    content = yaml.safe_load(text)
    assert content["version"] == "3.1"
    return {block["intent"]: [line[2:] for line in block["examples"].splitlines()] for block in content["nlu"]}


def test_the_export_holds_the_reviewed_items_masked_and_marks_them(review: ReviewService) -> None:
    reviewed(review, [(CORRECTED, "query_logistics"), (CONFIRMED, None), (DISCARDED, None)])
    export = review.export()
    assert nlu_of(export.text) == {
        "query_logistics": ["我是某某，手机138****8000，身份证330106********4，东西咋还没到"],
        "urge_delivery": ["我手机号138****8000，能不能快点"]}
    assert PHONE not in export.text and ID_NUMBER not in export.text and NAME not in export.text
    assert (export.batch, export.filename, export.new_intents) == ("20261121-100000", "review_20261121-100000.yml", ())
    items = review.inbox.search(InboxQuery(exported=True)).items
    assert {i.batch for i in items} == {export.batch} and len(items) == 2
    with pytest.raises(NotAllowed) as refused:
        review.export()  # nothing new
    assert refused.value.code == "nothing_to_export"
    assert review.export(export.batch).text == export.text  # an earlier batch again
    with pytest.raises(NotFound):
        review.export("20200101-000000")
    with pytest.raises(NotAllowed) as refused:
        review.inbox.review(items[0].id, DISCARDED, None, "supervisor")
    assert refused.value.code == "already_exported"


def test_a_new_intent_is_flagged(review: ReviewService) -> None:
    reviewed(review, [(DISCARDED, None), (DISCARDED, None), (CORRECTED, "ask_company_info")])
    export = review.export()
    assert export.new_intents == ("ask_company_info",)
    assert "# 新意图 ask_company_info：需要先在 domain.yml 中登记" in export.text
    assert nlu_of(export.text) == {"ask_company_info": ["你们老板是谁"]}


def test_duplicates_known_examples_and_rasa_syntax(review: ReviewService) -> None:
    training = load_training_data()
    assert "query_logistics" in training.intents and "faq/shipping_fee" in training.intents
    assert "faq" not in training.intents and not any(i.startswith("EXTERNAL_") for i in training.intents)
    known = next(text for text, intent in training.examples.items() if intent == "faq/shipping_fee")
    texts = ["快递 [到哪]了 {x}", "快递 [到哪]了 {x}", "这个到底行不行", known, "这个到底行不行", "行\t不\u3000行\x00"]
    review.inbox.add([NewItem(1000 + n, "web-x", text, "inform", 0.4, LOW_CONFIDENCE, DAY) for n, text in enumerate(texts)])
    items = review.inbox.search(InboxQuery(source=LOW_CONFIDENCE, page_size=100)).items
    chosen = {1000: "query_logistics", 1001: "query_logistics", 1002: "complaint", 1003: "inform", 1004: "affirm",
              1005: "affirm"}
    for item in items:
        if item.event_id in chosen:
            review.inbox.review(item.id, CORRECTED, chosen[item.event_id], "supervisor")
    export = render_export(review.inbox.to_export(), training, "b", DAY)
    assert nlu_of(export.text) == {"query_logistics": ["快递 ［到哪］了 ｛x｝"], "affirm": ["这个到底行不行", "行 不 行"]}
    assert (export.skipped_known, export.conflicts, export.examples) == (1, 1, 3)
    assert len(export.item_ids) == 6  # all marked, the duplicates too
    assert example_text(" a\nb ") == "a b"


@pytest.mark.slow
def test_the_export_validates_in_a_copy_of_the_project(review: ReviewService, tmp_path: Path) -> None:
    """25 s on a quiet machine, 95 s on a busy 2-CPU one: Rasa's importer and validator as `make validate` runs them,
    with and without the export, side by side."""
    reviewed(review, [(CORRECTED, "query_logistics"), (CONFIRMED, None), (CORRECTED, "out_of_scope")])
    export = review.export()
    assert_export_validates(export.filename, export.text, tmp_path)
