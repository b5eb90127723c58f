/* 质检 (#review-quality in 会话审阅): the flags the desk's quality checks (qa_rules.yml) raised on finished chats,
   for 主管: filter by status, rule and CST dates, and mark a flag reviewed with a note.
   Talks to /api/quality/* through window.XZ (console.js); review.js shows and hides the pane, this module fills it
   the first time it is shown. Every node is built with XZ.h, so data never becomes markup. */
(() => {
  "use strict";

  const XZ = window.XZ;
  if (!XZ) return;
  const h = XZ.h;
  const $ = (id) => document.getElementById(id);
  const PAGE_SIZE = 20;
  const STATUSES = { open: "待复核", reviewed: "已复核" };

  const state = { built: false, query: { status: "open" }, page: 1, rules: [], editing: null };

  const when = (at) => (typeof at === "string" && at.length >= 16 ? `${at.slice(5, 10)} ${at.slice(11, 16)}` : "");
  const ruleLabel = (name) => state.rules.find((r) => r.name === name)?.label || name;

  function fail(error) {
    XZ.toast(error && error.message ? error.message : "操作失败", "error");
  }

  function query(params) {
    const search = new URLSearchParams();
    for (const [key, value] of Object.entries(params)) if (value) search.set(key, value);
    return search.toString();
  }

  function field(label, control) {
    return h("label", { class: "qa-field" }, h("span", { class: "qa-label", text: label }), control);
  }

  function build() {
    const pane = $("review-quality");
    if (!pane) return;
    state.built = true;
    if (XZ.me().role !== "主管") {
      pane.replaceChildren(h("p", { class: "empty-note", text: "质检记录仅主管可查看" }));
      return;
    }
    const status = h("select", { id: "qa-status", name: "status" }, h("option", { value: "", text: "全部状态" }),
      ...Object.entries(STATUSES).map(([value, text]) => h("option", { value, text, selected: value === "open" })));
    const rule = h("select", { id: "qa-rule", name: "rule" }, h("option", { value: "", text: "全部规则" }));
    const form = h("form", { id: "qa-filter", class: "qa-toolbar", role: "search", "aria-label": "筛选质检记录" },
      field("状态", status), field("规则", rule),
      field("开始日期", h("input", { id: "qa-from", name: "date_from", type: "date" })),
      field("结束日期", h("input", { id: "qa-to", name: "date_to", type: "date" })),
      h("button", { type: "submit", class: "btn btn-primary", text: "查询" }));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const data = new FormData(form);
      state.query = Object.fromEntries([...data.entries()].map(([k, v]) => [k, String(v).trim()]));
      state.page = 1;
      load();
    });
    pane.replaceChildren(form,
      h("section", { class: "qa-card", "aria-labelledby": "qa-title" },
        h("h3", { id: "qa-title", class: "qa-card-title", text: "质检记录" }),
        h("p", { class: "hint", text: "规则见 qa_rules.yml：首次回复超时、服务禁语、坐席回复后客户不满、未写服务小结。每个会话结束时自动检查。" }),
        h("div", { id: "qa-results" }), h("div", { id: "qa-pager", class: "qa-pager" })));
    load();
  }

  function fillRules(rules) {
    if (!rules?.length || state.rules.length) return;
    state.rules = rules;
    const select = $("qa-rule");
    if (select) select.append(...rules.map((r) => h("option", { value: r.name, text: r.label })));
  }

  async function load() {
    const box = $("qa-results");
    if (!box) return;
    box.replaceChildren(h("p", { class: "hint", text: "加载中…" }));
    try {
      const page = await XZ.api(`/api/quality/flags?${query({ ...state.query, page: state.page, page_size: PAGE_SIZE })}`);
      fillRules(page.rules);
      render(page);
    } catch (error) {
      box.replaceChildren(h("p", { class: "form-error", text: `加载失败：${error.message || "未知错误"}` }));
      fail(error);
    }
  }

  function render(page) {
    const box = $("qa-results");
    if (!page.items.length) {
      box.replaceChildren(h("p", { class: "empty-note", text: "没有符合条件的质检记录" }));
    } else {
      box.replaceChildren(h("table", { class: "qa-table" },
        h("thead", {}, h("tr", {}, ...["时间", "规则", "坐席", "详情", "状态", ""].map((t) => h("th", { scope: "col", text: t })))),
        h("tbody", {}, ...page.items.map(row))));
    }
    const pages = Math.max(1, Math.ceil(page.total / PAGE_SIZE));
    $("qa-pager").replaceChildren(
      h("span", { class: "hint", text: `共 ${page.total} 条` }),
      h("button", { type: "button", class: "btn btn-ghost", text: "上一页", disabled: state.page <= 1,
        onclick: () => { state.page -= 1; load(); } }),
      h("span", { class: "hint", text: `第 ${state.page} / ${pages} 页` }),
      h("button", { type: "button", class: "btn btn-ghost", text: "下一页", disabled: state.page >= pages,
        onclick: () => { state.page += 1; load(); } }));
  }

  function row(flag) {
    const reviewed = flag.status === "reviewed";
    const status = h("td", {}, h("span", { class: `badge ${reviewed ? "qa-done" : "qa-open"}`, text: STATUSES[flag.status] || flag.status }));
    if (reviewed) {
      status.append(h("div", { class: "hint", text: `${flag.reviewer || ""} ${when(flag.reviewed_at)}` }));
      if (flag.note) status.append(h("div", { class: "qa-note", text: flag.note }));
    }
    const action = h("td", { class: "qa-action" });
    action.append(h("button", { type: "button", class: "btn btn-secondary", text: reviewed ? "改备注" : "复核",
      dataset: { flag: String(flag.id) }, onclick: () => openReview(action, flag) }));
    return h("tr", { dataset: { flagId: String(flag.id) } },
      h("td", { class: "qa-when", text: when(flag.at) }),
      h("td", {}, h("span", { class: `qa-rule qa-rule-${flag.rule}`, text: flag.rule_label || ruleLabel(flag.rule) })),
      h("td", { text: flag.agent || "—" }),
      h("td", { class: "qa-detail" }, h("div", { text: flag.detail }),
        h("div", { class: "hint", text: `会话 ${String(flag.session_id).slice(0, 8)}` })),
      status, action);
  }

  function openReview(cell, flag) {
    const note = h("input", { type: "text", class: "qa-note-input", maxlength: "500", placeholder: "复核备注（可不填）",
      "aria-label": "复核备注", value: flag.note || "" });
    const form = h("form", { class: "qa-review-form" }, note,
      h("button", { type: "submit", class: "btn btn-primary", text: "确认复核" }),
      h("button", { type: "button", class: "btn btn-ghost", text: "取消", onclick: () => load() }));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      try {
        await XZ.api(`/api/quality/flags/${encodeURIComponent(flag.id)}/review`, { method: "POST", json: { note: note.value } });
        XZ.toast("已复核", "success");
        load();
      } catch (error) {
        fail(error);
      }
    });
    cell.replaceChildren(form);
    note.focus();
  }

  function reset() {
    state.built = false;
    state.query = { status: "open" };
    state.page = 1;
    state.rules = [];
    $("review-quality")?.replaceChildren();
  }

  const pane = $("review-quality");
  if (pane) {
    new MutationObserver(() => { if (!pane.hidden && !state.built) build(); })
      .observe(pane, { attributes: true, attributeFilter: ["hidden"] });
  }
  XZ.on("login", reset);
  XZ.on("logout", reset);
})();
