/* 小智客服 · 现场管理 (supervisors' live board): #view-board.
 *
 * GET /api/reports/board while the view is open: every POLL_MS, and at once (debounced) when the desk's
 * WebSocket tells of a queue, presence or assignment change (XZ.on("desk")). Cards of the totals, a table per
 * skill group, per agent, and of the chats an agent took without answering yet. Text goes in with XZ.h (textContent).
 */
"use strict";

(() => {
  const XZ = window.XZ;
  if (!XZ) return;
  const POLL_MS = 5000;
  const SOON_MS = 300;
  const REFRESH_ON = new Set(["queue", "presence", "assigned", "session_ended", "session_transferred", "agent_message"]);
  const STATUS_CLASS = { 在线: "online", 忙碌: "busy", 离开: "away" };
  const h = XZ.h;
  const board = { open: false, timer: null, soon: null, loading: false, data: null, fetchedAt: 0, error: "" };

  const duration = XZ.duration;

  function clock(iso) {
    const when = new Date(iso);
    return Number.isNaN(when.getTime()) ? "" : when.toLocaleTimeString("zh-CN", { hour12: false, timeZone: "Asia/Shanghai" });
  }

  function isSupervisor() {
    return XZ.me().role === "主管";
  }

  function panel() {
    return document.getElementById("view-board");
  }

  // --- loading -------------------------------------------------------------------------------
  async function load() {
    if (!board.open || board.loading || !isSupervisor()) return;
    board.loading = true;
    try {
      board.data = await XZ.api("/api/reports/board");
      board.fetchedAt = Date.now();
      board.error = "";
    } catch (error) {
      board.error = error.status === 403 ? "仅主管可查看现场管理" : `现场数据加载失败：${error.message}`;
    } finally {
      board.loading = false;
    }
    render();
  }

  function refreshSoon() {
    clearTimeout(board.soon);
    board.soon = setTimeout(load, SOON_MS);
  }

  function start() {
    stop();
    board.open = true;
    if (!board.data) render();
    load();
    board.timer = setInterval(load, POLL_MS);
  }

  function stop() {
    board.open = false;
    clearInterval(board.timer);
    clearTimeout(board.soon);
    board.timer = null;
  }

  /** Replace a panel's content; null and false children are left out. */
  function fill(root, ...nodes) {
    root.replaceChildren(...nodes.filter(Boolean));
  }

  // --- rendering -----------------------------------------------------------------------------
  function card(label, value, note, tone) {
    return h("div", { class: `board-card${tone ? ` board-card--${tone}` : ""}`, dataset: { kpi: label } },
      h("span", { class: "board-card-label", text: label }),
      h("strong", { class: "board-card-value", text: value }),
      note ? h("span", { class: "board-card-note", text: note }) : null);
  }

  function table(caption, headers, rows, empty) {
    if (!rows.length) return h("section", { class: "board-block" }, h("h3", { class: "board-block-title", text: caption }),
      h("p", { class: "empty-note", text: empty }));
    return h("section", { class: "board-block" },
      h("h3", { class: "board-block-title", text: caption }),
      h("div", { class: "rp-table-wrap" }, h("table", { class: "rp-table" },
        h("thead", {}, h("tr", {}, headers.map((text) => h("th", { scope: "col", text })))),
        h("tbody", {}, rows.map((cells) => h("tr", {}, cells.map((cell) => h("td", {}, cell))))))));
  }

  function loadBar(agent) {
    const share = agent.capacity ? Math.min(1, agent.active / agent.capacity) : 0;
    const fill = h("span", { class: "load-fill" });
    fill.style.width = `${Math.round(share * 100)}%`;
    return h("span", { class: "load" }, h("span", { class: "load-bar", "aria-hidden": "true" }, fill),
      h("span", { class: "load-text", text: `${agent.active}/${agent.capacity}` }));
  }

  function status(agent) {
    return h("span", { class: `board-status board-status--${STATUS_CLASS[agent.status] || "away"}`, text: agent.status });
  }

  function render() {
    const root = panel();
    if (!root) return;
    const data = board.data;
    const head = h("header", { class: "rp-head" },
      h("div", {}, h("h2", { class: "rp-title", text: "现场管理" }),
        h("p", { class: "hint", id: "board-updated", text: data ? `更新于 ${clock(data.at)} · 每 5 秒自动刷新` : "加载中…" })),
      h("button", { type: "button", class: "btn btn-secondary btn-small", text: "立即刷新", onclick: load }));
    if (!data) {
      fill(root, head, board.error ? h("p", { class: "form-error", role: "alert", text: board.error }) : null);
      return;
    }
    const t = data.totals;
    const cards = h("div", { class: "board-cards", id: "board-cards" },
      card("排队人数", String(t.waiting), t.waiting ? `最长等待 ${duration(t.longest_wait_s)}` : "暂无排队", t.waiting ? "warn" : ""),
      card("最长等待", duration(t.longest_wait_s), "", t.longest_wait_s >= 120 ? "danger" : ""),
      card("在线坐席", String(t.agents_online), `忙碌 ${t.agents_busy} · 离开 ${t.agents_away}`),
      card("进行中会话", String(t.chats)),
      card("待首次回复", String(t.unreplied), t.unreplied ? "坐席已接入未回复" : "均已回复", t.unreplied ? "warn" : ""));
    const groups = table("技能组排队", ["技能组", "排队", "特急", "最长等待", "在线坐席", "忙碌坐席", "空闲接待位", "待首次回复"],
      data.groups.map((g) => [
        h("span", { class: "badge badge-group", text: g.group }),
        h("span", { class: g.waiting ? "board-strong" : "", dataset: { group: g.group, waiting: String(g.waiting) }, text: String(g.waiting) }),
        String(g.urgent), duration(g.longest_wait_s), String(g.agents_online), String(g.agents_busy), String(g.free_slots),
        String(g.unreplied)]),
      "暂无技能组");
    const agents = table("坐席负载", ["坐席", "状态", "负载（进行中/上限）", "技能组", "待首次回复"],
      data.agents.map((a) => [a.name, status(a), loadBar(a), a.groups.join("、"), String(a.unreplied)]),
      "暂无坐席上线");
    const late = table("已接入未回复", ["坐席", "技能组", "转人工原因", "接入时间", "已等待"],
      data.unreplied.map((u) => [u.agent_name, u.group, u.reason_label, clock(u.assigned_at), duration(u.waiting_s)]),
      "所有已接入的会话都已回复");
    fill(root, head, board.error ? h("p", { class: "form-error", role: "alert", text: board.error }) : null,
      cards, h("div", { class: "board-grid" }, groups, agents), late);
  }

  XZ.on("view", ({ view }) => (view === "board" ? start() : stop()));
  XZ.on("desk", (event) => {
    if (board.open && event && REFRESH_ON.has(event.type)) refreshSoon();
  });
  XZ.on("logout", () => {
    stop();
    board.data = null;
    const root = panel();
    if (root) root.replaceChildren();
  });
})();
