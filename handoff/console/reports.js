/* 小智客服 · 报表 (supervisors' reports): #view-reports.
 *
 * GET /api/reports/summary?period=today|7d|30d: KPI cards, charts (ECharts, served from node_modules at
 * /console/vendor/echarts.min.js) and the tables, each with 「导出 CSV」 (GET /api/reports/<table>.csv). The
 * figures are defined in service/reports/__init__.py. Text goes in with XZ.h (textContent), never as HTML.
 */
"use strict";

(() => {
  const XZ = window.XZ;
  if (!XZ) return;
  const h = XZ.h;
  const PERIODS = [["today", "今日"], ["7d", "近7天"], ["30d", "近30天"]];
  const CHART_TABLES = ["daily", "handoff_reasons", "csat", "top_intents"];
  const COLORS = ["#1f6feb", "#16a34a", "#d97706", "#dc2626", "#7c3aed", "#0891b2", "#9ca3af"];
  const state = { period: "today", data: null, loading: false, error: "", charts: [], open: false };

  // --- formatting ------------------------------------------------------------------------------
  const rate = (v) => (v === null || v === undefined ? "—" : `${(v * 100).toFixed(1)}%`);
  const score = (v) => (v === null || v === undefined ? "—" : Number(v).toFixed(2));

  const duration = XZ.duration;

  function moment(iso) {
    const when = new Date(iso);
    if (Number.isNaN(when.getTime())) return iso || "";
    return when.toLocaleString("zh-CN", { hour12: false, timeZone: "Asia/Shanghai", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit" });
  }

  function cell(value, kind) {
    if (value === null || value === undefined || value === "") return "—";
    if (kind === "rate") return rate(value);
    if (kind === "seconds") return duration(value);
    if (kind === "score") return score(value);
    if (kind === "datetime") return moment(value);
    return String(value);
  }

  // --- loading ---------------------------------------------------------------------------------
  let charting = null;

  /** ECharts, loaded the first time a supervisor opens the reports (agents never download it); false if missing. */
  function loadEcharts() {
    if (window.echarts) return Promise.resolve(true);
    if (!charting) {
      charting = new Promise((resolve) => {
        const script = h("script", { src: "vendor/echarts.min.js" });
        script.addEventListener("load", () => resolve(Boolean(window.echarts)));
        script.addEventListener("error", () => { charting = null; script.remove(); resolve(false); });
        document.head.append(script);
      });
    }
    return charting;
  }

  async function load() {
    if (XZ.me().role !== "主管") return;
    state.loading = true;
    state.error = "";
    render();
    try {
      const [data] = await Promise.all([XZ.api(`/api/reports/summary?period=${encodeURIComponent(state.period)}`),
        loadEcharts()]);
      state.data = data;
    } catch (error) {
      state.data = null;
      state.error = error.status === 403 ? "仅主管可查看报表" : `报表加载失败：${error.message}`;
    } finally {
      state.loading = false;
    }
    render();
  }

  async function exportCsv(name, button) {
    button.disabled = true;
    try {
      const text = await XZ.api(`/api/reports/${encodeURIComponent(name)}.csv?period=${encodeURIComponent(state.period)}`);
      // fetch's text() drops the byte order mark: put it back, so Excel reads the Chinese
      const blob = new Blob(["\ufeff", text], { type: "text/csv;charset=utf-8" });
      const link = h("a", { href: URL.createObjectURL(blob),
        download: `report-${name}-${state.period}-${state.data?.period?.last_day || "today"}.csv` });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(link.href), 10000);
      XZ.toast("CSV 已导出", "success");
    } catch (error) {
      XZ.toast(`导出失败：${error.message}`, "error");
    } finally {
      button.disabled = false;
    }
  }

  // --- pieces ----------------------------------------------------------------------------------
  function exportButton(name, title) {
    const button = h("button", { type: "button", class: "btn btn-secondary btn-small rp-export", text: "导出 CSV",
      "aria-label": `导出「${title}」CSV`, dataset: { table: name } });
    button.addEventListener("click", () => exportCsv(name, button));
    return button;
  }

  function periodSwitch() {
    return h("div", { class: "rp-periods", role: "group", "aria-label": "统计周期" },
      PERIODS.map(([name, label]) => h("button", { type: "button", class: "rp-period", text: label,
        "aria-pressed": String(state.period === name), disabled: state.loading,
        onclick: () => { if (state.period !== name) { state.period = name; load(); } } })));
  }

  function kpi(label, value, note) {
    return h("div", { class: "rp-kpi", dataset: { kpi: label } },
      h("span", { class: "rp-kpi-label", text: label }), h("strong", { class: "rp-kpi-value", text: value }),
      note ? h("span", { class: "rp-kpi-note", text: note }) : null);
  }

  function kpis(k) {
    const csat = k.csat;
    return h("section", { class: "rp-block" },
      h("div", { class: "rp-block-head" }, h("h3", { class: "rp-block-title", text: "核心指标" }), exportButton("kpis", "核心指标")),
      h("div", { class: "rp-kpis", id: "report-kpis" },
        kpi("会话数", String(k.conversations), `客户消息 ${k.customer_messages} 条`),
        kpi("机器人独立解决率", rate(k.bot_only_rate), `${k.bot_only} 个会话未转人工、未建工单`),
        kpi("转人工率", rate(k.handoff_rate), `转人工 ${k.handoffs} 次`),
        kpi("未识别率", rate(k.fallback_rate), `未识别 ${k.fallbacks} 条`),
        kpi("平均首次响应", duration(k.first_response.average_s), `中位数 ${duration(k.first_response.median_s)}`),
        kpi("平均处理时长", duration(k.handling.average_s), `中位数 ${duration(k.handling.median_s)}`),
        kpi("满意度（机器人）", score(csat.bot.average), `${csat.bot.count} 条评价`),
        kpi("满意度（人工）", score(csat.agent.average), `${csat.agent.count} 条评价 · 工单 ${score(csat.ticket.average)}`),
        kpi("工单 新建/关闭", `${k.tickets.opened} / ${k.tickets.closed}`, `已解决 ${k.tickets.resolved}`),
        kpi("SLA 达成率", rate(k.tickets.sla.rate), `到期 ${k.tickets.sla.due} · 按时 ${k.tickets.sla.hit}`)));
  }

  function table(t) {
    const head = h("div", { class: "rp-block-head" }, h("h3", { class: "rp-block-title", text: t.title }),
      exportButton(t.name, t.title));
    if (!t.rows.length) return h("section", { class: "rp-block", dataset: { table: t.name } }, head,
      h("p", { class: "empty-note", text: t.empty }));
    return h("section", { class: "rp-block", dataset: { table: t.name } }, head,
      h("div", { class: "rp-table-wrap" }, h("table", { class: "rp-table" },
        h("thead", {}, h("tr", {}, t.columns.map((c) => h("th", { scope: "col", class: c.kind === "text" ? "" : "num", text: c.label })))),
        h("tbody", {}, t.rows.map((row) => h("tr", {}, t.columns.map((c) =>
          h("td", { class: c.kind === "text" ? "" : "num", text: cell(row[c.key], c.kind) }))))))));
  }

  // --- charts ----------------------------------------------------------------------------------
  function chartOptions(name, t) {
    const base = { color: COLORS, animationDuration: 400, textStyle: { fontFamily: "inherit" }, tooltip: { trigger: "axis" },
      grid: { left: 48, right: 16, top: 36, bottom: 32, containLabel: true } };
    if (name === "daily") {
      return { ...base, legend: { top: 0 }, xAxis: { type: "category", data: t.rows.map((r) => r.day.slice(5)) },
        yAxis: { type: "value", minInterval: 1 },
        series: [{ name: "会话数", type: "bar", data: t.rows.map((r) => r.conversations) },
          { name: "转人工次数", type: "line", data: t.rows.map((r) => r.handoffs) }] };
    }
    if (name === "handoff_reasons") {
      return { ...base, tooltip: { trigger: "item", formatter: "{b}：{c} 次（{d}%）" }, legend: { bottom: 0, type: "scroll" },
        series: [{ name: "转人工原因", type: "pie", radius: ["40%", "68%"], center: ["50%", "45%"],
          data: t.rows.map((r) => ({ name: r.label, value: r.count })) }] };
    }
    if (name === "csat") {
      return { ...base, legend: { top: 0 }, xAxis: { type: "category", data: ["1分", "2分", "3分", "4分", "5分"] },
        yAxis: { type: "value", minInterval: 1 },
        series: t.rows.map((r) => ({ name: r.label, type: "bar", data: [1, 2, 3, 4, 5].map((n) => r[`score_${n}`]) })) };
    }
    const rows = [...t.rows].reverse();
    return { ...base, tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      xAxis: { type: "value", minInterval: 1 }, yAxis: { type: "category", data: rows.map((r) => r.label) },
      series: [{ name: "消息数", type: "bar", data: rows.map((r) => r.count) }] };
  }

  function hasData(name, t) {
    if (name === "daily") return t.rows.some((r) => r.conversations || r.handoffs);
    if (name === "csat") return t.rows.some((r) => r.count);
    return t.rows.length > 0;
  }

  const CHART_TITLES = { daily: "每日会话与转人工", handoff_reasons: "转人工原因", csat: "满意度分布（机器人 / 人工 / 工单）",
    top_intents: "热门意图" };

  function chartBlock(name, t) {
    const box = h("div", { class: "rp-chart", dataset: { chart: name }, role: "img", "aria-label": CHART_TITLES[name] });
    const block = h("section", { class: "rp-block rp-chart-block" }, h("h3", { class: "rp-block-title", text: CHART_TITLES[name] }), box);
    if (!window.echarts) box.replaceChildren(h("p", { class: "empty-note", text: "图表组件未安装（运行 make web-deps）" }));
    else if (!hasData(name, t)) box.replaceChildren(h("p", { class: "empty-note", text: "本期暂无数据" }));
    else box.dataset.pending = "1";
    return block;
  }

  function drawCharts(root) {
    disposeCharts();
    if (!window.echarts || !state.data) return;
    for (const box of root.querySelectorAll(".rp-chart[data-pending]")) {
      const name = box.dataset.chart;
      delete box.dataset.pending;
      const chart = window.echarts.init(box, null, { renderer: "canvas" });
      chart.setOption(chartOptions(name, state.data.tables[name]));
      state.charts.push(chart);
    }
  }

  function disposeCharts() {
    for (const chart of state.charts) chart.dispose();
    state.charts = [];
  }

  /** Replace a panel's content; null and false children are left out. */
  function fill(root, ...nodes) {
    root.replaceChildren(...nodes.filter(Boolean));
  }

  // --- the view --------------------------------------------------------------------------------
  function render() {
    const root = document.getElementById("view-reports");
    if (!root) return;
    const data = state.data;
    const range = data ? (data.period.first_day === data.period.last_day ? data.period.last_day
      : `${data.period.first_day} 至 ${data.period.last_day}`) : "";
    const head = h("header", { class: "rp-head" },
      h("div", {}, h("h2", { class: "rp-title", text: "报表" }),
        h("p", { class: "hint", id: "report-range", text: state.loading ? "加载中…" : (data ? `${data.period.label} · ${range}（北京时间）` : "") })),
      periodSwitch());
    disposeCharts();
    if (!data) {
      fill(root, head, state.error ? h("p", { class: "form-error", role: "alert", text: state.error }) : null);
      return;
    }
    const tables = data.tables;
    const warnings = data.truncated ? h("p", { class: "rp-warning", role: "status",
      text: "本期数据量超过单次统计上限，部分指标只统计了前面的记录" }) : null;
    fill(root, head, warnings, state.error ? h("p", { class: "form-error", role: "alert", text: state.error }) : null,
      kpis(data.kpis),
      h("div", { class: "rp-charts" }, CHART_TABLES.map((name) => chartBlock(name, tables[name]))),
      h("div", { class: "rp-tables" }, Object.values(tables).filter((t) => t.name !== "kpis").map(table)));
    drawCharts(root);
  }

  window.addEventListener("resize", () => { for (const chart of state.charts) chart.resize(); });
  XZ.on("view", ({ view }) => {
    state.open = view === "reports";
    if (state.open) load();
  });
  XZ.on("logout", () => {
    disposeCharts();
    Object.assign(state, { data: null, error: "", period: "today", open: false });
    const root = document.getElementById("view-reports");
    if (root) root.replaceChildren();
  });
})();
