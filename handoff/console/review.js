/* 会话审阅 (#view-review): 会话记录 (search and transcripts) and 训练数据 (the inbox and its YAML export).
   Talks to /api/review/* through window.XZ (console.js); builds every node with XZ.h, so data never becomes markup.
   The 质检 pane (#review-quality) belongs to another module: this one only switches to it. */
(() => {
  "use strict";

  const XZ = window.XZ;
  if (!XZ) return;
  const h = XZ.h;
  const $ = (id) => document.getElementById(id);

  const CHANNELS = { socketio: "网页", wechat: "微信", app: "App", rest: "REST" };
  const SOURCES = { fallback: "兜底", low_confidence: "低置信度", marked: "人工标记" };
  const STATUSES = { new: "待处理", confirmed: "已确认", corrected: "已改正", discarded: "已丢弃" };
  const PAGE_SIZE = 20;

  const state = { tab: "conversations", query: {}, page: 1, open: null, inboxStatus: "new", inboxSource: "",
    intents: [], threshold: 0.6, loaded: new Set() };

  // --- small helpers ------------------------------------------------------------------------
  const when = (at) => (typeof at === "string" && at.length >= 16 ? `${at.slice(5, 10)} ${at.slice(11, 16)}` : "");
  const percent = (value) => (typeof value === "number" ? `${Math.round(value * 100)}%` : "—");

  function fail(error) {
    XZ.toast(error && error.message ? error.message : "操作失败", "error");
  }

  function confidenceBar(value, threshold) {
    const bar = h("span", { class: "rv-bar", role: "meter", "aria-valuemin": "0", "aria-valuemax": "1",
      "aria-valuenow": typeof value === "number" ? value.toFixed(2) : "0", "aria-label": `置信度 ${percent(value)}` });
    const fill = h("span", { class: "rv-bar-fill" });
    fill.style.width = `${Math.max(0, Math.min(1, Number(value) || 0)) * 100}%`;
    if (typeof value === "number" && value < threshold) fill.classList.add("rv-bar-low");
    bar.append(fill);
    return h("span", { class: "rv-confidence" }, bar, h("span", { class: "rv-bar-text", text: percent(value) }));
  }

  function intentBadge(intent, { fallback, low } = {}) {
    const kind = fallback ? "rv-intent-fallback" : low ? "rv-intent-low" : "";
    return h("span", { class: `rv-intent ${kind}`, title: fallback ? "未识别（兜底）" : low ? "置信度低" : "意图",
      text: intent || "（无）" });
  }

  function query(params) {
    const search = new URLSearchParams();
    for (const [key, value] of Object.entries(params)) if (value !== "" && value !== undefined && value !== null) search.set(key, value);
    const text = search.toString();
    return text ? `?${text}` : "";
  }

  // --- sub-tabs -----------------------------------------------------------------------------
  function tabs() {
    return [...document.querySelectorAll("#review-tabs [data-review-tab]")];
  }

  function renderTabs() {
    const role = XZ.me().role;
    for (const tab of tabs()) {
      const roles = (tab.dataset.roles || "").split(",").filter(Boolean);
      tab.hidden = roles.length > 0 && !roles.includes(role);
    }
    if (tabs().find((t) => t.dataset.reviewTab === state.tab)?.hidden) state.tab = "conversations";
  }

  function showTab(name) {
    state.tab = name;
    renderTabs();
    for (const tab of tabs()) tab.setAttribute("aria-selected", String(tab.dataset.reviewTab === state.tab));
    for (const pane of ["conversations", "inbox", "quality"]) {
      const node = $(`review-${pane}`);
      if (node) node.hidden = pane !== state.tab;
    }
    if (!state.loaded.has(state.tab)) {
      state.loaded.add(state.tab);
      if (state.tab === "conversations") buildConversations();
      if (state.tab === "inbox") buildInbox();
    }
  }

  // --- 会话记录 -------------------------------------------------------------------------------
  function field(label, control) {
    return h("label", { class: "rv-field" }, h("span", { class: "rv-label", text: label }), control);
  }

  function buildConversations() {
    const pane = $("review-conversations");
    const channel = h("select", { id: "rv-channel", name: "channel" }, h("option", { value: "", text: "全部渠道" }),
      ...Object.entries(CHANNELS).map(([value, text]) => h("option", { value, text })));
    const rating = h("select", { id: "rv-rating", name: "rating" }, h("option", { value: "", text: "全部评分" }),
      ...[1, 2, 3, 4, 5].map((n) => h("option", { value: String(n), text: `${n} 分` })));
    const form = h("form", { id: "rv-search", class: "rv-toolbar", role: "search", "aria-label": "搜索会话" },
      field("客户编号", h("input", { id: "rv-customer", name: "customer_id", maxlength: "16", placeholder: "如 C001", autocomplete: "off" })),
      field("开始日期", h("input", { id: "rv-since", name: "since", type: "date" })),
      field("结束日期", h("input", { id: "rv-until", name: "until", type: "date" })),
      field("意图", h("input", { id: "rv-intent", name: "intent", maxlength: "80", placeholder: "如 nlu_fallback", list: "rv-intents", autocomplete: "off" })),
      field("评分", rating), field("渠道", channel),
      h("button", { type: "submit", class: "btn btn-primary", text: "查询" }));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const data = new FormData(form);
      state.query = Object.fromEntries([...data.entries()].map(([k, v]) => [k, String(v).trim()]));
      state.page = 1;
      loadConversations();
    });
    pane.replaceChildren(
      form,
      h("div", { class: "rv-split" },
        h("section", { class: "rv-card rv-results", "aria-labelledby": "rv-results-title" },
          h("h3", { id: "rv-results-title", class: "rv-card-title", text: "会话" }),
          h("div", { id: "rv-results" }), h("div", { id: "rv-pager", class: "rv-pager" })),
        h("section", { id: "rv-transcript", class: "rv-card rv-transcript", "aria-label": "会话详情" },
          h("p", { class: "empty-note", text: "选择左侧的会话查看详情" }))));
    if (!$("rv-intents")) pane.append(h("datalist", { id: "rv-intents" }));
    loadConversations();
  }

  async function loadConversations() {
    const box = $("rv-results");
    if (!box) return;
    try {
      const page = await XZ.api(`/api/review/conversations${query({ ...state.query, page: state.page, page_size: PAGE_SIZE })}`);
      renderResults(page);
    } catch (error) {
      fail(error);
    }
  }

  function ratingText(ratings) {
    return (ratings || []).map((r) => `${r.score}分`).join(" ") || "—";
  }

  function renderResults(page) {
    const box = $("rv-results");
    if (!page.items.length) {
      box.replaceChildren(h("p", { class: "empty-note", text: "没有符合条件的会话" }));
    } else {
      const rows = page.items.map((item) => h("tr", {
        class: state.open === item.conversation ? "rv-row rv-row-open" : "rv-row", tabindex: "0",
        dataset: { conversation: item.conversation },
        onclick: () => openConversation(item.conversation),
        onkeydown: (event) => { if (event.key === "Enter") openConversation(item.conversation); },
      },
      h("td", {}, h("code", { text: item.conversation })),
      h("td", { text: item.customer_id || "匿名" }),
      h("td", { text: when(item.last_at) }),
      h("td", { class: "rv-num", text: String(item.messages) }),
      h("td", {}, ...item.intents.slice(0, 3).map((i) => intentBadge(i, { fallback: i === "nlu_fallback" }))),
      h("td", { text: item.channels.map((c) => CHANNELS[c] || c).join("、") }),
      h("td", { class: "rv-num", text: String(item.fallbacks) }),
      h("td", { text: ratingText(item.ratings) })));
      box.replaceChildren(h("table", { class: "rv-table" },
        h("thead", {}, h("tr", {}, ...["会话", "客户", "最近消息", "消息数", "意图", "渠道", "兜底", "评分"].map((t) => h("th", { scope: "col", text: t })))),
        h("tbody", {}, ...rows)));
    }
    const pages = Math.max(1, Math.ceil(page.total / page.page_size));
    $("rv-pager").replaceChildren(
      h("span", { class: "hint", text: `共 ${page.total} 个会话${page.truncated ? "（结果过多，请缩小范围）" : ""}` }),
      h("button", { type: "button", class: "btn btn-small btn-secondary", text: "上一页", disabled: state.page <= 1,
        onclick: () => { state.page -= 1; loadConversations(); } }),
      h("span", { class: "hint", text: `${state.page} / ${pages}` }),
      h("button", { type: "button", class: "btn btn-small btn-secondary", text: "下一页", disabled: state.page >= pages,
        onclick: () => { state.page += 1; loadConversations(); } }));
  }

  async function openConversation(conversation) {
    state.open = conversation;
    for (const row of document.querySelectorAll("#rv-results .rv-row")) {
      row.classList.toggle("rv-row-open", row.dataset.conversation === conversation);
    }
    try {
      renderTranscript(await XZ.api(`/api/review/conversations/${encodeURIComponent(conversation)}`));
    } catch (error) {
      fail(error);
    }
  }

  function entities(list) {
    if (!list || !list.length) return null;
    return h("span", { class: "rv-entities" }, ...list.map((e) => h("span", { class: "rv-entity", title: e.extractor || "实体" },
      h("span", { class: "rv-entity-name", text: e.entity }), h("span", { text: e.value }))));
  }

  function customerEntry(entry, transcript) {
    const mark = h("button", { type: "button", class: "btn btn-small btn-secondary rv-mark", text: entry.in_inbox ? "已在训练数据" : "标记",
      disabled: entry.in_inbox, title: "把这条消息送到训练数据收件箱",
      onclick: () => markMessage(transcript.conversation, entry, mark) });
    const ranking = (entry.ranking || []).filter((r) => r.name !== entry.intent).slice(0, 2)
      .map((r) => `${r.name} ${percent(r.confidence)}`).join(" · ");
    return h("li", { class: "rv-entry rv-customer", dataset: { eventId: String(entry.event_id) } },
      h("div", { class: "rv-bubble" }, h("span", { class: "rv-who", text: "客户" }), h("p", { class: "rv-text", text: entry.text })),
      h("div", { class: "rv-nlu" },
        intentBadge(entry.intent, { fallback: entry.fallback, low: entry.low_confidence }),
        confidenceBar(entry.confidence, transcript.threshold),
        entities(entry.entities),
        ranking ? h("span", { class: "hint", text: `其次：${ranking}` }) : null,
        h("span", { class: "hint", text: `${when(entry.at)} ${CHANNELS[entry.channel] || entry.channel || ""}` }),
        mark));
  }

  function entryNode(entry, transcript) {
    if (entry.kind === "session") return h("li", { class: "rv-entry rv-session", text: `新会话 ${when(entry.at)}` });
    if (entry.kind === "action") {
      return h("li", { class: "rv-entry rv-action" },
        h("span", { class: "rv-action-name", text: entry.action }),
        h("span", { class: "hint", text: [entry.policy, typeof entry.confidence === "number" ? percent(entry.confidence) : ""].filter(Boolean).join(" · ") }));
    }
    if (entry.author === "customer") return customerEntry(entry, transcript);
    const agent = entry.author === "agent";
    return h("li", { class: `rv-entry ${agent ? "rv-agent" : "rv-bot"}` },
      h("div", { class: "rv-bubble" },
        h("span", { class: "rv-who", text: agent ? `坐席${entry.agent_name ? ` ${entry.agent_name}` : ""}` : "机器人" }),
        h("p", { class: "rv-text", text: entry.text }),
        entry.response ? h("span", { class: "hint", text: entry.response }) : null));
  }

  function renderTranscript(transcript) {
    const facts = [
      ["客户", transcript.customer_id || "匿名"], ["渠道", transcript.channels.map((c) => CHANNELS[c] || c).join("、") || "—"],
      ["客户消息", String(transcript.messages)], ["评分", ratingText(transcript.ratings)],
      ["人工接待", transcript.handoffs.map((x) => `${x.agent || "未接入"}（${x.group}）`).join("、") || "无"],
    ];
    $("rv-transcript").replaceChildren(...[
      h("h3", { class: "rv-card-title" }, "会话 ", h("code", { text: transcript.conversation })),
      h("dl", { class: "rv-facts" }, ...facts.flatMap(([k, v]) => [h("dt", { text: k }), h("dd", { text: v })])),
      transcript.truncated ? h("p", { class: "hint", text: "会话过长，只显示前面的部分" }) : null,
      h("ol", { class: "rv-entries", "aria-label": "会话记录" }, ...transcript.entries.map((e) => entryNode(e, transcript))),
    ].filter(Boolean));
  }

  async function markMessage(conversation, entry, button) {
    button.disabled = true;
    try {
      const answer = await XZ.api("/api/review/marks", { method: "POST", json: { conversation, event_id: entry.event_id } });
      button.textContent = "已在训练数据";
      XZ.toast(answer.added ? "已送到训练数据收件箱" : "这条消息已在训练数据收件箱中", "success");
      if (state.loaded.has("inbox")) loadInbox();
    } catch (error) {
      button.disabled = false;
      fail(error);
    }
  }

  // --- 训练数据 -------------------------------------------------------------------------------
  function buildInbox() {
    const pane = $("review-inbox");
    const status = h("select", { id: "rv-inbox-status", "aria-label": "状态" }, h("option", { value: "", text: "全部状态" }),
      ...Object.entries(STATUSES).map(([value, text]) => h("option", { value, text, selected: value === state.inboxStatus })));
    const source = h("select", { id: "rv-inbox-source", "aria-label": "来源" }, h("option", { value: "", text: "全部来源" }),
      ...Object.entries(SOURCES).map(([value, text]) => h("option", { value, text })));
    status.addEventListener("change", () => { state.inboxStatus = status.value; loadInbox(); });
    source.addEventListener("change", () => { state.inboxSource = source.value; loadInbox(); });
    pane.replaceChildren(
      h("div", { class: "rv-toolbar" }, field("状态", status), field("来源", source),
        h("span", { id: "rv-inbox-counts", class: "hint rv-grow" }),
        h("button", { type: "button", id: "rv-scan", class: "btn btn-secondary", text: "立即扫描", onclick: scan }),
        h("button", { type: "button", id: "rv-export", class: "btn btn-primary", text: "导出 YAML", onclick: exportYaml })),
      h("p", { class: "hint", text: "兜底和低置信度的客户消息会自动收集（文本已脱敏）。确认 NLU 的猜测，或改为正确的意图（可填新意图），再导出为 Rasa NLU YAML 放入 data/nlu/。" }),
      h("div", { id: "rv-inbox-list" }));
    loadInbox();
  }

  async function loadInbox() {
    if (!$("rv-inbox-list")) return;
    try {
      const page = await XZ.api(`/api/review/inbox${query({ status: state.inboxStatus, source: state.inboxSource, page_size: 100 })}`);
      state.intents = page.intents;
      state.threshold = page.threshold;
      fillIntents();
      renderInbox(page);
    } catch (error) {
      fail(error);
    }
  }

  function fillIntents() {
    let list = $("rv-intents");
    if (!list) {
      list = h("datalist", { id: "rv-intents" });
      $("review-inbox").append(list);
    }
    list.replaceChildren(...state.intents.map((name) => h("option", { value: name })));
  }

  function renderInbox(page) {
    const c = page.counts;
    $("rv-inbox-counts").textContent = `待处理 ${c.new} · 已确认 ${c.confirmed} · 已改正 ${c.corrected} · 已丢弃 ${c.discarded}`;
    const box = $("rv-inbox-list");
    if (!page.items.length) {
      box.replaceChildren(h("p", { class: "empty-note", text: "收件箱里没有这样的条目" }));
      return;
    }
    box.replaceChildren(h("table", { class: "rv-table rv-inbox" },
      h("thead", {}, h("tr", {}, ...["时间", "客户消息", "NLU 猜测", "来源", "状态", "意图", "操作"].map((t) => h("th", { scope: "col", text: t })))),
      h("tbody", {}, ...page.items.map(inboxRow))));
  }

  function inboxRow(item) {
    const exported = Boolean(item.exported_at);
    const input = h("input", { class: "rv-intent-input", list: "rv-intents", maxlength: "80", autocomplete: "off",
      value: item.intent || "", placeholder: item.guess, "aria-label": "意图", disabled: exported });
    const act = (status) => review(item, status, input.value.trim());
    const known = !item.intent || state.intents.includes(item.intent);
    return h("tr", { class: "rv-inbox-row", dataset: { itemId: String(item.id), source: item.source } },
      h("td", { text: when(item.said_at) }),
      h("td", { class: "rv-inbox-text" }, h("p", { class: "rv-text", text: item.text }),
        h("span", { class: "hint" }, "会话 ", h("code", { text: item.conversation }))),
      h("td", {}, intentBadge(item.guess, { fallback: item.guess === "nlu_fallback" }), confidenceBar(item.confidence, state.threshold)),
      h("td", {}, h("span", { class: `badge rv-source-${item.source}`, text: SOURCES[item.source] || item.source })),
      h("td", {}, h("span", { class: `rv-status rv-status-${item.status}`, text: exported ? `已导出 ${item.batch}` : STATUSES[item.status] }),
        !known ? h("span", { class: "badge badge-warn rv-new-intent", text: "新意图" }) : null),
      h("td", {}, input),
      h("td", { class: "rv-actions" },
        h("button", { type: "button", class: "btn btn-small btn-secondary", text: "确认", disabled: exported,
          title: `确认 NLU 的猜测 ${item.guess}`, onclick: () => review(item, "confirmed", "") }),
        h("button", { type: "button", class: "btn btn-small btn-primary", text: "改为", disabled: exported,
          title: "改为右侧填写的意图", onclick: () => act("corrected") }),
        h("button", { type: "button", class: "btn btn-small btn-danger", text: "丢弃", disabled: exported,
          onclick: () => review(item, "discarded", "") })));
  }

  async function review(item, status, intent) {
    if (status === "corrected" && !intent) {
      XZ.toast("请先在「意图」一栏选择或填写正确的意图", "error");
      return;
    }
    try {
      const done = await XZ.api(`/api/review/inbox/${item.id}`, { method: "POST", json: intent ? { status, intent } : { status } });
      XZ.toast(`${STATUSES[done.status]}：${done.intent || ""}${done.new_intent ? "（新意图，需要补充 domain.yml 和 stories）" : ""}`, "success");
      loadInbox();
    } catch (error) {
      fail(error);
    }
  }

  async function scan() {
    const button = $("rv-scan");
    button.disabled = true;
    try {
      const result = await XZ.api("/api/review/inbox/scan", { method: "POST" });
      XZ.toast(`扫描完成：新增 ${result.added} 条${result.more ? "，还有更多，可再次扫描" : ""}`, "success");
      loadInbox();
    } catch (error) {
      fail(error);
    } finally {
      button.disabled = false;
    }
  }

  async function exportYaml() {
    try {
      const text = await XZ.api("/api/review/inbox/export.yml");
      const batch = (/批次 (\S+)/.exec(text) || [])[1] || "export";
      const url = URL.createObjectURL(new Blob([text], { type: "application/yaml" }));
      const link = h("a", { href: url, download: `review_${batch}.yml`, class: "visually-hidden" });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
      XZ.toast(`已导出批次 ${batch}`, "success");
      loadInbox();
    } catch (error) {
      fail(error);
    }
  }

  // --- wiring -----------------------------------------------------------------------------
  function reset() {
    state.loaded.clear();
    state.open = null;
    state.query = {};
    state.page = 1;
    state.tab = "conversations";
    for (const pane of ["conversations", "inbox"]) $(`review-${pane}`)?.replaceChildren();
  }

  for (const tab of tabs()) tab.addEventListener("click", () => showTab(tab.dataset.reviewTab));
  XZ.on("login", reset);
  XZ.on("logout", reset);
  XZ.on("view", (detail) => { if (detail && detail.view === "review") showTab(state.tab); });
})();
