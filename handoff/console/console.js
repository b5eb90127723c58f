/* 小智客服 · 坐席工作台: the agents' console for handed-off chats.
 *
 * Plain ES2020, no dependencies. Talks to the desk: POST /api/auth/token to log in (POST /api/auth/logout
 * to log out), then the WebSocket /ws/agent for everything live: its first frame is {type: "auth", token}
 * (never a token in the URL), then hello, queue, assigned, customer_message, agent_message,
 * session_ended, session_transferred, presence; commands status, pick, reply, transfer, end, ping.
 * Every text that comes from the API is put into the page with textContent (via h()), never as HTML.
 */
"use strict";

(() => {
  // --- constants ----------------------------------------------------------------------------
  const STATUSES = ["在线", "忙碌", "离开"];
  const GROUPS = []; // skill groups, reasons and intents with their names: from GET /api/handoff/meta (loadMeta)
  const MAX_TEXT = 2000;
  const PING_MS = 25000;
  const BACKOFF_BASE_MS = 1000;
  const BACKOFF_MAX_MS = 30000;
  const AUTH_KEY = "xiaozhi.console.auth";
  const STATUS_KEY = "xiaozhi.console.status";
  const TITLE = "小智客服 · 坐席工作台";

  const REASONS = {};
  const INTENTS = {};
  const SLOT_LABELS = {
    order_id: "订单号", waybill: "运单号", phone: "手机号", refund_id: "退款单号", ticket_id: "工单号",
    product: "商品", time_ref: "时间", city: "城市", order_topic: "订单问题", return_kind: "退换类型",
    customer_id: "客户编号",
  };
  const SLOT_ORDER = Object.keys(SLOT_LABELS);
  const HIDDEN_SLOTS = new Set(["session_started_metadata", "requested_slot", "pending_offer", "handoff_active",
    "handoff_session", "rating_handoff", "customer_vip", "pending_ticket"]);
  const CHANNELS = { rest: "网页", socketio: "网页聊天", wechat: "微信", app: "手机 App" };
  const END_WHY = { agent_ended: "会话已结束", customer_left: "客户已离开会话" };
  const COMMAND_VERBS = { status: "切换状态", pick: "接入", reply: "发送", transfer: "转接", end: "结束会话" };
  const ERROR_TEXT = {
    not_waiting: "该客户已被接入或已离开排队", wrong_group: "不在您的技能组", not_owner: "该会话不由您接待",
    closed: "会话已结束", agent_unavailable: "目标坐席不在线", not_found: "会话不存在",
    summary_exists: "该会话已有服务小结", still_open: "会话仍在进行中", not_served: "该会话无人接待，无需小结",
  };
  const STATUS_HINTS = {
    在线: "在线：系统按技能组自动分配新会话",
    忙碌: "忙碌：不自动分配，仍可手动接入",
    离开: "离开：不分配新会话",
  };
  // 快捷回复 (#quick-replies and the "/" list in the reply box) are canned.js's, from GET /api/canned-replies

  // --- small helpers ------------------------------------------------------------------------
  const $ = (id) => document.getElementById(id);

  /** An element; string and number children become text nodes, so data never becomes markup. */
  function h(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = String(value);
      else if (key === "dataset") Object.assign(node.dataset, value);
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child === undefined || child === null || child === false) continue;
      node.append(child instanceof Node ? child : String(child));
    }
    return node;
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
  }

  /** Replace a list's items, keeping keyboard focus on the element with the same data-focus-key. */
  function replaceChildrenKeepingFocus(parent, children) {
    const active = document.activeElement;
    const key = active && parent.contains(active) ? active.dataset.focusKey : null;
    parent.replaceChildren(...children);
    if (key) {
      const again = parent.querySelector(`[data-focus-key="${CSS.escape(key)}"]`);
      if (again) again.focus();
    }
  }

  const clock = (at) => (typeof at === "string" && /T\d\d:\d\d/.test(at) ? at.slice(11, 16) : "");
  const dayAndClock = (at) => (typeof at === "string" && at.length >= 16 ? `${at.slice(5, 10)} ${at.slice(11, 16)}` : "");
  const day = (at) => (typeof at === "string" ? at.slice(0, 10) : "");
  const initial = (name) => (name ? Array.from(String(name))[0] : "客");
  const intentName = (intent) => String(intent || "").split("/")[0];
  const intentLabel = (intent) => INTENTS[intentName(intent)] || "";

  function duration(seconds) {
    const s = Math.max(0, Math.floor(seconds));
    if (s < 60) return `${s}秒`;
    if (s < 3600) return `${Math.floor(s / 60)}分${String(s % 60).padStart(2, "0")}秒`;
    return `${Math.floor(s / 3600)}小时${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}分`;
  }

  function show(node, visible) {
    node.hidden = !visible;
  }

  // --- state --------------------------------------------------------------------------------
  const state = {
    auth: null, // {token, username, name, role, expires_at}
    me: null, // from hello
    queue: { waiting: [], agents: [] },
    queueAt: Date.now(),
    mine: new Map(), // session_id -> session (view + unread)
    team: new Map(), // supervisors: other agents' chats
    due: new Map(), // session_id -> a chat of mine that ended without my 服务小结: listed until it is added (补写)
    openId: null,
    viewing: null, // the session shown in the middle (may have ended)
    myStatus: "",
    pendingPick: null,
    shown: null, // the session object whose transcript is on screen
  };

  const isSupervisor = () => (state.me?.role || state.auth?.role) === "主管";
  const myName = () => state.me?.name || state.auth?.name || "";
  const myUsername = () => state.me?.username || state.auth?.username || "";

  function sessionById(id) {
    return state.mine.get(id) || state.team.get(id) || state.due.get(id)
      || (state.viewing?.session_id === id ? state.viewing : null);
  }

  function customerOf(session) {
    return session?.context?.customer || {};
  }

  function customerName(session) {
    const name = customerOf(session).name;
    if (name) return String(name);
    const sender = String(session?.context?.conversation || session?.session_id || "");
    return `访客 ${sender.slice(-4)}`;
  }

  function agentName(username) {
    if (!username) return "";
    if (username === myUsername()) return myName();
    const agent = state.queue.agents.find((a) => a.username === username);
    return agent?.name || username;
  }

  function myGroups() {
    const me = state.queue.agents.find((a) => a.username === myUsername());
    return new Set(me?.groups || []);
  }

  // --- auth ---------------------------------------------------------------------------------
  function loadAuth() {
    try {
      const auth = JSON.parse(sessionStorage.getItem(AUTH_KEY) || "null");
      if (auth?.token && (!auth.expires_at || Date.parse(auth.expires_at) > Date.now())) return auth;
    } catch (_error) { /* a damaged entry: log in again */ }
    sessionStorage.removeItem(AUTH_KEY);
    return null;
  }

  async function login(username, password) {
    const answer = await fetch("/api/auth/token", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ username, password }),
    });
    let body = {};
    try {
      body = await answer.json();
    } catch (_error) { /* not JSON: reported below */ }
    if (!answer.ok) {
      let text = `登录失败（${body.reason || answer.status}）`;
      if (answer.status === 401) text = "用户名或密码错误";
      // locked out or too busy: the desk's reason says for how long (Retry-After has the seconds)
      else if (answer.status === 429 || answer.status === 503) text = body.reason || "登录尝试过于频繁，请稍后再试";
      throw new Error(text);
    }
    return { token: body.token, username: body.username, name: body.name, role: body.role, expires_at: body.expires_at };
  }

  /** Revoke the token on the desk (best effort: the page forgets it either way). */
  async function revokeToken(token) {
    try {
      await fetch("/api/auth/logout", { method: "POST", headers: { Authorization: `Bearer ${token}` }, keepalive: true });
    } catch (_error) { /* offline: the token still expires on its own */ }
  }

  async function apiGet(path) {
    const answer = await fetch(path, { headers: { Authorization: `Bearer ${state.auth.token}` } });
    if (!answer.ok) throw new Error(`HTTP ${answer.status}`);
    return answer.json();
  }

  // --- the socket -----------------------------------------------------------------------------
  const socket = {
    ws: null,
    attempts: 0,
    timer: null,
    countdown: null,
    ping: null,
    intentional: false,
    pending: [], // commands sent and not yet answered: the desk answers each, in order
    retryAt: 0,

    url() {
      const scheme = location.protocol === "https:" ? "wss:" : "ws:";
      return `${scheme}//${location.host}/ws/agent`; // the token goes in the first frame, never in the URL
    },

    open() {
      this.stopTimers();
      this.intentional = false;
      if (this.ws) {
        const old = this.ws;
        this.ws = null; // its close handler sees it is no longer current
        this.failPending();
        old.close();
      }
      setConnection("connecting");
      const ws = new WebSocket(this.url());
      this.ws = ws;
      ws.addEventListener("open", () => {
        if (ws === this.ws && state.auth) ws.send(JSON.stringify({ type: "auth", token: state.auth.token }));
      });
      ws.addEventListener("message", (event) => {
        if (ws !== this.ws) return;
        let data;
        try {
          data = JSON.parse(event.data);
        } catch (_error) {
          return;
        }
        handleEvent(data);
      });
      ws.addEventListener("close", () => {
        if (ws !== this.ws) return;
        this.ws = null;
        this.failPending();
        clearInterval(this.ping);
        if (this.intentional) return;
        this.scheduleRetry();
      });
    },

    isOpen() {
      return this.ws !== null && this.ws.readyState === WebSocket.OPEN;
    },

    send(command) {
      if (!this.isOpen()) {
        toast("连接未就绪，请稍后再试", "error");
        return false;
      }
      this.pending.push(command);
      this.ws.send(JSON.stringify(command));
      return true;
    },

    answered() {
      return this.pending.shift() || null;
    },

    failPending() {
      const lost = this.pending.filter((c) => c.type !== "ping");
      this.pending = [];
      for (const command of lost) {
        if (command.type === "reply") restoreDraft(command);
        if (command.type === "pick") state.pendingPick = null;
      }
      if (lost.length) toast("连接中断，部分操作可能未完成", "error");
    },

    scheduleRetry() {
      const delay = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** this.attempts) * (0.8 + Math.random() * 0.4);
      this.attempts += 1;
      this.retryAt = Date.now() + delay;
      setConnection("closed");
      this.timer = setTimeout(() => this.open(), delay);
      this.countdown = setInterval(() => setConnection("closed"), 1000);
      renderAll();
    },

    connected() {
      this.attempts = 0;
      clearInterval(this.ping);
      this.ping = setInterval(() => this.send({ type: "ping" }), PING_MS);
      setConnection("open");
    },

    stopTimers() {
      clearTimeout(this.timer);
      clearInterval(this.countdown);
      this.timer = null;
      this.countdown = null;
    },

    close() {
      this.intentional = true;
      this.stopTimers();
      clearInterval(this.ping);
      if (this.ws) this.ws.close(1000, "logout");
      this.ws = null;
      this.pending = [];
    },
  };

  /** The connection badge; its text changes once per state (it is a live region), the countdown beside it silently. */
  function setConnection(kind) {
    const box = $("connection");
    const text = { open: "已连接", connecting: "连接中…", closed: "连接已断开" }[kind];
    if (box.dataset.state !== kind) $("connection-text").textContent = text;
    box.dataset.state = kind;
    const seconds = Math.max(0, Math.ceil((socket.retryAt - Date.now()) / 1000));
    $("connection-countdown").textContent = kind === "closed" ? `，${seconds} 秒后重连` : "";
    show($("reconnect-now"), kind === "closed");
    if (kind !== "closed") clearInterval(socket.countdown);
  }

  // --- events from the desk -------------------------------------------------------------------
  function handleEvent(event) {
    const result = dispatchEvent(event);
    emit("desk", event); // after the console's own state has taken it in
    return result;
  }

  function dispatchEvent(event) {
    switch (event.type) {
      case "hello": return onHello(event);
      case "queue": return onQueue(event);
      case "presence": return onPresence(event);
      case "assigned": return onAssigned(event);
      case "customer_message": return onCustomerMessage(event);
      case "agent_message": return onAgentMessage(event);
      case "session_ended": return onSessionEnded(event);
      case "session_transferred": return onSessionTransferred(event);
      case "summary_added": return onSummaryAdded(event);
      case "ok": return socket.answered();
      case "pong": return socket.answered();
      case "error": return onError(event);
      default: return undefined;
    }
  }

  function onHello(event) {
    state.me = event.me;
    socket.connected();
    const previous = state.mine;
    state.mine = new Map();
    for (const session of event.sessions || []) {
      session.unread = previous.get(session.session_id)?.unread || 0;
      state.mine.set(session.session_id, session);
    }
    state.team.clear();
    renderTabs();
    const viewing = state.viewing;
    if (viewing && !viewing.ended) {
      const fresh = state.mine.get(viewing.session_id);
      if (fresh) {
        fresh.draft = $("reply-input").value;
        state.viewing = fresh;
      } else if (state.openId === viewing.session_id) {
        viewing.ended = "该会话已不在您名下（断线期间已结束或转出）";
        state.openId = null;
      } else {
        state.viewing = null; // a team chat: heard of again when something happens in it
      }
      // a fresh object from hello: the transcript is drawn again (messages may have come while disconnected)
    }
    onQueue(event.queue || { waiting: [], agents: [] }, false);
    // The desk puts a (re)connected agent 在线: put back what the agent chose.
    const wanted = sessionStorage.getItem(STATUS_KEY);
    if (wanted && STATUSES.includes(wanted) && wanted !== state.myStatus) socket.send({ type: "status", status: wanted });
    renderAll();
    loadDue(); // chats that ended without a summary, also while the console was closed
  }

  function onQueue(event, render = true) {
    state.queue = { waiting: event.waiting || [], agents: event.agents || [] };
    state.queueAt = Date.now();
    const me = state.queue.agents.find((a) => a.username === myUsername());
    if (me) state.myStatus = me.status;
    if (render) {
      renderQueue();
      renderAgents();
      renderStatus();
    }
  }

  function onPresence(event) {
    const agent = state.queue.agents.find((a) => a.username === event.agent);
    if (agent) agent.status = event.status;
    if (event.agent === myUsername()) state.myStatus = event.status;
    renderAgents();
    renderStatus();
  }

  function onAssigned(event) {
    const session = event.session;
    if (!session) return;
    const id = session.session_id;
    if (event.agent === myUsername()) {
      session.unread = 0;
      state.mine.set(id, session);
      state.team.delete(id);
      const picked = state.pendingPick === id;
      state.pendingPick = picked ? null : state.pendingPick;
      if (event.transferred_from) toast(`${agentName(event.transferred_from)} 将会话转给您：${customerName(session)}`, "info");
      else if (!picked) toast(`新会话已分配：${customerName(session)}`, "info");
      if (picked || !state.openId) openChat(id, picked);
      else {
        session.unread = 1;
        updateTitle();
      }
    } else if (event.transferred_from === myUsername()) {
      leaveMine(id, `已转给 ${agentName(event.agent)}`);
      toast(`会话已转给 ${agentName(event.agent)}`, "success");
    } else if (isSupervisor()) {
      session.unread = 0;
      state.team.set(id, session);
      if (state.viewing?.session_id === id) state.viewing = session;
    }
    renderLists();
    if (state.viewing?.session_id === id) renderOpenChat();
  }

  async function onCustomerMessage(event) {
    const direction = event.direction === "system" ? "system" : "customer";
    const message = { direction, author: direction, text: event.text, intent: event.intent,
      entities: event.entities || [], channel: event.channel, at: event.at };
    const session = sessionById(event.session_id);
    if (!session) {
      if (isSupervisor()) await fetchTeamSession(event.session_id);
      return;
    }
    session.messages.push(message);
    const open = state.viewing?.session_id === event.session_id;
    if (open) appendMessage(session, message);
    if (state.mine.has(event.session_id) && (!open || document.hidden)) {
      session.unread = (session.unread || 0) + 1;
      if (!open) toast(`${customerName(session)}：${event.text}`, "message", () => openChat(event.session_id, true));
    }
    renderLists();
    updateTitle();
  }

  function onAgentMessage(event) {
    const session = sessionById(event.session_id);
    if (!session) return;
    const message = { direction: "agent", author: event.agent, text: event.text, at: event.at, delivered: event.delivered };
    session.messages.push(message);
    if (state.viewing?.session_id === event.session_id) appendMessage(session, message);
    renderLists();
  }

  function onSessionEnded(event) {
    const why = END_WHY[event.why] || "会话已结束";
    const endDialog = $("end-dialog");
    const writing = endDialog.open && endDialog.dataset.sessionId === event.session_id;
    if (state.mine.has(event.session_id)) {
      const session = state.mine.get(event.session_id);
      // ended without the agent's summary (the customer left, …): it stays listed until one is added (补写)
      if (event.why !== "agent_ended") keepForSummary(session, why);
      leaveMine(event.session_id, why);
      toast(`${customerName(session)}：${why}`, event.why === "agent_ended" ? "success" : "info");
    } else if (state.team.has(event.session_id)) {
      state.team.delete(event.session_id);
      if (state.viewing?.session_id === event.session_id) markViewingEnded(why);
    }
    if (writing) {
      if (state.due.has(event.session_id)) endDialogMode(state.due.get(event.session_id)); // what was typed is kept
      else endDialog.close("");
    }
    renderLists();
  }

  function onSessionTransferred(event) {
    if (state.mine.has(event.session_id)) {
      leaveMine(event.session_id, `已转接至「${event.group}」组，重新排队`);
      toast(`会话已转接至「${event.group}」组`, "success");
    } else if (state.team.has(event.session_id)) {
      state.team.delete(event.session_id);
      if (state.viewing?.session_id === event.session_id) markViewingEnded(`已转接至「${event.group}」组`);
    }
    renderLists();
  }

  function onError(event) {
    const command = socket.answered();
    if (event.error === "unauthorized") {
      logout("登录已失效，请重新登录");
      return;
    }
    const request = event.request || command?.type;
    const verb = COMMAND_VERBS[request] || "操作";
    toast(`${verb}失败：${ERROR_TEXT[event.error] || event.reason || "未知错误"}`, "error");
    if (request === "reply" && command) restoreDraft(command);
    if (request === "pick") {
      state.pendingPick = null;
      renderQueue();
    }
    if (request === "status") renderStatus();
  }

  function leaveMine(id, why) {
    state.mine.delete(id);
    if (state.openId === id) state.openId = null;
    if (state.viewing?.session_id === id) markViewingEnded(why);
    updateTitle();
  }

  function markViewingEnded(why) {
    state.viewing.ended = why;
    renderOpenChat();
  }

  /** A chat of another agent a supervisor hears of first through a message: fetched whole (with that message). */
  async function fetchTeamSession(id) {
    try {
      const session = await apiGet(`/api/handoff/sessions/${encodeURIComponent(id)}`);
      if (session.status !== "assigned" || !session.agent || sessionById(id)) return;
      session.unread = 0;
      session.messages = session.messages || [];
      (session.agent === myUsername() ? state.mine : state.team).set(id, session);
      if (state.viewing?.session_id === id) renderOpenChat();
      renderLists();
    } catch (_error) { /* the chat ended meanwhile: nothing to show */ }
  }

  // --- 服务小结 (the end dialog's summary; 补写 for a chat that ended without one) ----------------------
  /** The end dialog as "end this chat" (late null: the summary goes to the customer too) or as "补写" (late: the
   * ended chat of mine it is for; the summary is only stored). */
  function endDialogMode(late) {
    const dialog = $("end-dialog");
    dialog.dataset.mode = late ? "late" : "end";
    $("end-title").textContent = late ? "补写服务小结" : "结束会话？";
    $("end-form").querySelector("p.muted").textContent = late
      ? `${late.ended || "会话已结束"}：补写的小结只记入会话记录，不会发送给客户。`
      : "结束后由机器人接回，并请客户评价本次服务。";
    const confirm = $("end-confirm");
    confirm.textContent = late ? "保存小结" : "结束会话";
    confirm.classList.toggle("btn-danger", !late);
    confirm.classList.toggle("btn-primary", Boolean(late));
    $("end-summary").required = true;
    $("end-summary-hint").textContent = late
      ? "1–200 字；已根据会话预填，可修改。保存后不能再改。"
      : "发送给客户（「服务小结：…」）并记入会话记录，1–200 字；已根据会话预填，可修改。";
  }

  function openEndDialog(session, late) {
    const dialog = $("end-dialog");
    dialog.returnValue = "";
    dialog.dataset.sessionId = session.session_id;
    endDialogMode(late ? session : null);
    $("end-summary").value = "";
    dialog.showModal();
    $("end-summary").focus();
    prefillSummary(session.session_id);
  }

  /** The desk's draft, unless the agent started typing meanwhile. */
  async function prefillSummary(id) {
    try {
      const answer = await api(`/api/handoff/sessions/${encodeURIComponent(id)}/summary-draft`);
      const field = $("end-summary");
      if ($("end-dialog").dataset.sessionId === id && !field.value) {
        field.value = answer.draft || "";
        field.select();
      }
    } catch (_error) { /* no draft: the agent writes one */ }
  }

  /** A chat of mine that ended without my summary: kept in 我的会话 (marked 待补写小结) until one is added. */
  function keepForSummary(session, why) {
    session.ended = why;
    session.unread = 0;
    session.messages = session.messages || [];
    state.due.set(session.session_id, session);
  }

  async function saveLateSummary(id, summary) {
    try {
      const answer = await api(`/api/handoff/sessions/${encodeURIComponent(id)}/summary`,
        { method: "PUT", json: { summary } });
      onSummaryAdded({ session_id: id, closing_summary: answer.closing_summary });
      toast("服务小结已保存（只记入会话记录）", "success");
    } catch (error) {
      if (error.code === "summary_exists") onSummaryAdded({ session_id: id });
      toast(`保存服务小结失败：${ERROR_TEXT[error.code] || error.message || "未知错误"}`, "error");
    }
  }

  /** A summary was added afterwards (here, in another tab, or by a 主管): the chat is no longer waiting for one. */
  function onSummaryAdded(event) {
    const session = state.due.get(event.session_id) || sessionById(event.session_id);
    if (!state.due.delete(event.session_id) || !session) return;
    if (event.closing_summary) session.closing_summary = event.closing_summary;
    session.ended = `${session.ended || "会话已结束"}（服务小结已补写）`;
    const dialog = $("end-dialog");
    if (dialog.open && dialog.dataset.sessionId === event.session_id) dialog.close("");
    if (state.viewing?.session_id === event.session_id) renderOpenChat();
    renderLists();
  }

  /** My chats of the last days that ended without a summary (the desk's list; it also covers a reload). */
  async function loadDue() {
    try {
      const answer = await api("/api/handoff/summaries/due");
      const fresh = new Set();
      for (const session of answer.sessions || []) {
        fresh.add(session.session_id);
        if (state.due.has(session.session_id) || state.mine.has(session.session_id)) continue;
        keepForSummary(session, END_WHY[session.end_reason] || "会话已结束");
      }
      for (const id of [...state.due.keys()]) if (!fresh.has(id)) state.due.delete(id); // added meanwhile elsewhere
      renderLists();
      if (state.viewing && state.due.has(state.viewing.session_id)) renderOpenChat();
    } catch (_error) { /* no list now: chats that end from here on are still kept */ }
  }

  // --- commands -------------------------------------------------------------------------------
  function setStatus(status) {
    sessionStorage.setItem(STATUS_KEY, status);
    if (!socket.send({ type: "status", status })) renderStatus();
  }

  function pick(id) {
    if (socket.send({ type: "pick", session_id: id })) {
      state.pendingPick = id;
      renderQueue();
    }
  }

  function sendReply() {
    const input = $("reply-input");
    const text = input.value.trim();
    const session = state.viewing;
    if (!text || !session || !state.mine.has(session.session_id)) return;
    if (text.length > MAX_TEXT) {
      toast(`回复最多 ${MAX_TEXT} 字`, "error");
      return;
    }
    if (socket.send({ type: "reply", session_id: session.session_id, text })) {
      input.value = "";
      session.draft = "";
      updateCounter();
    }
  }

  function restoreDraft(command) {
    const input = $("reply-input");
    if (state.viewing?.session_id === command.session_id && !input.value) {
      input.value = command.text;
      updateCounter();
    }
  }

  // --- rendering: left column -----------------------------------------------------------------
  function renderStatus() {
    const box = $("status-switch");
    box.dataset.status = state.myStatus || "";
    for (const input of box.querySelectorAll("input")) {
      input.checked = input.value === state.myStatus;
      input.disabled = !socket.isOpen();
    }
    $("status-hint").textContent = STATUS_HINTS[state.myStatus] || "";
  }

  function renderQueue() {
    const groups = myGroups();
    const items = state.queue.waiting.map((w) => {
      const mineGroup = groups.has(w.group) || (w.offered_to || []).some((g) => groups.has(g)); // overflow too
      const pending = state.pendingPick === w.session_id;
      const button = h("button", {
        type: "button", class: "btn btn-primary btn-small", text: pending ? "接入中…" : "接入",
        disabled: !mineGroup || pending || !socket.isOpen(),
        title: mineGroup ? "接入该客户" : `不在您的技能组（${[...groups].join("、") || "无"}）`,
        "aria-label": `接入：${w.group} 第 ${w.position} 位`,
        dataset: { focusKey: `pick:${w.session_id}` }, onclick: () => pick(w.session_id),
      });
      return h("li", { class: `queue-item${w.priority === 0 ? " urgent" : ""}${mineGroup ? "" : " other-group"}`,
        dataset: { sessionId: w.session_id } },
      h("div", { class: "queue-row" },
        h("span", { class: "badge badge-group", text: w.group }),
        h("span", { class: "queue-pos", text: `第 ${w.position} 位` }),
        w.priority === 0 ? h("span", { class: "badge badge-urgent", text: "优先" }) : null,
        h("span", { class: "queue-wait", dataset: { waited: String(w.waited_s || 0) } }, waitText(w.waited_s))),
      h("p", { class: "queue-summary", text: w.summary || "（无摘要）" }),
      h("div", { class: "queue-actions" }, button));
    });
    replaceChildrenKeepingFocus($("queue-list"), items);
    $("queue-count").textContent = String(items.length);
    show($("queue-empty"), items.length === 0);
  }

  function waitText(waited) {
    return `已等 ${duration(Number(waited || 0) + (Date.now() - state.queueAt) / 1000)}`;
  }

  function tickWaits() {
    for (const span of document.querySelectorAll(".queue-wait")) span.textContent = waitText(span.dataset.waited);
  }

  function renderAgents() {
    const items = state.queue.agents
      .slice()
      .sort((a, b) => STATUSES.indexOf(a.status) - STATUSES.indexOf(b.status) || String(a.name).localeCompare(String(b.name), "zh"))
      .map((a) => h("li", { class: "agent-item", dataset: { status: a.status } },
        h("i", { class: "status-dot", "aria-hidden": "true" }),
        h("span", { class: "agent-name", text: a.username === myUsername() ? `${a.name}（我）` : a.name }),
        h("span", { class: "agent-status", text: a.status }),
        h("span", { class: "agent-load", title: "进行中 / 上限", text: `${a.active}/${a.capacity}` })));
    replaceChildrenKeepingFocus($("agent-list"), items);
    $("agents-count").textContent = String(state.queue.agents.filter((a) => a.status !== "离开").length);
  }

  function chatItem(session, prefix) {
    const last = session.messages?.[session.messages.length - 1];
    const by = last?.direction === "agent" ? (last.author === myUsername() ? "我" : agentName(last.author)) : "";
    const preview = last ? `${by ? `${by}：` : ""}${last.text}` : session.summary || "";
    const customer = customerOf(session);
    const active = state.viewing?.session_id === session.session_id;
    return h("li", {},
      h("button", {
        type: "button", class: `chat-item${active ? " active" : ""}`, "aria-current": active ? "true" : null,
        dataset: { focusKey: `${prefix}:${session.session_id}`, sessionId: session.session_id },
        onclick: () => openChat(session.session_id, true),
      },
      h("span", { class: `avatar${customer.vip ? " avatar-vip" : ""}`, "aria-hidden": "true", text: initial(customerName(session)) }),
      h("span", { class: "chat-item-main" },
        h("span", { class: "chat-item-name" }, customerName(session),
          customer.vip ? h("span", { class: "badge badge-vip", text: "VIP" }) : null),
        h("span", { class: "chat-item-preview", text: preview })),
      h("span", { class: "chat-item-side" },
        h("time", { text: clock(last?.at || session.queued_at) }),
        prefix === "team"
          ? h("span", { class: "badge", text: agentName(session.agent) })
          : prefix === "due"
            ? h("span", { class: "badge badge-warn", text: "待补写小结" })
            : session.unread
            ? h("span", { class: "unread", "aria-label": `${session.unread} 条未读`, text: String(session.unread) })
            : h("span", { class: "badge badge-group", text: session.group }))));
  }

  function renderLists() {
    const mine = [...state.mine.values()];
    const due = [...state.due.values()].filter((s) => !state.mine.has(s.session_id));
    replaceChildrenKeepingFocus($("chat-list"), [...mine.map((s) => chatItem(s, "chat")), ...due.map((s) => chatItem(s, "due"))]);
    $("chats-count").textContent = String(mine.length);
    show($("chats-empty"), mine.length === 0 && due.length === 0);
    show($("team-section"), isSupervisor());
    const team = [...state.team.values()];
    replaceChildrenKeepingFocus($("team-list"), team.map((s) => chatItem(s, "team")));
    $("team-count").textContent = String(team.length);
    show($("team-empty"), team.length === 0);
    updateTitle();
  }

  function updateTitle() {
    let unread = 0;
    for (const session of state.mine.values()) unread += session.unread || 0;
    document.title = unread ? `(${unread}) ${TITLE}` : TITLE;
  }

  // --- rendering: the open chat ---------------------------------------------------------------
  function openChat(id, focusComposer) {
    const session = state.mine.get(id) || state.team.get(id) || state.due.get(id);
    if (!session) return;
    const previous = state.viewing;
    if (previous && previous.session_id !== id) previous.draft = $("reply-input").value;
    state.openId = id;
    state.viewing = session;
    session.unread = 0;
    renderOpenChat();
    renderLists();
    if (focusComposer && state.mine.has(id)) $("reply-input").focus();
  }

  function closeViewing() {
    state.viewing = null;
    state.openId = null;
    renderOpenChat();
    renderLists();
  }

  function renderOpenChat() {
    const session = state.viewing;
    show($("chat-empty"), !session);
    show($("chat-pane"), Boolean(session));
    renderContext(session);
    emit("viewing", session || null);
    if (!session) return;
    const customer = customerOf(session);
    $("chat-avatar").textContent = initial(customerName(session));
    $("chat-avatar").classList.toggle("avatar-vip", Boolean(customer.vip));
    const title = $("chat-title");
    clear(title);
    title.append(customerName(session));
    if (customer.vip) title.append(h("span", { class: "badge badge-vip", text: "VIP" }));
    if (session.priority === 0) title.append(h("span", { class: "badge badge-urgent", text: "优先" }));
    const bits = [session.group && `${session.group}组`, CHANNELS[session.context?.channel] || session.context?.channel,
      customer.tier, session.agent && session.agent !== myUsername() ? `接待：${agentName(session.agent)}` : null];
    $("chat-subtitle").textContent = bits.filter(Boolean).join(" · ");

    const mine = state.mine.has(session.session_id) && !session.ended;
    const live = mine && socket.isOpen();
    show($("chat-actions"), state.mine.has(session.session_id));
    $("transfer-button").disabled = !live;
    $("end-button").disabled = !live;
    const due = state.due.has(session.session_id);
    const banner = due ? `${session.ended}，请补写服务小结`
      : session.ended || (!state.mine.has(session.session_id) ? `旁听中：该会话由 ${agentName(session.agent)} 接待` : "");
    show($("late-summary-button"), due);
    const box = $("transcript");
    const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 120;
    show($("chat-banner"), Boolean(banner));
    if (atBottom) box.scrollTop = box.scrollHeight;
    $("chat-banner-text").textContent = banner;
    show($("chat-banner-close"), Boolean(session.ended));
    const input = $("reply-input");
    input.disabled = !mine;
    $("composer").classList.toggle("composer-off", !mine);
    $("send-button").disabled = !live;
    input.placeholder = !mine ? "此会话不可回复" : live ? "输入回复，Enter 发送，Shift+Enter 换行" : "连接断开，恢复后可发送";
    if (state.shown !== session) {
      if (state.shown?.session_id !== session.session_id) input.value = session.draft || "";
      state.shown = session;
      renderTranscript(session);
    }
    updateCounter();
  }

  function renderTranscript(session) {
    const box = $("transcript");
    const nodes = [];
    const earlier = session.context?.transcript || [];
    if (earlier.length) {
      nodes.push(h("div", { class: "divider", text: "机器人接待记录" }));
      for (const turn of earlier) {
        nodes.push(messageNode(turn.speaker === "user"
          ? { direction: "customer", text: turn.text, intent: turn.intent, entities: turn.entities, channel: turn.channel }
          : { direction: "bot", text: turn.text }, session, true));
      }
    }
    const reason = REASONS[session.reason] || session.reason || "";
    nodes.push(h("div", { class: "divider divider-handoff" },
      `转人工${reason ? ` · ${reason}` : ""}${session.queued_at ? ` · ${dayAndClock(session.queued_at)}` : ""}`));
    for (const message of session.messages || []) nodes.push(messageNode(message, session, false));
    box.setAttribute("aria-busy", "true"); // a whole transcript is not news: only later additions are announced
    box.replaceChildren(...nodes);
    box.scrollTop = box.scrollHeight;
    requestAnimationFrame(() => box.setAttribute("aria-busy", "false"));
  }

  function appendMessage(session, message) {
    const box = $("transcript");
    const nearBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 120;
    box.append(messageNode(message, session, false));
    if (nearBottom || message.direction === "agent") box.scrollTop = box.scrollHeight;
  }

  function entityPairs(entities) {
    return (entities || []).map((e) => (Array.isArray(e) ? e : [e?.entity, e?.value])).filter((e) => e[0]);
  }

  function nluTags(message) {
    const tags = [];
    if (message.intent) {
      const label = intentLabel(message.intent);
      tags.push(h("span", { class: "tag tag-intent", title: "NLU 识别的意图" },
        label ? `${label} ` : "", h("code", { text: message.intent })));
    }
    for (const [entity, value] of entityPairs(message.entities)) {
      tags.push(h("span", { class: "tag tag-entity", title: "NLU 识别的实体" },
        `${SLOT_LABELS[entity] || entity}：`, h("code", { text: String(value ?? "") })));
    }
    return tags.length ? h("div", { class: "nlu", "aria-label": "意图与实体" }, tags) : null;
  }

  function messageNode(message, session, earlier) {
    const kind = message.direction === "agent" ? "agent" : message.direction === "bot" ? "bot"
      : message.direction === "system" ? "system" : "customer";
    if (kind === "system") return h("div", { class: "msg msg-system", text: message.text });
    const author = kind === "customer" ? customerName(session) : kind === "bot" ? "小智机器人" : agentName(message.author);
    const meta = h("div", { class: "msg-meta" }, h("span", { class: "msg-author", text: author }),
      kind === "customer" && message.channel
        ? h("span", { class: "tag tag-channel", title: "客户发消息的渠道", text: CHANNELS[message.channel] || message.channel }) : null,
      message.at ? h("time", { text: clock(message.at) }) : null,
      message.delivered === false ? h("span", { class: "badge badge-danger", text: "未送达" }) : null);
    return h("div", { class: `msg msg-${kind}${earlier ? " msg-earlier" : ""}` },
      meta, h("div", { class: "bubble", text: message.text }), kind === "customer" ? nluTags(message) : null);
  }

  function updateCounter() {
    const length = $("reply-input").value.length;
    const counter = $("reply-counter");
    counter.textContent = `${length}/${MAX_TEXT}`;
    counter.classList.toggle("over", length > MAX_TEXT);
  }

  // --- rendering: the context panel -----------------------------------------------------------
  function fact(label, value, extraClass) {
    if (value === undefined || value === null || value === "") return [];
    const text = typeof value === "object" ? JSON.stringify(value) : String(value);
    return [h("dt", { text: label }), h("dd", { class: extraClass || null, text })];
  }

  function renderContext(session) {
    show($("context-empty"), !session);
    show($("context-body"), Boolean(session));
    if (!session) return;
    const context = session.context || {};
    const customer = context.customer || {};
    $("ctx-summary").textContent = session.summary || context.summary || "（无摘要）";
    $("ctx-reason").textContent = REASONS[session.reason] || session.reason || "—";
    $("ctx-avatar").textContent = initial(customerName(session));
    $("ctx-avatar").classList.toggle("avatar-vip", Boolean(customer.vip));
    $("ctx-name").textContent = customerName(session);
    show($("ctx-vip"), Boolean(customer.vip));
    $("ctx-tier").textContent = customer.tier || (customer.id ? "" : "未登录访客");
    $("ctx-profile").replaceChildren(
      ...fact("手机号", customer.phone, "mono"), ...fact("客户编号", customer.id, "mono"),
      ...fact("积分", customer.points), ...fact("渠道", CHANNELS[context.channel] || context.channel));
    $("ctx-tags").replaceChildren(...(customer.tags || []).map((t) => h("span", { class: "chip", text: t })));

    const slots = Object.entries(context.slots || {})
      .filter(([key, value]) => !HIDDEN_SLOTS.has(key) && value !== null && value !== "" && !(Array.isArray(value) && !value.length))
      .sort(([a], [b]) => (SLOT_ORDER.indexOf(a) + 1 || 99) - (SLOT_ORDER.indexOf(b) + 1 || 99));
    const slotNodes = slots.flatMap(([key, value]) => fact(SLOT_LABELS[key] || key, value, "mono"));
    $("ctx-slots").replaceChildren(...(slotNodes.length ? slotNodes : [h("dd", { class: "muted", text: "无" })]));

    const orders = (context.recent_orders || []).map((o) => h("li", {},
      h("div", { class: "mini-row" }, h("span", { class: "mono", text: o.order_id }),
        h("span", { class: "badge", text: o.status })),
      h("div", { class: "mini-sub", text: [o.summary, day(o.created_at)].filter(Boolean).join(" · ") })));
    $("ctx-orders").replaceChildren(...(orders.length ? orders : [h("li", { class: "muted", text: "无" })]));

    const tickets = (context.open_tickets || []).map((t) => h("li", {},
      h("div", { class: "mini-row" }, h("span", { class: "mono", text: t.number }),
        h("span", { class: "badge badge-warn", text: t.status })),
      h("div", { class: "mini-sub", text: [t.category, t.department].filter(Boolean).join(" · ") })));
    $("ctx-tickets").replaceChildren(...(tickets.length ? tickets : [h("li", { class: "muted", text: "无" })]));

    $("ctx-session").replaceChildren(
      ...fact("会话编号", String(session.session_id || "").slice(0, 12), "mono"), ...fact("技能组", session.group),
      ...fact("优先级", session.priority === 0 ? "优先" : "普通"), ...fact("排队时间", dayAndClock(session.queued_at)),
      ...fact("接待坐席", agentName(session.agent)));
  }

  // --- toasts ---------------------------------------------------------------------------------
  function toast(text, kind, onClick) {
    const box = $("toasts");
    const node = h(onClick ? "button" : "div", { class: `toast toast-${kind || "info"}`, type: onClick ? "button" : null },
      h("span", { text }));
    if (onClick) node.addEventListener("click", () => {
      onClick();
      node.remove();
    });
    box.append(node);
    while (box.children.length > 4) box.firstElementChild.remove();
    setTimeout(() => node.remove(), kind === "error" ? 8000 : 5000);
  }

  // --- the bridge for the console's other modules (tickets.js, assist.js, reports.js, …) ---------
  /** A JSON call to the desk with the agent's token; errors carry the desk's reason (Chinese where it has one). */
  async function api(path, options) {
    const init = { ...(options || {}) };
    init.headers = { Authorization: `Bearer ${state.auth?.token || ""}`, ...(init.headers || {}) };
    if (init.json !== undefined) {
      init.body = JSON.stringify(init.json);
      init.headers["Content-Type"] = "application/json";
      delete init.json;
    }
    const answer = await fetch(path, init);
    if (answer.status === 401) {
      logout("登录已过期，请重新登录");
      throw new Error("登录已过期");
    }
    const type = answer.headers.get("content-type") || "";
    const body = type.includes("json") ? await answer.json().catch(() => ({})) : await answer.text();
    if (!answer.ok) {
      const error = new Error((body && body.reason) || `HTTP ${answer.status}`);
      error.status = answer.status;
      error.code = body && body.error;
      throw error;
    }
    return body;
  }

  /** Put text into the reply box at the cursor (a suggestion, a canned reply). */
  function insertReply(insert, replaceAll) {
    const reply = $("reply-input");
    if (reply.disabled) return false;
    if (replaceAll) reply.value = insert;
    else {
      const start = reply.selectionStart ?? reply.value.length;
      reply.value = reply.value.slice(0, start) + insert + reply.value.slice(reply.selectionEnd ?? start);
      reply.selectionStart = reply.selectionEnd = start + insert.length;
    }
    reply.focus();
    updateCounter();
    return true;
  }

  /** Tell the other modules something happened (document events named xz:<what>). */
  function emit(what, detail) {
    document.dispatchEvent(new CustomEvent(`xz:${what}`, { detail }));
  }

  function showView(name) {
    const view = $("console-view");
    const tabs = [...document.querySelectorAll("#view-tabs [data-view]")];
    const tab = tabs.find((t) => t.dataset.view === name && !t.hidden) || tabs[0];
    for (const t of tabs) t.setAttribute("aria-selected", String(t === tab));
    for (const panel of document.querySelectorAll(".view-panel")) show(panel, panel.id === `view-${tab.dataset.view}`);
    view.classList.toggle("console--panel", tab.dataset.view !== "chat");
    emit("view", { view: tab.dataset.view });
  }

  function renderTabs() {
    const role = state.me?.role || state.auth?.role || "";
    for (const tab of document.querySelectorAll("#view-tabs [data-view]")) {
      const roles = (tab.dataset.roles || "").split(",").filter(Boolean);
      tab.hidden = roles.length > 0 && !roles.includes(role);
    }
  }

  window.XZ = Object.freeze({
    api, h, toast, insertReply, showView, on: (what, handler) => document.addEventListener(`xz:${what}`, (e) => handler(e.detail)),
    /** A wait or a handling time as the board and the reports show it: 45秒, 3分05秒, 1小时02分; — when unknown. */
    duration: (seconds) => {
      if (seconds === null || seconds === undefined) return "—";
      const s = Math.max(0, Math.round(seconds));
      if (s < 60) return `${s}秒`;
      if (s < 3600) return `${Math.floor(s / 60)}分${String(s % 60).padStart(2, "0")}秒`;
      return `${Math.floor(s / 3600)}小时${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}分`;
    },
    me: () => ({ username: state.auth?.username, name: myName(), role: state.me?.role || state.auth?.role || "",
      groups: [...myGroups()] }),
    viewing: () => state.viewing,
    mine: () => state.viewing ? state.mine.has(state.viewing.session_id) : false,
  });

  // --- views ----------------------------------------------------------------------------------
  function renderAll() {
    $("me-name").textContent = myName();
    $("me-role").textContent = state.me?.role || state.auth?.role || "";
    $("me-avatar").textContent = initial(myName());
    renderStatus();
    renderQueue();
    renderAgents();
    renderLists();
    renderOpenChat();
  }

  function showConsole() {
    show($("login-view"), false);
    show($("console-view"), true);
    renderAll();
    renderTabs();
    showView("chat");
    socket.open();
    loadMeta();
    emit("login", window.XZ.me());
  }

  /** Skill groups and the names of reasons and intents, from the desk; without them raw names are shown. */
  async function loadMeta() {
    try {
      const meta = await api("/api/handoff/meta");
      GROUPS.splice(0, GROUPS.length, ...(meta.groups || []));
      for (const { name, label } of meta.reasons || []) REASONS[name] = label;
      for (const { name, label } of meta.intents || []) INTENTS[name] = label;
      if (state.auth) renderAll();
    } catch (_error) { /* the console works on without the names */ }
  }

  function showLogin(message) {
    show($("console-view"), false);
    show($("login-view"), true);
    $("login-error").textContent = message || "";
    $("login-username").focus();
  }

  function logout(message) {
    socket.close();
    sessionStorage.removeItem(AUTH_KEY);
    sessionStorage.removeItem(STATUS_KEY);
    Object.assign(state, { auth: null, me: null, queue: { waiting: [], agents: [] }, openId: null, viewing: null,
      myStatus: "", pendingPick: null, shown: null });
    state.mine.clear();
    state.team.clear();
    state.due.clear();
    $("reply-input").value = "";
    document.title = TITLE;
    emit("logout", {});
    showLogin(message);
  }

  // --- wiring ---------------------------------------------------------------------------------
  function transferOptions() {
    const select = $("transfer-target");
    const session = state.viewing;
    const groups = new Set(GROUPS);
    for (const agent of state.queue.agents) for (const group of agent.groups || []) groups.add(group);
    const groupOptions = [...groups].map((g) => h("option", { value: `group:${g}`,
      text: g === session?.group ? `${g}（当前组，重新排队）` : g }));
    const agents = state.queue.agents.filter((a) => a.username !== myUsername() && a.status !== "离开");
    const agentOptions = agents.map((a) => h("option", { value: `agent:${a.username}`,
      text: `${a.name}（${a.status}，${a.active}/${a.capacity}）` }));
    select.replaceChildren(h("optgroup", { label: "技能组" }, groupOptions),
      agentOptions.length ? h("optgroup", { label: "坐席" }, agentOptions) : null);
    const firstOther = [...groups].find((g) => g !== session?.group);
    if (firstOther) select.value = `group:${firstOther}`;
  }

  function wire() {
    $("login-form").addEventListener("submit", async (event) => {
      event.preventDefault();
      const username = $("login-username").value.trim();
      const password = $("login-password").value;
      if (!username || !password) {
        $("login-error").textContent = "请输入用户名和密码";
        return;
      }
      const button = $("login-submit");
      button.disabled = true;
      button.textContent = "登录中…";
      try {
        state.auth = await login(username, password);
        sessionStorage.setItem(AUTH_KEY, JSON.stringify(state.auth));
        $("login-password").value = "";
        $("login-error").textContent = "";
        showConsole();
      } catch (error) {
        $("login-error").textContent = error instanceof TypeError ? "无法连接服务器" : error.message;
      } finally {
        button.disabled = false;
        button.textContent = "登录";
      }
    });

    $("logout").addEventListener("click", () => {
      if (state.auth) revokeToken(state.auth.token);
      logout("");
    });
    $("reconnect-now").addEventListener("click", () => socket.open());
    window.addEventListener("online", () => {
      if (state.auth && !socket.ws) socket.open();
    });

    for (const input of document.querySelectorAll('#status-switch input[name="agent-status"]')) {
      input.addEventListener("change", () => {
        if (input.checked) setStatus(input.value);
      });
    }

    const reply = $("reply-input");
    reply.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing && event.keyCode !== 229) {
        event.preventDefault();
        sendReply();
      }
    });
    reply.addEventListener("input", updateCounter);
    $("composer").addEventListener("submit", (event) => {
      event.preventDefault();
      sendReply();
    });

    const transferDialog = $("transfer-dialog");
    $("transfer-button").addEventListener("click", () => {
      transferOptions();
      transferDialog.returnValue = "";
      transferDialog.showModal();
      $("transfer-target").focus();
    });
    transferDialog.addEventListener("close", () => {
      const session = state.viewing;
      if (transferDialog.returnValue !== "confirm" || !session) return;
      const [kind, target] = $("transfer-target").value.split(/:(.*)/s);
      const command = { type: "transfer", session_id: session.session_id };
      command[kind === "agent" ? "agent" : "group"] = target;
      socket.send(command);
      $("transfer-button").focus();
    });

    const endDialog = $("end-dialog");
    $("end-button").addEventListener("click", () => {
      if (state.viewing) openEndDialog(state.viewing, false);
    });
    const lateButton = h("button", { id: "late-summary-button", type: "button", class: "btn btn-primary btn-small",
      text: "补写服务小结", onclick: () => state.viewing && state.due.has(state.viewing.session_id)
        && openEndDialog(state.viewing, true) });
    lateButton.hidden = true;
    $("chat-banner").insertBefore(lateButton, $("chat-banner-close"));
    endDialog.addEventListener("close", () => {
      const id = endDialog.dataset.sessionId;
      const summary = $("end-summary").value.replace(/\s+/g, " ").trim();
      delete endDialog.dataset.sessionId;
      if (endDialog.returnValue !== "confirm" || !id) return;
      if (endDialog.dataset.mode === "late") saveLateSummary(id, summary);
      else socket.send({ type: "end", session_id: id, summary });
    });
    for (const button of document.querySelectorAll("dialog [data-close]")) {
      button.addEventListener("click", () => button.closest("dialog").close(""));
    }

    $("chat-banner-close").addEventListener("click", closeViewing);
    for (const tab of document.querySelectorAll("#view-tabs [data-view]")) {
      tab.addEventListener("click", () => showView(tab.dataset.view));
    }

    document.addEventListener("keydown", (event) => {
      if (!event.altKey || (event.key !== "ArrowUp" && event.key !== "ArrowDown") || !state.auth) return;
      const ids = [...state.mine.keys()];
      if (!ids.length) return;
      event.preventDefault();
      const at = ids.indexOf(state.openId);
      const next = event.key === "ArrowDown" ? (at + 1) % ids.length : (at - 1 + ids.length) % ids.length;
      openChat(ids[at === -1 ? 0 : next], true);
    });
    document.addEventListener("visibilitychange", () => {
      if (!document.hidden && state.viewing && state.mine.has(state.viewing.session_id)) {
        state.viewing.unread = 0;
        renderLists();
      }
    });
    setInterval(tickWaits, 1000);
  }

  function start() {
    wire();
    state.auth = loadAuth();
    if (state.auth) showConsole();
    else showLogin("");
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
