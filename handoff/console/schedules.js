/* 小智客服 · 坐席工作台: 设置 › 排班与服务时间 (#settings-schedules), for 主管.
 *
 * Skill groups' hours, holidays (days closed or with other hours) and a weekly shift grid per agent, over
 * GET /api/schedules and its 主管-only changes (PUT/DELETE /api/schedules/groups/<group>, POST/DELETE
 * /api/schedules/holidays, POST/DELETE /api/schedules/shifts). Uses window.XZ from console.js; every text from the
 * desk goes into the page as text (XZ.h), never as HTML.
 */
"use strict";

(() => {
  const XZ = window.XZ;
  if (!XZ) return;
  const h = XZ.h;
  const WEEKDAYS = ["周一", "周二", "周三", "周四", "周五", "周六", "周日"];
  const SOURCES = { desk: "工作台设置", "handoff.yml": "handoff.yml", working_hours: "默认（working_hours）" };
  const state = { data: null, monday: null, editing: null, busy: false };

  // --- dates as YYYY-MM-DD strings, computed in UTC so the browser's time zone never shifts a day ----------
  const toDate = (text) => new Date(`${text}T00:00:00Z`);
  const ymd = (date) => date.toISOString().slice(0, 10);
  const addDays = (text, days) => ymd(new Date(toDate(text).getTime() + days * 86400000));
  const mondayOf = (text) => addDays(text, -((toDate(text).getUTCDay() + 6) % 7));
  const shortDay = (text) => `${Number(text.slice(5, 7))}/${Number(text.slice(8, 10))}`;
  const clock = (at) => (typeof at === "string" && at.length >= 16 ? at.slice(11, 16) : "");
  const nowDay = () => (state.data && state.data.now ? state.data.now.slice(0, 10) : ymd(new Date()));

  function root() {
    return document.getElementById("settings-schedules");
  }

  async function load() {
    const box = root();
    if (!box) return;
    try {
      const query = state.monday ? `?from=${state.monday}&days=7` : "";
      state.data = await XZ.api(`/api/schedules${query}`);
      if (!state.monday) {
        state.monday = mondayOf(nowDay());
        if (state.data.from !== state.monday) {
          state.data = await XZ.api(`/api/schedules?from=${state.monday}&days=7`);
        }
      }
      render();
    } catch (error) {
      box.replaceChildren(h("p", { class: "sched-error", text: `排班加载失败：${error.message}` }));
    }
  }

  async function change(path, method, json, done) {
    if (state.busy) return;
    state.busy = true;
    try {
      await XZ.api(path, { method, json });
      XZ.toast(done, "success");
      state.editing = null;
      await load();
    } catch (error) {
      XZ.toast(error.message, "error");
    } finally {
      state.busy = false;
    }
  }

  function timeInput(name, value, label) {
    return h("input", { type: "time", name, value: value || "", required: true, "aria-label": label, class: "sched-time" });
  }

  // --- group hours ----------------------------------------------------------------------------------
  function groupStatus(g) {
    if (g.open) return h("span", { class: "sched-badge sched-open", text: "上班中" });
    const day = g.back_at ? g.back_at.slice(0, 10) : "";
    const named = day === nowDay() ? "今天" : day === addDays(nowDay(), 1) ? "明天" : shortDay(day || nowDay());
    const back = g.back_at ? `${named} ${clock(g.back_at)} 回来` : "近期无排班";
    return h("span", { class: "sched-badge sched-closed", text: `下班 · ${back}` });
  }

  function hoursEditor(g) {
    const days = new Set(g.days);
    const boxes = WEEKDAYS.map((name, i) => h("label", { class: "sched-day" },
      h("input", { type: "checkbox", name: "day", value: String(i + 1), checked: days.has(i + 1) }), name));
    const form = h("form", { class: "sched-inline", "aria-label": `${g.group}服务时间` },
      timeInput("start", g.start, "上班时间"), h("span", { text: "至" }), timeInput("end", g.end, "下班时间"),
      h("span", { class: "sched-days" }, boxes),
      h("button", { type: "submit", class: "btn btn-primary btn-small", text: "保存" }),
      h("button", { type: "button", class: "btn btn-ghost btn-small", text: "取消",
        onclick: () => { state.editing = null; render(); } }));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const chosen = [...form.querySelectorAll('input[name="day"]:checked')].map((b) => Number(b.value));
      if (!chosen.length) {
        XZ.toast("请至少选择一天", "error");
        return;
      }
      change(`/api/schedules/groups/${encodeURIComponent(g.group)}`, "PUT",
        { start: form.elements.start.value, end: form.elements.end.value, days: chosen }, `${g.group}服务时间已保存`);
    });
    return form;
  }

  function groupsTable() {
    const editable = state.data.editable;
    const rows = state.data.groups.map((g) => {
      const editing = state.editing === `group:${g.group}`;
      const actions = editable ? [
        h("button", { type: "button", class: "btn btn-secondary btn-small", text: "编辑",
          onclick: () => { state.editing = `group:${g.group}`; render(); } }),
        g.source === "desk" ? h("button", { type: "button", class: "btn btn-ghost btn-small", text: "恢复默认",
          onclick: () => change(`/api/schedules/groups/${encodeURIComponent(g.group)}`, "DELETE", undefined,
            `${g.group}已恢复 handoff.yml 的服务时间`) }) : null] : [];
      return h("tr", { dataset: { group: g.group } },
        h("th", { scope: "row", text: g.group }),
        h("td", {}, editing ? hoursEditor(g) : g.text),
        h("td", { class: "sched-muted", text: SOURCES[g.source] || g.source }),
        h("td", {}, groupStatus(g)),
        h("td", { class: "sched-actions" }, editing ? null : actions));
    });
    return h("table", { class: "sched-table", id: "sched-groups" },
      h("thead", {}, h("tr", {}, ...["技能组", "服务时间", "来源", "现在", ""].map((t) => h("th", { scope: "col", text: t })))),
      h("tbody", {}, rows));
  }

  // --- holidays ---------------------------------------------------------------------------------------
  function holidayText(d) {
    return d.closed ? "休息" : `${d.start}–${d.end}${d.end <= d.start ? "（次日）" : ""}`;
  }

  function holidayForm() {
    const groups = state.data.groups.map((g) => h("option", { value: g.group, text: g.group }));
    const mode = h("select", { name: "mode", "aria-label": "类型" },
      h("option", { value: "closed", text: "全天休息" }), h("option", { value: "hours", text: "特别服务时间" }));
    const hours = h("span", { class: "sched-hours", hidden: true },
      timeInput("start", "09:00", "开始"), h("span", { text: "至" }), timeInput("end", "18:00", "结束"));
    mode.addEventListener("change", () => { hours.hidden = mode.value !== "hours"; });
    const form = h("form", { class: "sched-inline", id: "sched-holiday-form", "aria-label": "添加节假日" },
      h("input", { type: "date", name: "date", required: true, "aria-label": "日期", value: nowDay() }),
      h("select", { name: "group", "aria-label": "技能组" }, h("option", { value: "", text: "全部技能组" }), groups),
      mode, hours,
      h("input", { type: "text", name: "note", maxlength: "60", placeholder: "说明，如：元旦", "aria-label": "说明" }),
      h("button", { type: "submit", class: "btn btn-primary btn-small", text: "添加" }));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const e = form.elements;
      const body = { date: e.date.value, group: e.group.value || null, note: e.note.value.trim() };
      if (mode.value === "hours") Object.assign(body, { closed: false, start: e.start.value, end: e.end.value });
      else body.closed = true;
      change("/api/schedules/holidays", "POST", body, "节假日已添加");
    });
    return form;
  }

  function holidaysList() {
    const items = state.data.holidays.map((d) => h("li", { class: "sched-holiday" },
      h("span", { class: "sched-date", text: d.date }),
      h("span", { class: "sched-badge", text: d.group || "全部技能组" }),
      h("span", { text: holidayText(d) }),
      d.note ? h("span", { class: "sched-muted", text: d.note }) : null,
      d.source === "desk" && state.data.editable
        ? h("button", { type: "button", class: "btn btn-ghost btn-small", text: "删除", "aria-label": `删除 ${d.date}`,
          onclick: () => change(`/api/schedules/holidays/${d.id}`, "DELETE", undefined, "节假日已删除") })
        : h("span", { class: "sched-muted", text: d.source === "desk" ? "" : "handoff.yml" })));
    return items.length ? h("ul", { class: "sched-list", id: "sched-holidays" }, items)
      : h("p", { class: "sched-muted", id: "sched-holidays", text: "近期没有节假日安排" });
  }

  // --- the weekly shift grid ---------------------------------------------------------------------------
  function shiftForm(days) {
    const agents = state.data.agents.map((a) => h("option", { value: a.username, text: `${a.name}（${a.username}）` }));
    const form = h("form", { class: "sched-inline", id: "sched-shift-form", "aria-label": "添加排班" },
      h("select", { name: "username", "aria-label": "坐席", required: true }, agents),
      h("input", { type: "date", name: "date", required: true, "aria-label": "日期", value: days[0] }),
      timeInput("start", "09:00", "上班"), h("span", { text: "至" }), timeInput("end", "18:00", "下班"),
      h("button", { type: "submit", class: "btn btn-primary btn-small", text: "添加排班" }));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const e = form.elements;
      change("/api/schedules/shifts", "POST", { username: e.username.value, date: e.date.value, start: e.start.value,
        end: e.end.value }, "排班已添加");
    });
    return form;
  }

  function shiftGrid(days, form) {
    const byCell = new Map();
    for (const s of state.data.shifts) {
      const key = `${s.username}|${s.date}`;
      if (!byCell.has(key)) byCell.set(key, []);
      byCell.get(key).push(s);
    }
    const head = h("tr", {}, h("th", { scope: "col", text: "坐席" }),
      days.map((d, i) => h("th", { scope: "col", class: d === nowDay() ? "sched-today" : "", text: `${WEEKDAYS[i]} ${shortDay(d)}` })));
    const rows = state.data.agents.map((a) => h("tr", { dataset: { agent: a.username } },
      h("th", { scope: "row" }, h("span", { text: a.name }), h("small", { class: "sched-muted", text: (a.groups || []).join("、") })),
      days.map((d) => h("td", { class: d === nowDay() ? "sched-today" : "" },
        (byCell.get(`${a.username}|${d}`) || []).map((s) => h("span", { class: "sched-shift" },
          `${s.start}–${s.end}${s.end <= s.start ? "⁺¹" : ""}`,
          state.data.editable ? h("button", { type: "button", class: "sched-remove", text: "×",
            "aria-label": `删除 ${a.name} ${d} ${s.start}–${s.end} 的排班`,
            onclick: () => change(`/api/schedules/shifts/${s.id}`, "DELETE", undefined, "排班已删除") }) : null)),
        state.data.editable ? h("button", { type: "button", class: "sched-add", text: "+", title: "在这一天添加排班",
          "aria-label": `为${a.name}添加 ${d} 的排班`,
          onclick: () => {
            form.elements.username.value = a.username;
            form.elements.date.value = d;
            form.elements.start.focus();
          } }) : null))));
    return h("div", { class: "sched-grid-wrap" }, h("table", { class: "sched-table sched-grid", id: "sched-grid" },
      h("thead", {}, head), h("tbody", {}, rows)));
  }

  function week() {
    const days = [...Array(7).keys()].map((n) => addDays(state.monday, n));
    const move = (delta) => { state.monday = addDays(state.monday, delta); load(); };
    const nav = h("div", { class: "sched-week" },
      h("button", { type: "button", class: "btn btn-secondary btn-small", text: "‹ 上一周", onclick: () => move(-7) }),
      h("strong", { id: "sched-week-label", text: `${days[0]} 至 ${days[6]}` }),
      h("button", { type: "button", class: "btn btn-secondary btn-small", text: "本周",
        onclick: () => { state.monday = mondayOf(nowDay()); load(); } }),
      h("button", { type: "button", class: "btn btn-secondary btn-small", text: "下一周 ›", onclick: () => move(7) }));
    const form = shiftForm(days);
    return [nav, state.data.editable ? form : null, shiftGrid(days, form),
      h("p", { class: "sched-muted", text: "排班内的坐席所在技能组视为上班；是否分配会话仍看坐席的在线状态。⁺¹ 表示到次日。" })];
  }

  function render() {
    const box = root();
    if (!box || !state.data) return;
    const focusId = document.activeElement && box.contains(document.activeElement) ? document.activeElement.id : "";
    box.replaceChildren(
      h("h2", { class: "sched-title", text: "排班与服务时间" }),
      h("section", { class: "sched-section", "aria-labelledby": "sched-h-groups" },
        h("h3", { id: "sched-h-groups", text: "技能组服务时间" }), groupsTable()),
      h("section", { class: "sched-section", "aria-labelledby": "sched-h-holidays" },
        h("h3", { id: "sched-h-holidays", text: "节假日与特别安排" }),
        state.data.editable ? holidayForm() : null, holidaysList()),
      h("section", { class: "sched-section", "aria-labelledby": "sched-h-shifts" },
        h("h3", { id: "sched-h-shifts", text: "每周排班" }), week()));
    if (focusId && document.getElementById(focusId)) document.getElementById(focusId).focus();
  }

  XZ.on("view", ({ view }) => {
    if (view === "settings") load();
  });
  XZ.on("logout", () => {
    Object.assign(state, { data: null, monday: null, editing: null });
    const box = root();
    if (box) box.replaceChildren();
  });
})();
