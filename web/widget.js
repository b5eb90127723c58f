// 小智客服 web widget: talks to the Rasa server's socket.io channel (Engine.IO v4 over a
// WebSocket, no library). Agent replies and queue updates are pushed, so they appear live.
(() => {
  "use strict";
  const RASA = new URLSearchParams(location.search).get("rasa") || `${location.protocol}//${location.hostname}:5005`;
  const $ = (id) => document.getElementById(id);
  const log = $("log"), state = $("state"), text = $("text");
  const sessionKey = "xiaozhi-session";
  let sessionId = localStorage.getItem(sessionKey) || crypto.randomUUID().replace(/-/g, "");
  localStorage.setItem(sessionKey, sessionId);
  let socket = null, connected = false, retry = 1000, greeted = false;

  function emit(event, data) {
    if (connected) socket.send("42" + JSON.stringify([event, data]));
  }

  function who() {
    const id = $("who").value;
    return id ? { customer_id: id } : {};
  }

  function show(kind, message) {
    const item = document.createElement("li");
    item.className = `msg ${kind}`;
    const bubble = document.createElement("div");
    bubble.className = "bubble";
    bubble.textContent = message;
    item.appendChild(bubble);
    log.appendChild(item);
    log.scrollTop = log.scrollHeight;
    return item;
  }

  function showButtons(buttons) {
    const row = document.createElement("li");
    row.className = "buttons";
    for (const b of buttons) {
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = b.title;
      button.addEventListener("click", () => {
        row.querySelectorAll("button").forEach((x) => (x.disabled = true));
        send(b.payload, b.title);
      });
      row.appendChild(button);
    }
    log.appendChild(row);
    log.scrollTop = log.scrollHeight;
  }

  function onBot(message) {
    if (message.text) show("bot", message.text);
    const buttons = message.quick_replies || message.buttons || [];
    if (buttons.length) showButtons(buttons);
  }

  function send(payload, shown) {
    const message = (payload || "").trim();
    if (!message || !connected) return;
    show("user", shown || message);
    emit("user_uttered", { message, session_id: sessionId, metadata: who() });
  }

  function connect() {
    const url = RASA.replace(/^http/, "ws") + "/socket.io/?EIO=4&transport=websocket";
    state.textContent = "连接中…";
    socket = new WebSocket(url);
    socket.onmessage = (event) => {
      const packet = String(event.data);
      if (packet === "2") return socket.send("3");                 // ping → pong
      if (packet.startsWith("0")) return socket.send("40");        // open → join namespace "/"
      if (packet.startsWith("40")) {                               // joined
        connected = true; retry = 1000; state.textContent = "在线";
        emit("session_request", { session_id: sessionId });
        return;
      }
      if (packet.startsWith("42")) {
        const [name, data] = JSON.parse(packet.slice(2));
        // A greeting in words: the channel reads "/greet" as plain text, since the bot never offered it.
        if (name === "session_confirm" && !greeted) { greeted = true; emit("user_uttered", { message: "你好", session_id: sessionId, metadata: who() }); }
        if (name === "bot_uttered") onBot(data || {});
      }
    };
    socket.onclose = () => {
      connected = false;
      state.textContent = `连接断开，${Math.round(retry / 1000)} 秒后重连`;
      setTimeout(connect, retry);
      retry = Math.min(retry * 2, 30000);
    };
  }

  $("launcher").addEventListener("click", () => {
    $("chat").hidden = false;
    $("launcher").hidden = true;
    $("launcher").setAttribute("aria-expanded", "true");
    if (!socket) connect();
    text.focus();
  });
  $("close").addEventListener("click", () => {
    $("chat").hidden = true;
    $("launcher").hidden = false;
    $("launcher").setAttribute("aria-expanded", "false");
  });
  $("who").addEventListener("change", () => {
    sessionId = crypto.randomUUID().replace(/-/g, "");
    localStorage.setItem(sessionKey, sessionId);
    log.textContent = "";
    greeted = false;
    if (connected) emit("session_request", { session_id: sessionId });
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
})();
