"""The Chinese names the agents' console shows for handoff reasons, intents and statuses (GET /api/handoff/meta)."""

from __future__ import annotations

from handoff.queueing import AGENT_STATUSES
from handoff.records import ABANDONED, ASSIGNED, ENDED, QUEUED, TIMED_OUT

REASONS: dict[str, str] = {
    "request_human": "客户要求人工", "fallback": "机器人连续两次没听懂", "complaint": "客户投诉",
    "angry": "客户情绪激动", "vip_unsolved": "VIP 客户问题未解决", "always_human": "按规定由人工处理",
}

INTENTS: dict[str, str] = {
    "greet": "问候", "goodbye": "再见", "thank": "感谢", "affirm": "肯定", "deny": "否定",
    "bot_challenge": "问是不是机器人", "request_human": "转人工", "query_order_status": "订单状态",
    "query_logistics": "查物流", "urge_delivery": "催发货", "change_address": "改地址", "cancel_order": "取消订单",
    "return_request": "退货", "exchange_request": "换货", "refund_status": "退款进度", "request_invoice": "开发票",
    "product_inquiry": "商品咨询", "price_protection": "价保", "complaint": "投诉", "repair_request": "维修",
    "query_ticket_status": "工单进度", "inform": "提供信息", "rate_service": "评价", "out_of_scope": "超出范围",
    "stop": "不办了", "switch_order": "换订单", "query_profile": "查会员", "register_issue": "登记问题",
    "add_ticket_info": "补充工单", "faq": "常见问题", "chitchat": "闲聊", "nlu_fallback": "没听懂",
}

SESSION_STATUSES: dict[str, str] = {
    QUEUED: "排队中", ASSIGNED: "接待中", ENDED: "已结束", ABANDONED: "客户已离开", TIMED_OUT: "排队超时",
}


def labelled(labels: dict[str, str]) -> list[dict[str, str]]:
    return [{"name": name, "label": label} for name, label in labels.items()]


def handoff_meta(groups: list[str]) -> dict[str, object]:
    """What the console needs to name things: skill groups, reasons, intents, agent and session statuses."""
    return {"groups": groups, "reasons": labelled(REASONS), "intents": labelled(INTENTS),
            "statuses": list(AGENT_STATUSES), "session_statuses": labelled(SESSION_STATUSES)}
