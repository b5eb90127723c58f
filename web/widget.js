// 小智客服 web widget: talks to the Rasa server's socket.io channel (connectors/socketio_channel.py) with
// socket.io-client from npm (served by the desk at vendor/socket.io.min.js). Agent replies and queue updates are
// pushed, so they appear live; a reload or another tab of the same session shows the conversation again.
(() => {
  "use strict";
  const RASA = new URLSearchParams(location.search).get("rasa") || `${location.protocol}//${location.hostname}:5005`;
  const $ = (id) => document.getElementById(id);
  const log = $("log"), state = $("state"), text = $("text"), handoffLine = $("handoff"), typingLine = $("typing");
  const SESSION_KEY = "xiaozhi-session", GREETED_KEY = "xiaozhi-greeted", OPEN_KEY = "xiaozhi-open";

  // A random id in every context (crypto.randomUUID needs https or localhost).
  const newSessionId = () => Array.from(crypto.getRandomValues(new Uint8Array(16)),
    (b) => b.toString(16).padStart(2, "0")).join("");
  let sessionId = localStorage.getItem(SESSION_KEY) || newSessionId();
  localStorage.setItem(SESSION_KEY, sessionId);

  let socket = null;
  let joined = false;         // the server confirmed our session on this connection
  let historyWanted = false;  // a history_request is under way
  const outbox = [];          // messages typed while not joined: sent once we are, never dropped
  let handoff = null;         // null | "queued" | "agent"
  let botTyping = false;      // the server says the bot is working on a message
  let awaitingAgent = false;  // a message went to the agent, whose reply has not come yet

  function who() {
    const id = $("who").value;
    return id ? { customer_id: id } : {};
  }

  function scrollDown() { log.scrollTop = log.scrollHeight; }

  function show(kind, message, extraClass) {
    const item = document.createElement("li");
    item.className = `msg ${kind}${extraClass ? " " + extraClass : ""}`;
    const bubble = document.createElement("div");
    bubble.className = "bubble";
    bubble.textContent = message;
    item.appendChild(bubble);
    log.appendChild(item);
    scrollDown();
    return item;
  }

  function showButtons(buttons, active) {
    const row = document.createElement("li");
    row.className = "buttons";
    for (const b of buttons) {
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = b.title;
      button.disabled = !active;
      button.addEventListener("click", () => {
        row.querySelectorAll("button").forEach((x) => (x.disabled = true));
        send(b.payload, b.title);
      });
      row.appendChild(button);
    }
    log.appendChild(row);
    scrollDown();
  }

  function field(list, label, value) {
    if (!value) return;
    const name = document.createElement("dt");
    name.textContent = label;
    const data = document.createElement("dd");
    data.textContent = value;
    list.append(name, data);
  }

  function showOrderCard(card) {
    const item = document.createElement("li");
    item.className = "card";
    const box = document.createElement("article");
    box.className = "order-card";
    box.setAttribute("aria-label", `订单 ${card.order_id}`);
    const head = document.createElement("header");
    head.textContent = `订单 ${card.order_id}`;
    const status = document.createElement("span");
    status.className = "order-status";
    status.textContent = card.status || "";
    head.appendChild(status);
    const fields = document.createElement("dl");
    field(fields, "商品", card.product);
    field(fields, "金额", card.amount);
    field(fields, "快递", [card.carrier, card.waybill].filter(Boolean).join(" "));
    const track = document.createElement("button");
    track.type = "button";
    track.textContent = "查物流";
    track.addEventListener("click", () => send(`查一下${card.order_id}的物流`));
    box.append(head, fields, track);
    item.appendChild(box);
    log.appendChild(item);
    scrollDown();
  }

  function setHandoff(update) {
    if (update.state === "queued") {
      handoff = "queued";
      const wait = update.wait_minutes != null ? `，约 ${update.wait_minutes} 分钟` : "";
      handoffLine.textContent = update.ahead > 0 ? `排队中：前面还有 ${update.ahead} 位${wait}` : `排队中：马上就到您了${wait}`;
    } else if (update.state === "agent") {
      handoff = "agent";
      handoffLine.textContent = update.agent_name ? `人工客服 ${update.agent_name} 为您服务` : "人工客服为您服务";
    } else if (update.state === "ended") {
      handoff = null;
      awaitingAgent = false;
      handoffLine.textContent = "";
    }
    handoffLine.hidden = !handoffLine.textContent;
    showTyping();
  }

  function showTyping() {
    typingLine.textContent = botTyping ? "小智正在输入…" : awaitingAgent && handoff === "agent" ? "客服正在输入…" : "";
    typingLine.hidden = !typingLine.textContent;
  }

  // One bot message, live or from the history. Only live (and the history's last) buttons can be pressed.
  function onBot(message, active = true) {
    const custom = message.custom || {};
    if (custom.order_card) showOrderCard(custom.order_card);
    if (custom.handoff) setHandoff(custom.handoff);
    if (message.text) {
      show("bot", message.text, message.from_agent ? "agent" : "");
      if (message.from_agent && handoff === "agent") awaitingAgent = false;
    }
    const buttons = message.quick_replies || message.buttons || [];
    if (buttons.length) showButtons(buttons, active);
    showTyping();
  }

  function showHistory(items) {
    log.textContent = "";
    setHandoff({ state: "ended" });
    items.forEach((item, index) => {
      if (item.kind === "user") show("user", item.text);
      else onBot(item, index === items.length - 1);
    });
  }

  function emitMessage(message, metadata) {
    socket.emit("user_uttered", { message, session_id: sessionId, metadata });
  }

  function send(payload, shown) {
    const message = (payload || "").trim();
    if (!message) return;
    const bubble = show("user", shown || message);
    if (handoff === "agent") { awaitingAgent = true; showTyping(); }
    if (joined) emitMessage(message, who());
    else { bubble.classList.add("pending"); outbox.push({ message, bubble }); }
  }

  // A greeting in words: the channel reads "/greet" as plain text, since the bot never offered it.
  function greetOnce() {
    if (localStorage.getItem(GREETED_KEY) === sessionId) return;
    localStorage.setItem(GREETED_KEY, sessionId);
    emitMessage("你好", { ...who(), widget_greeting: true });
  }

  function joinSession() {
    joined = false;
    socket.emit("session_request", { session_id: sessionId });
  }

  function connect() {
    state.textContent = "连接中…";
    socket = io(RASA, { transports: ["websocket"] });
    socket.on("connect", () => { state.textContent = "在线"; joinSession(); });
    socket.on("disconnect", () => { joined = false; botTyping = false; showTyping(); state.textContent = "连接断开，正在重连…"; });
    socket.io.on("reconnect_attempt", (attempt) => { state.textContent = `连接断开，正在重连（第 ${attempt} 次）…`; });
    socket.on("session_confirm", (id) => {
      if (id !== sessionId) { sessionId = id; localStorage.setItem(SESSION_KEY, id); }
      joined = true;
      historyWanted = true;
      socket.emit("history_request", { session_id: sessionId });
    });
    socket.on("history", (items) => {
      if (!historyWanted) return;  // an answer for a session we have left since
      historyWanted = false;
      if (Array.isArray(items) && items.length) showHistory(items);
      else if (!log.children.length) greetOnce();
      for (const { message, bubble } of outbox.splice(0)) { bubble.classList.remove("pending"); emitMessage(message, who()); }
    });
    socket.on("typing", (data) => { botTyping = Boolean(data && data.on); showTyping(); });
    socket.on("bot_uttered", (data) => onBot(data || {}));
  }

  function open() {
    $("chat").hidden = false;
    $("launcher").hidden = true;
    $("launcher").setAttribute("aria-expanded", "true");
    localStorage.setItem(OPEN_KEY, "1");
    if (!socket) connect();
    text.focus();
  }

  $("launcher").addEventListener("click", open);
  $("close").addEventListener("click", () => {
    $("chat").hidden = true;
    $("launcher").hidden = false;
    $("launcher").setAttribute("aria-expanded", "false");
    localStorage.removeItem(OPEN_KEY);
  });
  $("who").addEventListener("change", () => {
    sessionId = newSessionId();
    localStorage.setItem(SESSION_KEY, sessionId);
    log.textContent = "";
    setHandoff({ state: "ended" });
    if (socket && socket.connected) joinSession();
  });
  $("form").addEventListener("submit", (event) => {
    event.preventDefault();
    send(text.value);
    text.value = "";
  });
  text.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      $("form").requestSubmit();
    }
  });
  if (localStorage.getItem(OPEN_KEY) === "1") open();  // a reload keeps the chat open, with its conversation
})();
