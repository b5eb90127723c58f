/* 工单 (#view-tickets): filters, search, a paged table and a detail pane (history, comments, the statuses the desk
   allows next, assignment); and 「新建工单」 in the chat header, prefilled by the desk from the open chat.
   Talks to /api/tickets* and /api/handoff/sessions/<id>/ticket-draft|tickets through window.XZ (console.js);
   builds every node with XZ.h, so data never becomes markup. Status, priority, department and category names are
   the desk's (its /openapi.json enums), not copied here. */
(() => {
  "use strict";

  const XZ = window.XZ;
  if (!XZ) return;
  const h = XZ.h;
  const $ = (id) => document.getElementById(id);

  const PAGE_SIZE = 15;
  const EVENT_KINDS = { created: "创建", status: "状态变更", comment: "备注", assign: "分派", escalation: "超时升级",
    rating: "客户评价", duplicate: "重复提交" };
  const ACTORS = { bot: "小智", customer: "客户", system: "系统" };
  const CHANNELS = { socketio: "网页", wechat: "微信", app: "App", rest: "网页" };
  const STATUS_TONES = { 新建: "new", 已分派: "assigned", 处理中: "progress", 待客户确认: "waiting", 已解决: "resolved",
    已关闭: "closed", 重新打开: "reopened" };
  const PRIORITY_TONES = { 一般: "normal", 紧急: "urgent", 特急: "critical" };

  const state = {
    built: false, names: null, filters: { status: "", priority: "", department: "", overdue: false, mine: false, q: "" },
    page: 1, total: 0, items: [], open: null, detail: null, assignees: null, busy: false, draft: null, seq: 0,
  };

  // --- helpers ------------------------------------------------------------------------------
  const when = (at) => (typeof at === "string" && at.length >= 16 ? `${at.slice(5, 10)} ${at.slice(11, 16)}` : "—");
  const fail = (error) => XZ.toast(error && error.message ? error.message : "操作失败", "error");
  const maskName = (name) => {
    const chars = Array.from(String(name || ""));
    return chars.length ? chars[0] + "*".repeat(Math.max(1, chars.length - 1)) : "—";
  };
  const maskPhone = (phone) => (/^1\d{10}$/.test(phone || "") ? `${phone.slice(0, 3)}****${phone.slice(7)}` : phone || "");
  const actorName = (actor) => ACTORS[actor] || actor || "—";

  function query(params) {
    const search = new URLSearchParams();
    for (const [key, value] of Object.entries(params)) if (value !== "" && value !== false && value != null) search.set(key, value);
    const text = search.toString();
    return text ? `?${text}` : "";
  }

  function statusBadge(status) {
    return h("span", { class: `tk-status tk-status-${STATUS_TONES[status] || "new"}`, text: status });
  }

  function priorityBadge(priority) {
    return h("span", { class: `tk-priority tk-priority-${PRIORITY_TONES[priority] || "normal"}`, text: priority });
  }

  function option(value, text, selected) {
    return h("option", { value, text, selected: selected ? true : null });
  }

  /** The names the desk knows (statuses, priorities, departments, categories), from its OpenAPI description. */
  async function names() {
    if (state.names) return state.names;
    const fallback = { statuses: ["新建", "已分派", "处理中", "待客户确认", "已解决", "已关闭", "重新打开"],
      priorities: ["一般", "紧急", "特急"], departments: [], categories: [], kinds: ["问题", "改进"] };
    try {
      const spec = await XZ.api("/openapi.json");
      const fields = spec.components.schemas.Ticket.properties;
      state.names = { statuses: fields.status.enum, priorities: fields.priority.enum, departments: fields.department.enum,
        categories: fields.category.enum, kinds: fields.kind.enum };
    } catch (_error) {
      state.names = fallback;
    }
    return state.names;
  }

  // --- the view -----------------------------------------------------------------------------
  function field(label, control) {
    return h("label", { class: "tk-field" }, h("span", { class: "tk-field-label", text: label }), control);
  }

  function check(id, label) {
    return h("label", { class: "tk-check", for: id }, h("input", { type: "checkbox", id }), h("span", { text: label }));
  }

  async function build() {
    const panel = $("view-tickets");
    if (!panel || state.built) return;
    state.built = true;
    const known = await names();
    const me = XZ.me();
    const agent = me.role !== "主管";
    const department = h("select", { id: "tk-f-department", "aria-label": "部门", disabled: agent ? true : null },
      option("", agent ? "本部门" : "全部部门"), known.departments.map((d) => option(d, d)));
    const form = h("form", { id: "tk-filters", class: "tk-filters", role: "search", "aria-label": "筛选工单" },
      field("状态", h("select", { id: "tk-f-status", "aria-label": "状态" }, option("", "全部状态"),
        known.statuses.map((s) => option(s, s)))),
      field("优先级", h("select", { id: "tk-f-priority", "aria-label": "优先级" }, option("", "全部"),
        known.priorities.map((p) => option(p, p)))),
      field("部门", department),
      h("div", { class: "tk-checks" }, check("tk-f-overdue", "已超时"), check("tk-f-mine", "我的")),
      h("label", { class: "tk-field tk-search" }, h("span", { class: "tk-field-label", text: "搜索" }),
        h("input", { id: "tk-f-q", type: "search", maxlength: "40", placeholder: "工单号 / 订单号 / 手机号",
          "aria-label": "搜索工单号、订单号或手机号", autocomplete: "off" })),
      h("div", { class: "tk-filter-actions" },
        h("button", { type: "submit", class: "btn btn-primary btn-small", text: "查询" }),
        h("button", { type: "button", class: "btn btn-ghost btn-small", id: "tk-reset", text: "重置" })));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      readFilters();
      state.page = 1;
      load();
    });
    for (const id of ["tk-f-status", "tk-f-priority", "tk-f-department", "tk-f-overdue", "tk-f-mine"]) {
      form.querySelector(`#${id}`).addEventListener("change", () => form.requestSubmit());
    }
    form.querySelector("#tk-reset").addEventListener("click", () => {
      form.reset();
      form.requestSubmit();
    });

    const table = h("table", { class: "tk-table", "aria-label": "工单列表" },
      h("thead", {}, h("tr", {}, ["工单号", "标题", "客户", "状态", "优先级", "部门", "处理人", "解决时限"]
        .map((name) => h("th", { scope: "col", text: name })))),
      h("tbody", { id: "tk-rows" }));
    panel.replaceChildren(h("div", { class: "tk" },
      h("header", { class: "tk-head" }, h("h2", { class: "tk-title", text: "工单" }),
        h("span", { id: "tk-total", class: "hint", role: "status", "aria-live": "polite" }),
        h("button", { type: "button", class: "btn btn-ghost btn-small tk-refresh", text: "刷新", onclick: () => load() })),
      form,
      h("div", { class: "tk-split" },
        h("section", { class: "tk-card tk-list", "aria-label": "工单列表" },
          h("div", { class: "tk-table-wrap" }, table),
          h("p", { id: "tk-empty", class: "empty-note", hidden: true, text: "没有符合条件的工单" }),
          h("nav", { class: "tk-pager", "aria-label": "翻页" },
            h("span", { id: "tk-page", class: "hint" }),
            h("button", { type: "button", id: "tk-prev", class: "btn btn-secondary btn-small", text: "上一页",
              onclick: () => turn(-1) }),
            h("button", { type: "button", id: "tk-next", class: "btn btn-secondary btn-small", text: "下一页",
              onclick: () => turn(1) }))),
        h("aside", { id: "tk-detail", class: "tk-card tk-detail", "aria-label": "工单详情", tabindex: "-1" },
          h("p", { class: "empty-note", text: "选择左侧工单查看详情" })))));
  }

  function readFilters() {
    state.filters = {
      status: $("tk-f-status").value, priority: $("tk-f-priority").value, department: $("tk-f-department").value,
      overdue: $("tk-f-overdue").checked, mine: $("tk-f-mine").checked, q: $("tk-f-q").value.trim(),
    };
  }

  function turn(step) {
    const last = Math.max(1, Math.ceil(state.total / PAGE_SIZE));
    state.page = Math.min(last, Math.max(1, state.page + step));
    load();
  }

  async function load() {
    const seq = ++state.seq;
    const f = state.filters;
    try {
      const page = await XZ.api("/api/tickets" + query({ status: f.status, priority: f.priority, department: f.department,
        overdue: f.overdue ? "true" : "", mine: f.mine ? "true" : "", q: f.q, page: state.page, page_size: PAGE_SIZE }));
      if (seq !== state.seq) return;
      state.items = page.items;
      state.total = page.total;
      renderRows();
    } catch (error) {
      if (seq === state.seq) fail(error);
    }
  }

  function renderRows() {
    const rows = state.items.map((t) => {
      const row = h("tr", { class: `tk-row${t.number === state.open ? " tk-row-open" : ""}`, tabindex: "0",
        dataset: { number: t.number, focusKey: t.number }, "aria-selected": String(t.number === state.open),
        "aria-label": `工单 ${t.number} ${t.status}` },
        h("td", { class: "mono" }, t.number),
        h("td", { class: "tk-cell-title" }, h("span", { text: t.summary || t.description || t.category }),
          h("span", { class: "tk-sub", text: t.category })),
        h("td", {}, h("span", { text: maskName(t.customer_name) }),
          t.customer_vip ? h("span", { class: "badge badge-vip", text: "VIP" }) : null,
          h("span", { class: "tk-sub", text: maskPhone(t.customer_phone) })),
        h("td", {}, statusBadge(t.status)),
        h("td", {}, priorityBadge(t.priority)),
        h("td", { text: t.department }),
        h("td", { text: t.assignee || "未分派" }),
        h("td", {}, h("span", { text: when(t.resolution_due) }),
          t.overdue ? h("span", { class: "tk-overdue", text: "已超时" }) : null));
      row.addEventListener("click", () => openTicket(t.number));
      row.addEventListener("keydown", (event) => {
        if (event.key === "Enter" || event.key === " ") {
          event.preventDefault();
          openTicket(t.number);
        } else if (event.key === "ArrowDown" || event.key === "ArrowUp") {
          event.preventDefault();
          (event.key === "ArrowDown" ? row.nextElementSibling : row.previousElementSibling)?.focus();
        }
      });
      return row;
    });
    const body = $("tk-rows");
    const active = document.activeElement;
    const key = active && body.contains(active) ? active.dataset.focusKey : null;
    body.replaceChildren(...rows);
    if (key) body.querySelector(`[data-focus-key="${CSS.escape(key)}"]`)?.focus();
    $("tk-empty").hidden = rows.length > 0;
    const last = Math.max(1, Math.ceil(state.total / PAGE_SIZE));
    $("tk-total").textContent = `共 ${state.total} 条`;
    $("tk-page").textContent = `第 ${state.page} / ${last} 页`;
    $("tk-prev").disabled = state.page <= 1;
    $("tk-next").disabled = state.page >= last;
  }

  // --- the detail pane ------------------------------------------------------------------------
  async function openTicket(number, focus = true) {
    state.open = number;
    renderRows();
    try {
      const [detail, assignees] = await Promise.all([
        XZ.api(`/api/tickets/${encodeURIComponent(number)}`),
        XZ.api(`/api/tickets/${encodeURIComponent(number)}/assignees`).catch(() => null),
      ]);
      if (state.open !== number) return;
      state.detail = detail;
      state.assignees = assignees;
      renderDetail();
      if (focus) $("tk-detail").focus();
    } catch (error) {
      fail(error);
    }
  }

  function fact(label, value) {
    return [h("dt", { text: label }), h("dd", { text: value || "—" })];
  }

  function renderDetail() {
    const { ticket: t, trail, ratings, next_statuses: next } = state.detail;
    const pane = $("tk-detail");
    const statusButtons = (next || []).map((status) => h("button", { type: "button",
      class: `btn btn-small ${status === "已关闭" ? "btn-danger" : "btn-secondary"}`, text: `改为「${status}」`,
      "aria-label": `把状态改为${status}`, onclick: () => changeStatus(status) }));
    const people = state.assignees?.items || [];
    const assign = h("select", { id: "tk-assignee", "aria-label": "分派给" },
      option("", people.length ? "选择处理人" : "无可分派人员"),
      people.map((p) => h("option", { value: p.username, disabled: p.selectable ? null : true,
        selected: p.username === t.assignee ? true : null,
        text: `${p.name}（${p.role} · ${p.department}）${p.selectable ? "" : " · 仅主管可分派"}` })));
    const comment = h("textarea", { id: "tk-comment", rows: "3", maxlength: "2000", placeholder: "添加处理备注（客户不可见）",
      "aria-label": "备注内容" });
    const commentForm = h("form", { class: "tk-comment-form", "aria-label": "添加备注" }, comment,
      h("div", { class: "tk-row-actions" }, h("span", { class: "hint", text: "Ctrl+Enter 提交" }),
        h("button", { type: "submit", class: "btn btn-primary btn-small", text: "添加备注" })));
    commentForm.addEventListener("submit", (event) => {
      event.preventDefault();
      addComment(comment.value);
    });
    comment.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        commentForm.requestSubmit();
      }
    });
    const history = h("ol", { class: "tk-trail", "aria-label": "处理记录" }, trail.slice().reverse().map((e) =>
      h("li", { class: `tk-event tk-event-${e.kind}` },
        h("div", { class: "tk-event-head" }, h("strong", { text: actorName(e.actor) }),
          h("span", { class: "tk-event-kind", text: EVENT_KINDS[e.kind] || e.kind }),
          e.from_status || e.to_status ? h("span", { class: "tk-event-move",
            text: `${e.from_status || "—"} → ${e.to_status || "—"}` }) : null,
          h("time", { class: "hint", datetime: e.at || "", text: when(e.at) })),
        e.comment ? h("p", { class: "tk-event-text", text: e.comment }) : null)));
    pane.replaceChildren(...[
      h("header", { class: "tk-detail-head" },
        h("div", {}, h("h3", { class: "tk-detail-number mono", text: t.number }),
          h("p", { class: "tk-detail-title", text: t.summary || t.description })),
        h("div", { class: "tk-detail-badges" }, statusBadge(t.status), priorityBadge(t.priority),
          t.overdue ? h("span", { class: "tk-overdue", text: "已超时" }) : null)),
      h("dl", { class: "tk-facts" },
        fact("分类", `${t.category}${t.kind === "改进" ? "（改进任务）" : ""}`), fact("部门", t.department),
        fact("处理人", t.assignee || "未分派"), fact("客户", `${t.customer_name || "—"}${t.customer_vip ? "（VIP）" : ""}`),
        fact("电话", t.customer_phone), fact("订单", t.order_id), fact("商品", t.product),
        fact("渠道", CHANNELS[t.channel] || t.channel), fact("创建", when(t.created_at)),
        fact("首次响应时限", t.first_responded_at ? `已响应 ${when(t.first_responded_at)}` : when(t.first_response_due)),
        fact("解决时限", when(t.resolution_due))),
      t.description ? h("section", { class: "tk-block" }, h("h4", { text: "问题描述" }),
        h("p", { class: "tk-text", text: t.description })) : null,
      t.transcript ? h("details", { class: "tk-block" }, h("summary", { text: "会话摘录" }),
        h("pre", { class: "tk-transcript", text: t.transcript })) : null,
      h("section", { class: "tk-block", "aria-label": "状态" }, h("h4", { text: "变更状态" }),
        statusButtons.length ? h("div", { class: "tk-actions", id: "tk-status-actions" }, statusButtons)
          : h("p", { class: "hint", text: t.status === "已关闭" ? "已关闭的工单只有主管可以重新打开" : "当前状态无可用操作" })),
      h("section", { class: "tk-block", "aria-label": "分派" }, h("h4", { text: "分派" }),
        h("div", { class: "tk-assign" }, assign, h("button", { type: "button", class: "btn btn-secondary btn-small",
          text: "分派", onclick: () => assignTo(assign.value) }))),
      h("section", { class: "tk-block" }, h("h4", { text: "备注" }), commentForm),
      ratings.length ? h("section", { class: "tk-block" }, h("h4", { text: "客户评价" }),
        h("ul", { class: "tk-ratings" }, ratings.map((r) => h("li", {}, h("strong", { text: `${r.score} 分` }),
          h("span", { text: r.comment || "（无评语）" }), h("span", { class: "hint", text: when(r.at) }))))) : null,
      h("section", { class: "tk-block" }, h("h4", { text: "处理记录" }), history)].filter(Boolean));
  }

  async function afterChange(answer, message) {
    XZ.toast(message, "success");
    state.detail = { ...state.detail, ticket: answer.ticket, next_statuses: answer.next_statuses };
    await openTicket(answer.ticket.number, false);
    load();
  }

  async function changeStatus(status) {
    if (state.busy) return;
    state.busy = true;
    try {
      const number = state.detail.ticket.number;
      const answer = await XZ.api(`/api/tickets/${encodeURIComponent(number)}/status`, { method: "POST", json: { status } });
      await afterChange(answer, `工单 ${number} 已改为「${status}」`);
      $("tk-status-actions")?.querySelector("button")?.focus();
    } catch (error) {
      fail(error);
    } finally {
      state.busy = false;
    }
  }

  async function assignTo(username) {
    if (!username) {
      XZ.toast("请选择处理人", "error");
      return;
    }
    try {
      const number = state.detail.ticket.number;
      const answer = await XZ.api(`/api/tickets/${encodeURIComponent(number)}/assign`, { method: "POST",
        json: { assignee: username } });
      await afterChange(answer, `工单 ${number} 已分派给 ${username}`);
    } catch (error) {
      fail(error);
    }
  }

  async function addComment(text) {
    if (!text.trim()) {
      XZ.toast("备注不能为空", "error");
      return;
    }
    try {
      const number = state.detail.ticket.number;
      const answer = await XZ.api(`/api/tickets/${encodeURIComponent(number)}/comments`, { method: "POST",
        json: { comment: text } });
      await afterChange(answer, "备注已添加");
      $("tk-comment")?.focus();
    } catch (error) {
      fail(error);
    }
  }

  // --- 新建工单 from the open chat ------------------------------------------------------------
  function chatButton() {
    const actions = $("chat-actions");
    if (!actions || $("tk-chat-button")) return;
    const button = h("button", { id: "tk-chat-button", type: "button", class: "btn btn-secondary",
      text: "新建工单", "aria-haspopup": "dialog", title: "从当前会话新建工单", onclick: openChatDialog });
    const transfer = $("transfer-button");
    if (transfer) transfer.after(button);
    else actions.prepend(button);
  }

  function chatDialog() {
    let dialog = $("tk-chat-dialog");
    if (dialog) return dialog;
    dialog = h("dialog", { id: "tk-chat-dialog", class: "tk-dialog", "aria-labelledby": "tk-chat-title" },
      h("form", { id: "tk-chat-form", method: "dialog" },
        h("h2", { id: "tk-chat-title", text: "新建工单" }),
        h("p", { id: "tk-chat-who", class: "muted" }),
        h("div", { class: "tk-dialog-grid" },
          h("div", {}, h("label", { for: "tk-c-kind", text: "类型" }), h("select", { id: "tk-c-kind" })),
          h("div", {}, h("label", { for: "tk-c-category", text: "分类" }), h("select", { id: "tk-c-category" })),
          h("div", {}, h("label", { for: "tk-c-priority", text: "优先级" }), h("select", { id: "tk-c-priority" })),
          h("div", {}, h("label", { for: "tk-c-order", text: "关联订单" }), h("select", { id: "tk-c-order" }))),
        h("p", { id: "tk-c-route", class: "hint tk-route", "aria-live": "polite" }),
        h("label", { for: "tk-c-title", text: "标题" }),
        h("input", { id: "tk-c-title", type: "text", maxlength: "100", required: true, autocomplete: "off" }),
        h("label", { for: "tk-c-description", text: "问题描述" }),
        h("textarea", { id: "tk-c-description", rows: "4", maxlength: "2000", class: "tk-textarea" }),
        h("p", { class: "hint", text: "客户资料与会话记录由系统从本会话带入；优先级按规则不会低于安全/VIP 要求。" }),
        h("div", { class: "dialog-actions" },
          h("button", { type: "button", class: "btn btn-ghost", text: "取消", onclick: () => dialog.close() }),
          h("button", { type: "submit", id: "tk-c-submit", class: "btn btn-primary", text: "创建工单", value: "confirm" }))));
    document.body.append(dialog);
    dialog.querySelector("#tk-chat-form").addEventListener("submit", (event) => {
      event.preventDefault();
      submitChatTicket();
    });
    dialog.querySelector("#tk-c-kind").addEventListener("change", () => fillCategories());
    dialog.querySelector("#tk-c-category").addEventListener("change", showRoute);
    return dialog;
  }

  function fillCategories(wanted) {
    const known = state.names;
    const kind = $("tk-c-kind").value;
    const categories = kind === "改进" ? ["改进"] : known.categories.filter((c) => c !== "改进");
    const select = $("tk-c-category");
    const keep = wanted || select.value;
    select.replaceChildren(...categories.map((c) => option(c, c, c === keep)));
    select.disabled = kind === "改进";
    showRoute();
  }

  function showRoute() {
    const department = state.draft?.departments?.[$("tk-c-category").value];
    $("tk-c-route").textContent = department ? `预计流转至：${department}` : "";
  }

  async function openChatDialog() {
    const session = XZ.viewing();
    if (!session) return;
    const dialog = chatDialog();
    const known = await names();
    try {
      state.draft = await XZ.api(`/api/handoff/sessions/${encodeURIComponent(session.session_id)}/ticket-draft`);
    } catch (error) {
      fail(error);
      return;
    }
    const d = state.draft;
    $("tk-c-kind").replaceChildren(...known.kinds.map((k) => option(k, k, k === d.kind)));
    fillCategories(d.category);
    $("tk-c-priority").replaceChildren(...known.priorities.map((p) => option(p, p, p === d.priority)));
    $("tk-c-order").replaceChildren(option("", "不关联订单", !d.order_id),
      ...d.orders.map((o) => option(o.order_id, o.summary ? `${o.order_id}（${o.summary}）` : o.order_id,
        o.order_id === d.order_id)));
    $("tk-c-title").value = d.title;
    $("tk-c-description").value = d.description || "";
    $("tk-chat-who").textContent = `客户：${d.customer_name || "匿名客户"}${d.customer_vip ? "（VIP）" : ""}`;
    $("tk-c-submit").disabled = false;
    dialog.showModal();
    $("tk-c-title").focus();
  }

  async function submitChatTicket() {
    const session = state.draft;
    if (!session) return;
    const title = $("tk-c-title").value.trim();
    if (!title) {
      XZ.toast("请填写标题", "error");
      $("tk-c-title").focus();
      return;
    }
    $("tk-c-submit").disabled = true;
    try {
      const answer = await XZ.api(`/api/handoff/sessions/${encodeURIComponent(session.session_id)}/tickets`, {
        method: "POST", json: { kind: $("tk-c-kind").value, category: $("tk-c-category").value,
          priority: $("tk-c-priority").value, title, description: $("tk-c-description").value,
          order_id: $("tk-c-order").value } });
      $("tk-chat-dialog").close();
      const text = answer.duplicate
        ? `客户已有未结工单 ${answer.number}，已追加记录`
        : `已创建工单 ${answer.number}（${answer.department} · ${answer.priority}）`;
      XZ.toast(text, "success", answer.ticket ? () => {
        XZ.showView("tickets");
        openTicket(answer.number);
      } : undefined);
      if (state.built) load();
    } catch (error) {
      fail(error);
    } finally {
      $("tk-c-submit").disabled = false;
    }
  }

  // --- wiring -------------------------------------------------------------------------------
  async function show() {
    await build();
    load();
  }

  function reset() {
    Object.assign(state, { built: false, names: null, page: 1, total: 0, items: [], open: null, detail: null,
      assignees: null, draft: null, filters: { status: "", priority: "", department: "", overdue: false, mine: false, q: "" } });
    $("view-tickets")?.replaceChildren();
    const dialog = $("tk-chat-dialog");
    if (dialog?.open) dialog.close();
  }

  function wire() {
    chatButton();
    XZ.on("view", ({ view }) => { if (view === "tickets") show(); });
    XZ.on("viewing", (session) => {
      const button = $("tk-chat-button");
      if (button) button.disabled = !session || !XZ.mine();
    });
    XZ.on("logout", reset);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", wire);
  else wire();
})();
