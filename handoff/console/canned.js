/* 小智客服 · 坐席工作台: 快捷回复 (canned replies).
 *
 * - Above the reply box (#quick-replies): buttons for the replies of the open chat's skill group and the ones for
 *   every group; a click inserts the reply, its placeholders filled in from the chat.
 * - In the reply box: "/" at the start or after a space opens a list that filters as you type (title, text or
 *   shortcut); ↑/↓ move, Enter or Tab insert it in place of "/…", Esc closes; the mouse works too.
 * - 设置 › 快捷回复 (#settings-canned, 主管): the table, search, add/edit/delete, placeholder help.
 *
 * GET /api/canned-replies gives the replies the staff member may use, the placeholders with the path each reads in
 * {customer, slots, agent} and the marker a missing value becomes (【待填：订单号】): the agent fills it in, and a
 * reply with a marker left is not sent. Writes are POST/PUT/DELETE /api/canned-replies[/<id>] (主管 only).
 * Uses window.XZ from console.js; every text from the desk goes into the page as text (XZ.h), never as HTML.
 */
"use strict";

(() => {
  const XZ = window.XZ;
  if (!XZ) return;
  const h = XZ.h;
  const $ = (id) => document.getElementById(id);
  const FRESH_MS = 60000; // replies are fetched again after this long
  const MAX_CHIPS = 8;
  const MAX_SHOWN = 8; // entries in the "/" list
  const SLASH = /(^|\s)\/([^\s/]{0,20})$/; // "/query" right before the caret
  const SAMPLE = { // the settings' preview
    customer: { name: "张伟", tier: "金卡会员" },
    slots: { order_id: "E202611010001", product: "蓝牙耳机 X1", waybill: "SF1234567890", refund_id: "R202611130001",
      ticket_id: "T202611210001" },
  };

  const state = {
    data: null, // the last GET /api/canned-replies (no filter)
    at: 0,
    loading: null,
    chipsKey: "",
    popup: { open: false, token: null, matches: [], active: 0, dismissed: -1 },
    settings: { query: "", group: "", rows: null, editing: null, timer: 0 },
  };

  // --- data and rendering -------------------------------------------------------------------------
  async function replies(force) {
    if (!force && state.data && Date.now() - state.at < FRESH_MS) return state.data;
    if (!state.loading) {
      state.loading = XZ.api("/api/canned-replies").then((data) => {
        state.data = data;
        state.at = Date.now();
        return data;
      }).finally(() => { state.loading = null; });
    }
    return state.loading;
  }

  function lookup(context, path) {
    let value = context;
    for (const key of String(path).split(".")) value = value && typeof value === "object" ? value[key] : undefined;
    if (value === undefined || value === null || typeof value === "object" || typeof value === "boolean") return "";
    return String(value).split(/\s+/).filter(Boolean).join(" ").slice(0, 60);
  }

  function markerFor(label) {
    return (state.data?.missing_marker || "【待填：{label}】").replace("{label}", label);
  }

  /** A marker left in the reply box (the part of missing_marker before {label} is enough to know one). */
  function markerAt(text) {
    const template = state.data?.missing_marker || "【待填：{label}】";
    const [head, tail] = template.split("{label}");
    const start = head ? text.indexOf(head) : -1;
    if (start === -1) return null;
    const end = tail ? text.indexOf(tail, start + head.length) : start + head.length;
    return end === -1 ? null : { start, end: end + (tail || "").length };
  }

  /** The text with {placeholders} filled from `context`; missing values as markers (service/canned_replies). */
  function render(text, context) {
    const known = new Map((state.data?.placeholders || []).map((p) => [p.name, p]));
    return String(text).replace(/\{([^{}\n]{0,40})\}/g, (whole, raw) => {
      const placeholder = known.get(raw);
      if (!placeholder) return whole;
      return lookup(context, placeholder.source) || markerFor(placeholder.label);
    });
  }

  function chatContext(session) {
    const context = session?.context || {};
    return { customer: context.customer || {}, slots: context.slots || {}, agent: { name: XZ.me().name || "" } };
  }

  /** Replies usable in the open chat: its group's first, then the ones for every group. */
  function forChat(session) {
    const items = state.data?.items || [];
    const group = session?.group || null;
    return [...items.filter((r) => group && r.group === group), ...items.filter((r) => r.group === null)];
  }

  function rank(reply, query) {
    const shortcut = (reply.shortcut || "").toLowerCase();
    const title = reply.title.toLowerCase();
    if (!query) return 5;
    if (shortcut === query) return 0;
    if (shortcut.startsWith(query)) return 1;
    if (title.startsWith(query)) return 2;
    if (title.includes(query)) return 3;
    if (reply.text.toLowerCase().includes(query)) return 4;
    return -1;
  }

  function matching(session, query) {
    const wanted = query.toLowerCase();
    return forChat(session).map((reply, order) => ({ reply, order, place: rank(reply, wanted) }))
      .filter((m) => m.place >= 0).sort((a, b) => a.place - b.place || a.order - b.order).map((m) => m.reply);
  }

  /** Put a reply into the box (over `range` when given) and select the first marker for the agent to type over. */
  function insert(reply, range) {
    const box = $("reply-input");
    if (!box || box.disabled) return;
    const text = render(reply.text, chatContext(XZ.viewing()));
    if (range) box.setSelectionRange(range.start, range.end);
    const before = range ? range.start : (box.selectionStart ?? box.value.length);
    if (!XZ.insertReply(text, false)) return;
    const marker = markerAt(box.value.slice(before, before + text.length));
    if (marker) {
      box.setSelectionRange(before + marker.start, before + marker.end);
      XZ.toast("请把【待填】处改成实际内容后再发送", "info");
    }
  }

  // --- buttons above the reply box ------------------------------------------------------------------
  function renderChips(session) {
    const box = $("quick-replies");
    if (!box) return;
    const list = session ? forChat(session) : [];
    const key = session ? `${session.session_id}|${session.group}|${state.at}` : "";
    if (key === state.chipsKey) return;
    state.chipsKey = key;
    const chips = list.slice(0, MAX_CHIPS).map((reply) => h("button", {
      type: "button", class: "chip chip-button canned-chip", text: reply.title, title: reply.text,
      dataset: { cannedId: String(reply.id) }, onclick: () => insert(reply),
    }));
    const more = list.length ? h("button", { type: "button", class: "chip chip-button canned-more", text: "/ 更多",
      title: "在回复框输入 / 搜索全部快捷回复", onclick: () => openSlash() }) : null;
    box.replaceChildren(...chips, more);
  }

  async function refreshChips(force) {
    const session = XZ.viewing();
    if (!session) {
      renderChips(null);
      return;
    }
    try {
      await replies(force);
    } catch (_error) {
      return; // the chat works on without them
    }
    renderChips(XZ.viewing());
  }

  /** The "/ 更多" button: a "/" at the caret (after a space when needed), then the list. */
  function openSlash() {
    const box = $("reply-input");
    if (!box || box.disabled) return;
    const at = box.selectionStart ?? box.value.length;
    const before = box.value.slice(0, at);
    XZ.insertReply(before && !/\s$/.test(before) ? " /" : "/", false);
    update();
  }

  // --- the "/" list ---------------------------------------------------------------------------------
  function popupNode() {
    let node = $("canned-popup");
    if (!node) {
      node = h("div", { id: "canned-popup", class: "canned-popup", role: "listbox", "aria-label": "快捷回复" });
      node.hidden = true;
      $("composer").append(node);
    }
    return node;
  }

  function closePopup(dismiss) {
    const { popup } = state;
    if (dismiss && popup.token) popup.dismissed = popup.token.start;
    popup.open = false;
    popup.token = null;
    const node = $("canned-popup");
    if (node) node.hidden = true;
    const box = $("reply-input");
    if (box) {
      box.setAttribute("aria-expanded", "false");
      box.removeAttribute("aria-activedescendant");
    }
  }

  function slashToken(box) {
    const caret = box.selectionStart ?? box.value.length;
    if (caret !== box.selectionEnd) return null;
    const found = SLASH.exec(box.value.slice(0, caret));
    return found ? { start: caret - found[2].length - 1, end: caret, query: found[2] } : null;
  }

  function update() {
    const box = $("reply-input");
    const session = XZ.viewing();
    const token = box && !box.disabled && session ? slashToken(box) : null;
    const { popup } = state;
    if (!token) {
      popup.dismissed = -1;
      closePopup(false);
      return;
    }
    if (token.start === popup.dismissed) return; // Esc closed it for this "/"
    if (!state.data) {
      replies(false).then(update, () => {});
      return;
    }
    const same = popup.open && popup.token?.query === token.query;
    popup.token = token;
    popup.matches = matching(session, token.query).slice(0, MAX_SHOWN);
    if (!same) popup.active = 0;
    popup.open = true;
    drawPopup();
  }

  function drawPopup() {
    const { popup } = state;
    const node = popupNode();
    const box = $("reply-input");
    const options = popup.matches.map((reply, index) => h("div", {
      id: `canned-option-${index}`, class: `canned-option${index === popup.active ? " is-active" : ""}`,
      role: "option", "aria-selected": String(index === popup.active), dataset: { cannedId: String(reply.id) },
      onmousedown: (event) => event.preventDefault(), // keep the caret in the box
      onclick: () => choose(index),
      onmousemove: () => {
        if (popup.active !== index) {
          popup.active = index;
          drawPopup();
        }
      },
    },
    h("span", { class: "canned-option-title", text: reply.title }),
    reply.shortcut ? h("span", { class: "canned-option-code", text: `/${reply.shortcut}` }) : null,
    reply.group ? h("span", { class: "canned-option-group", text: reply.group }) : null,
    h("span", { class: "canned-option-text", text: render(reply.text, chatContext(XZ.viewing())) })));
    node.replaceChildren(
      h("div", { class: "canned-popup-head", "aria-hidden": "true",
        text: popup.token.query ? `快捷回复 · “${popup.token.query}”` : "快捷回复" }),
      ...(options.length ? options : [h("div", { class: "canned-empty", text: "没有匹配的快捷回复（Esc 关闭）" })]),
      h("div", { class: "canned-popup-foot", "aria-hidden": "true", text: "↑↓ 选择 · Enter/Tab 插入 · Esc 关闭" }));
    node.hidden = false;
    box.setAttribute("aria-expanded", "true");
    if (options.length) {
      box.setAttribute("aria-activedescendant", `canned-option-${popup.active}`);
      options[popup.active].scrollIntoView({ block: "nearest" });
    } else box.removeAttribute("aria-activedescendant");
  }

  function choose(index) {
    const { popup } = state;
    const reply = popup.matches[index];
    const token = popup.token;
    if (!reply || !token) return;
    closePopup(false);
    insert(reply, token);
  }

  function onKeydown(event) {
    if (event.target?.id !== "reply-input") return;
    const { popup } = state;
    const composing = event.isComposing || event.keyCode === 229;
    if (popup.open && !composing) {
      const count = popup.matches.length;
      let handled = true;
      if (event.key === "ArrowDown" && count) popup.active = (popup.active + 1) % count;
      else if (event.key === "ArrowUp" && count) popup.active = (popup.active - 1 + count) % count;
      else if ((event.key === "Enter" && !event.shiftKey) || (event.key === "Tab" && !event.shiftKey)) {
        if (count) choose(popup.active);
        else closePopup(true); // nothing to insert: Enter does not send "/…" either
        handled = "done";
      } else if (event.key === "Escape") {
        closePopup(true);
        handled = "done";
      } else handled = false;
      if (handled) {
        event.preventDefault();
        event.stopPropagation(); // console.js would send on Enter
        if (handled === true) drawPopup();
      }
      return;
    }
    if (event.key === "Enter" && !event.shiftKey && !composing && refuseMarker()) {
      event.preventDefault();
      event.stopPropagation();
    }
  }

  /** A reply with a 【待填】 marker left is not sent: the marker is selected instead. */
  function refuseMarker() {
    const box = $("reply-input");
    const marker = box ? markerAt(box.value) : null;
    if (!marker) return false;
    box.focus();
    box.setSelectionRange(marker.start, marker.end);
    XZ.toast("回复里还有【待填】内容，请先改成实际内容", "error");
    return true;
  }

  // --- 设置 › 快捷回复 -----------------------------------------------------------------------------
  function groupName(group) {
    return group || "通用（所有技能组）";
  }

  function preview(text) {
    return render(text, { ...SAMPLE, agent: { name: XZ.me().name || "小王" } });
  }

  /** Unknown placeholders or a lone brace, as the desk would refuse them ("" when fine). */
  function textProblem(text) {
    const known = new Set((state.data?.placeholders || []).map((p) => p.name));
    for (const [, raw] of String(text).matchAll(/\{([^{}\n]{0,40})\}/g)) {
      if (known.size && !known.has(raw)) return `未知的占位符 {${raw.slice(0, 20)}}`;
    }
    return /[{}]/.test(String(text).replace(/\{([^{}\n]{0,40})\}/g, "")) ? "花括号只能用来写占位符" : "";
  }

  async function loadSettings() {
    const root = $("settings-canned");
    if (!root || XZ.me().role !== "主管") return;
    if (!root.dataset.built) buildSettings(root);
    const { settings } = state;
    try {
      const query = settings.query ? `?q=${encodeURIComponent(settings.query)}` : "";
      const page = await XZ.api(`/api/canned-replies${query}`);
      if (!settings.query) {
        state.data = page;
        state.at = Date.now();
      }
      if (!state.data) await replies(false);
      settings.rows = page.items;
      fillGroupSelects(page.groups || []);
      fillPlaceholderHelp();
      drawRows();
    } catch (error) {
      $("canned-rows").replaceChildren(h("tr", {}, h("td", { colspan: "6", class: "canned-error",
        text: `快捷回复加载失败：${error.message}` })));
    }
  }

  function buildSettings(root) {
    root.dataset.built = "1";
    root.classList.add("canned-settings");
    const search = h("input", { id: "canned-search", type: "search", placeholder: "标题、内容或快捷码", maxlength: "50" });
    search.addEventListener("input", () => {
      clearTimeout(state.settings.timer);
      state.settings.timer = setTimeout(() => {
        state.settings.query = search.value.trim();
        loadSettings();
      }, 250);
    });
    const filter = h("select", { id: "canned-filter" });
    filter.addEventListener("change", () => {
      state.settings.group = filter.value;
      drawRows();
    });
    const help = h("p", { class: "muted canned-intro",
      text: "坐席在回复框上方点击，或在回复框输入 / 加关键字搜索后按 Enter 插入；占位符会自动换成当前会话的客户信息。" });
    root.replaceChildren(
      h("div", { class: "canned-head" }, h("h2", { class: "canned-title", text: "快捷回复" }),
        h("button", { id: "canned-add", type: "button", class: "btn btn-primary btn-small", text: "新增快捷回复",
          onclick: () => openEditor(null) })),
      help,
      h("div", { class: "canned-toolbar" },
        h("label", { for: "canned-search", text: "搜索" }), search,
        h("label", { for: "canned-filter", text: "技能组" }), filter),
      h("div", { class: "canned-table-wrap" }, h("table", { class: "canned-table" },
        h("thead", {}, h("tr", {}, ...["标题", "快捷码", "技能组", "内容", "最后修改", "操作"].map((t) =>
          h("th", { scope: "col", text: t })))),
        h("tbody", { id: "canned-rows" }))));
    document.body.append(editorDialog(), deleteDialog());
  }

  function fillGroupSelects(groups) {
    const filter = $("canned-filter");
    const keep = filter.value;
    filter.replaceChildren(h("option", { value: "", text: "全部" }), h("option", { value: "*", text: "通用（所有技能组）" }),
      ...groups.map((g) => h("option", { value: g, text: g })));
    filter.value = [...filter.options].some((o) => o.value === keep) ? keep : "";
    const pick = $("canned-group");
    const chosen = pick.value;
    pick.replaceChildren(h("option", { value: "", text: "通用（所有技能组）" }), ...groups.map((g) => h("option", { value: g, text: g })));
    pick.value = [...pick.options].some((o) => o.value === chosen) ? chosen : "";
  }

  function drawRows() {
    const { settings } = state;
    const wanted = settings.group;
    const rows = (settings.rows || []).filter((r) => !wanted || (wanted === "*" ? r.group === null : r.group === wanted));
    const body = $("canned-rows");
    if (!rows.length) {
      body.replaceChildren(h("tr", {}, h("td", { colspan: "6", class: "empty-note",
        text: settings.query || wanted ? "没有符合条件的快捷回复" : "还没有快捷回复，点击“新增快捷回复”添加" })));
      return;
    }
    body.replaceChildren(...rows.map((reply) => h("tr", { dataset: { cannedId: String(reply.id) } },
      h("td", { class: "canned-cell-title", text: reply.title }),
      h("td", { class: "canned-cell-code", text: reply.shortcut ? `/${reply.shortcut}` : "—" }),
      h("td", {}, h("span", { class: `canned-badge${reply.group ? "" : " canned-badge-all"}`, text: groupName(reply.group) })),
      h("td", { class: "canned-cell-text" }, h("div", { class: "canned-clamp", text: reply.text, title: reply.text })),
      h("td", { class: "canned-cell-when", text: `${reply.updated_by} · ${String(reply.updated_at || "").slice(0, 16).replace("T", " ")}` }),
      h("td", { class: "canned-actions" },
        h("button", { type: "button", class: "btn btn-secondary btn-small", text: "编辑", "aria-label": `编辑 ${reply.title}`,
          onclick: () => openEditor(reply) }),
        h("button", { type: "button", class: "btn btn-danger btn-small", text: "删除", "aria-label": `删除 ${reply.title}`,
          onclick: () => openDelete(reply) })))));
  }

  function updatePreview() {
    const text = $("canned-text").value;
    $("canned-preview").textContent = text.trim() ? preview(text) : "（输入内容后显示预览）";
    $("canned-problem").textContent = textProblem(text);
  }

  /** The placeholder buttons of the editor, from the desk's list (each inserts {name} at the caret). */
  function fillPlaceholderHelp() {
    const list = $("canned-ph-list");
    const placeholders = state.data?.placeholders || [];
    if (!list || list.childElementCount === placeholders.length) return;
    list.replaceChildren(...placeholders.map((p) => h("button", { type: "button", class: "chip chip-button canned-ph",
      title: `插入 {${p.name}}：${p.label}`, onclick: () => {
        const text = $("canned-text");
        const start = text.selectionStart ?? text.value.length;
        const token = `{${p.name}}`;
        text.value = text.value.slice(0, start) + token + text.value.slice(text.selectionEnd ?? start);
        text.focus();
        text.selectionStart = text.selectionEnd = start + token.length;
        updatePreview();
      } }, h("code", { text: `{${p.name}}` }), ` ${p.label}`)));
  }

  function editorDialog() {
    const text = h("textarea", { id: "canned-text", rows: "5", maxlength: "1000", required: true });
    text.addEventListener("input", updatePreview);
    const form = h("form", { id: "canned-form", method: "dialog" },
      h("h2", { id: "canned-dialog-title", text: "新增快捷回复" }),
      h("label", { for: "canned-title-input", text: "标题" }),
      h("input", { id: "canned-title-input", type: "text", maxlength: "30", required: true, placeholder: "例如：物流查询" }),
      h("label", { for: "canned-shortcut", text: "快捷码（可选）" }),
      h("input", { id: "canned-shortcut", type: "text", maxlength: "16", placeholder: "字母或数字，例如 track；输入 /track 即可找到" }),
      h("label", { for: "canned-group", text: "技能组" }),
      h("select", { id: "canned-group" }),
      h("label", { for: "canned-text", text: "快捷回复内容" }), text,
      h("div", { class: "canned-ph-help" }, h("span", { class: "hint", text: "占位符（点击插入，发送前自动换成会话里的信息；没有时显示【待填】）：" }),
        h("div", { id: "canned-ph-list", class: "canned-ph-list" })),
      h("p", { id: "canned-problem", class: "canned-error", role: "alert" }),
      h("div", { class: "canned-preview-box" }, h("span", { class: "hint", text: "预览（示例客户 张伟）" }),
        h("p", { id: "canned-preview", class: "canned-preview", text: "（输入内容后显示预览）" })),
      h("div", { class: "dialog-actions" },
        h("button", { type: "button", class: "btn btn-ghost", text: "取消", onclick: () => $("canned-dialog").close("") }),
        h("button", { id: "canned-save", type: "submit", class: "btn btn-primary", text: "保存" })));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      save();
    });
    return h("dialog", { id: "canned-dialog", class: "canned-dialog", "aria-labelledby": "canned-dialog-title" }, form);
  }

  function deleteDialog() {
    const form = h("form", { method: "dialog" },
      h("h2", { id: "canned-delete-title", text: "删除快捷回复？" }),
      h("p", { id: "canned-delete-text", class: "muted" }),
      h("div", { class: "dialog-actions" },
        h("button", { type: "button", class: "btn btn-ghost", text: "取消", onclick: () => $("canned-delete-dialog").close("") }),
        h("button", { id: "canned-delete-confirm", type: "submit", class: "btn btn-danger", value: "confirm", text: "删除" })));
    const dialog = h("dialog", { id: "canned-delete-dialog", "aria-labelledby": "canned-delete-title" }, form);
    dialog.addEventListener("close", async () => {
      const reply = state.settings.editing;
      if (dialog.returnValue !== "confirm" || !reply) return;
      try {
        await XZ.api(`/api/canned-replies/${reply.id}`, { method: "DELETE" });
        XZ.toast(`已删除快捷回复“${reply.title}”`, "success");
        changed();
      } catch (error) {
        XZ.toast(error.message, "error");
      }
    });
    return dialog;
  }

  function openEditor(reply) {
    state.settings.editing = reply;
    $("canned-dialog-title").textContent = reply ? "编辑快捷回复" : "新增快捷回复";
    $("canned-title-input").value = reply?.title || "";
    $("canned-shortcut").value = reply?.shortcut || "";
    $("canned-group").value = reply?.group || "";
    $("canned-text").value = reply?.text || "";
    fillPlaceholderHelp();
    updatePreview();
    $("canned-dialog").showModal();
    $("canned-title-input").focus();
  }

  function openDelete(reply) {
    state.settings.editing = reply;
    $("canned-delete-text").textContent = `“${reply.title}”删除后坐席将不能再使用它。`;
    const dialog = $("canned-delete-dialog");
    dialog.returnValue = "";
    dialog.showModal();
  }

  async function save() {
    const reply = state.settings.editing;
    const json = {
      title: $("canned-title-input").value, text: $("canned-text").value,
      shortcut: $("canned-shortcut").value.trim() || null, group: $("canned-group").value || null,
    };
    const problem = textProblem(json.text);
    if (problem) {
      $("canned-problem").textContent = problem;
      return;
    }
    const button = $("canned-save");
    button.disabled = true;
    try {
      await XZ.api(reply ? `/api/canned-replies/${reply.id}` : "/api/canned-replies",
        { method: reply ? "PUT" : "POST", json });
      $("canned-dialog").close("saved");
      XZ.toast(`快捷回复“${json.title.trim()}”已保存`, "success");
      changed();
    } catch (error) {
      $("canned-problem").textContent = error.message; // the desk's reason (e.g. 快捷码 … 已被使用)
    } finally {
      button.disabled = false;
    }
  }

  function changed() {
    state.at = 0; // the chips and the "/" list fetch again
    loadSettings();
  }

  // --- wiring -----------------------------------------------------------------------------------------
  function wire() {
    const box = $("reply-input");
    const composer = $("composer");
    if (!box || !composer) return;
    box.setAttribute("aria-autocomplete", "list");
    box.setAttribute("aria-controls", "canned-popup");
    box.setAttribute("aria-expanded", "false");
    box.addEventListener("input", update);
    box.addEventListener("click", update);
    box.addEventListener("blur", () => closePopup(false));
    composer.addEventListener("keydown", onKeydown, true); // before console.js's own Enter-sends on the box
    document.addEventListener("submit", (event) => { // the 发送 button
      if (event.target?.id === "composer" && refuseMarker()) {
        event.preventDefault();
        event.stopPropagation();
      }
    }, true);
    XZ.on("viewing", (session) => {
      refreshChips(false);
      if (!session) closePopup(false);
    });
    XZ.on("view", ({ view }) => {
      if (view === "settings") loadSettings();
    });
    XZ.on("logout", () => {
      Object.assign(state, { data: null, at: 0, chipsKey: "" });
      state.settings.rows = null;
      closePopup(false);
      for (const id of ["canned-dialog", "canned-delete-dialog"]) $(id)?.remove(); // the next login may be an agent's
      const root = $("settings-canned");
      if (root) {
        delete root.dataset.built;
        root.replaceChildren();
      }
      const chips = $("quick-replies");
      if (chips) chips.replaceChildren();
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", wire);
  else wire();
})();
