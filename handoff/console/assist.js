/* 小智客服 · 坐席工作台: 推荐答案 (agent assist).
 *
 * A card at the top of the context panel (#context-body) for the open chat, when it is the agent's own
 * (XZ.mine()): the knowledge base's top 3 answers for the customer's latest message (POST /api/assist/suggestions
 * with the session id; the desk reads the message itself), each with its source (FAQ / 政策文档 / 历史回复), title
 * and text, and a 「使用」 button that puts the text into the reply box (XZ.insertReply).
 * Fetched again when the customer writes in the open chat (XZ.on("desk") customer_message) or another chat opens
 * (XZ.on("viewing")), debounced, never twice for the same message. Until GET /api/assist/status says the desk
 * has built its index, the card says so and asks again. Every text from the desk goes in as text (XZ.h).
 */
"use strict";

(() => {
  const XZ = window.XZ;
  if (!XZ) return;
  const h = XZ.h;
  const $ = (id) => document.getElementById(id);
  const DEBOUNCE_MS = 300;
  const RETRY_MS = 5000; // the desk's Retry-After while the index is being built
  const SOURCE_CLASS = { "FAQ": "assist-source-faq", "政策文档": "assist-source-policy", "历史回复": "assist-source-reply" };

  const state = { key: "", shown: "", timer: 0, retry: 0, sequence: 0, ready: false };

  function card() {
    let node = $("assist-card");
    if (!node) {
      const body = $("context-body");
      if (!body) return null;
      node = h("section", { id: "assist-card", class: "card assist-card", "aria-labelledby": "assist-title",
        "aria-live": "polite", hidden: true },
      h("h3", { id: "assist-title", class: "card-title", text: "推荐答案" }),
      h("p", { id: "assist-query", class: "assist-query hint" }),
      h("div", { id: "assist-body", class: "assist-body" }));
      body.prepend(node);
    }
    return node;
  }

  /** What the suggestions depend on: the open chat and its customer's latest message ("" for no own chat open,
   * the bare session id when the customer has not written since the handoff). */
  function keyOf(session) {
    if (!session || !XZ.mine()) return "";
    const said = (session.messages || []).filter((m) => m.direction === "customer" && String(m.text || "").trim());
    return said.length ? `${session.session_id}\n${said.length}\n${said[said.length - 1].text}` : String(session.session_id);
  }

  function note(text, kind) {
    $("assist-body").replaceChildren(h("p", { class: `assist-note ${kind ? `assist-note-${kind}` : ""}`, text }));
  }

  function use(suggestion) {
    if (!XZ.insertReply(suggestion.text, false)) XZ.toast("当前会话不能回复", "error");
  }

  function render(answer) {
    $("assist-query").textContent = answer.query ? `客户：${answer.query}` : "";
    const items = (answer.suggestions || []).map((s, index) => h("li", { class: "assist-item" },
      h("div", { class: "assist-head" },
        h("span", { class: `badge assist-source ${SOURCE_CLASS[s.source] || ""}`, text: s.source }),
        h("span", { class: "assist-title", text: s.title, title: s.title })),
      h("p", { class: "assist-text", text: s.text, title: s.text }),
      h("div", { class: "assist-actions" },
        h("button", { type: "button", class: "btn btn-secondary btn-small assist-use", text: "使用",
          "aria-label": `使用第${index + 1}条推荐答案：${s.title}`, onclick: () => use(s) }))));
    if (items.length) $("assist-body").replaceChildren(h("ol", { class: "assist-list" }, ...items));
    else note(answer.query ? "暂无匹配的推荐答案" : "客户发来消息后显示推荐答案");
  }

  function later(session, key) {
    state.retry = setTimeout(() => { if (state.key === key) load(session, key); }, RETRY_MS);
  }

  /** Whether the desk has built its index (asked until it has: a 200, never a 503 the browser would log). */
  async function ready(session, key, sequence) {
    if (state.ready) return true;
    const status = await XZ.api("/api/assist/status");
    if (sequence !== state.sequence) return false;
    if (status.state === "ready") return (state.ready = true);
    if (status.state === "failed") note(status.reason || "推荐答案暂不可用", "error");
    else {
      note("知识库正在准备中，稍后自动刷新…", "wait");
      later(session, key);
    }
    return false;
  }

  async function load(session, key) {
    const sequence = ++state.sequence;
    clearTimeout(state.retry);
    if (state.shown !== key) note("正在查找推荐答案…");
    try {
      if (!(await ready(session, key, sequence))) return;
      const answer = await XZ.api("/api/assist/suggestions", { method: "POST", json: { session_id: session.session_id } });
      if (sequence !== state.sequence) return; // a newer message or another chat came meanwhile
      state.shown = key;
      render(answer);
    } catch (error) {
      if (sequence !== state.sequence) return;
      state.shown = "";
      if (error.status === 503) {
        state.ready = false;
        note("知识库正在准备中，稍后自动刷新…", "wait");
        later(session, key);
      } else {
        note(`推荐答案暂不可用：${error.message || "请稍后再试"}`, "error");
      }
    }
  }

  /** Refresh for the open chat, debounced; nothing when its latest customer message is the one shown. */
  function update() {
    const node = card();
    if (!node) return;
    const session = XZ.viewing();
    const key = keyOf(session);
    node.hidden = !key;
    if (!key) {
      state.key = "";
      state.sequence++;
      clearTimeout(state.timer);
      clearTimeout(state.retry);
      return;
    }
    if (key === state.key) return;
    state.key = key;
    clearTimeout(state.timer);
    clearTimeout(state.retry);
    if (!key.includes("\n")) { // the customer has not written since the handoff: nothing to ask
      state.sequence++;
      state.shown = key;
      $("assist-query").textContent = "";
      note("客户发来消息后显示推荐答案");
      return;
    }
    state.timer = setTimeout(() => { if (state.key === key) load(session, key); }, DEBOUNCE_MS);
  }

  XZ.on("viewing", update);
  XZ.on("desk", (event) => {
    if (event && event.type === "customer_message" && event.session_id === XZ.viewing()?.session_id) update();
    else if (event && (event.type === "assigned" || event.type === "session_ended")) update();
  });
  XZ.on("logout", () => {
    state.key = state.shown = "";
    state.ready = false;
    state.sequence++;
    const node = $("assist-card");
    if (node) node.hidden = true;
  });
})();
