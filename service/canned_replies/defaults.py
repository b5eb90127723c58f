"""The replies an embedded desk starts with (on an empty table): the console's four old chips for every group, and a
few per skill group of handoff.yml. Supervisors change or delete them in 设置 › 快捷回复."""

from __future__ import annotations

from service.canned_replies.store import ReplyDraft

DEFAULT_REPLIES: tuple[ReplyDraft, ...] = (
    # every group (the console's former hard-coded chips)
    ReplyDraft("问候", "您好，我是客服{agent_name}，很高兴为您服务，请问有什么可以帮您？", "hi"),
    ReplyDraft("稍等", "好的，我这边马上为您查询，请稍等。", "wait"),
    ReplyDraft("致谢", "感谢您的耐心等待。", "thanks"),
    ReplyDraft("结束前", "请问还有其他可以帮您的吗？", "more"),
    ReplyDraft("称呼问候", "{customer_name}您好，我是客服{agent_name}，已经看到您之前和机器人的对话了，我来继续帮您处理。",
               "hello"),
    ReplyDraft("结束语", "感谢您的咨询，祝您生活愉快！如后续还有问题，随时联系我们。", "bye"),
    # 售前咨询
    ReplyDraft("库存充足", "您咨询的{product}目前库存充足，今天下单一般 48 小时内发货。", "stock", "售前咨询"),
    ReplyDraft("价保说明", "我们支持 7 天价格保护：下单后 7 天内商品降价，可以申请退还差价，在订单详情页点击“申请价保”即可。",
               "price", "售前咨询"),
    ReplyDraft("优惠叠加", "店铺优惠券可以和平台满减一起使用，结算页会自动为您选择最优的组合。", "coupon", "售前咨询"),
    # 售后服务
    ReplyDraft("退货流程", "{customer_name}您好，订单{order_id}签收 7 天内支持无理由退货：在订单详情点击“申请退货”，"
               "填写原因后按提示寄回即可，运费险会自动理赔。", "return", "售后服务"),
    ReplyDraft("退款进度", "您的退款{refund_id}正在处理中，审核通过后原路退回，一般 1–3 个工作日到账，请留意账户变动。",
               "refund", "售后服务"),
    ReplyDraft("换货说明", "换货需要先寄回原商品，仓库签收检验后 24 小时内为您寄出新的商品，寄回的运费由我们承担。",
               "exchange", "售后服务"),
    ReplyDraft("发票开具", "订单{order_id}的电子发票会在确认收货后 24 小时内开具，届时可在订单详情页下载。",
               "invoice", "售后服务"),
    # 物流
    ReplyDraft("物流查询", "我查到订单{order_id}的快件（运单号{waybill}）正在运输途中，有最新进展会第一时间通知您。",
               "track", "物流"),
    ReplyDraft("催件", "非常理解您着急的心情，我这边已经联系快递加急处理，有结果会马上告诉您。", "urge", "物流"),
    ReplyDraft("修改地址", "订单{order_id}还没有发货的话可以修改地址，麻烦您把新的收货地址发给我，我马上为您修改。",
               "address", "物流"),
    # 投诉
    ReplyDraft("致歉安抚", "{customer_name}您好，非常抱歉给您带来了不好的体验，您反映的问题我已经详细记录，一定会认真处理。",
               "sorry", "投诉"),
    ReplyDraft("跟进承诺", "您的问题已经登记为工单{ticket_id}，专人会在 24 小时内联系您，处理进展我们也会及时同步给您。",
               "follow", "投诉"),
    ReplyDraft("补偿说明", "为表歉意，我们为您申请了一张无门槛优惠券，稍后会发放到您的账户，请注意查收。", "comp", "投诉"),
    # 技术
    ReplyDraft("故障排查", "麻烦您先将设备断电重启一次，如果问题依旧，请告诉我设备上显示的提示或故障现象，我帮您进一步排查。",
               "reboot", "技术"),
    ReplyDraft("报修登记", "已为您登记{product}的报修，工单号{ticket_id}，售后工程师会在 1 个工作日内联系您预约上门时间。",
               "repair", "技术"),
    ReplyDraft("保修政策", "商品在保修期内出现非人为的质量问题，可以享受免费维修，请保留好购买凭证。", "warranty", "技术"),
)
