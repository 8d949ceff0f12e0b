// The sandbox page: polls the emulator for what the chosen person sees, and turns typing and clicks
// into the sandbox's send/click endpoints (which sign and forward them to the app as Slack would).
(function () {
  "use strict";
  const POLL_MS = 500;
  const $ = (id) => document.getElementById(id);
  const params = new URLSearchParams(location.hash.slice(1));
  const state = {
    user: params.get("user") || localStorage.getItem("sandbox-user") || "",
    conversation: params.get("c") || "",
    version: "",
    seen: {},
    timer: null,
    asked: 0,
    sidebar: "",
    html: "",
    shown: "",
    modal: "",
  };

  function remember() {
    const hash = new URLSearchParams({ user: state.user, c: state.conversation });
    history.replaceState(null, "", "#" + hash.toString());
    localStorage.setItem("sandbox-user", state.user);
  }

  function toast(text) {
    const box = $("toast");
    box.textContent = text;
    box.hidden = false;
    clearTimeout(toast.timer);
    toast.timer = setTimeout(() => { box.hidden = true; }, 6000);
  }

  async function post(path, body) {
    const response = await fetch(path, {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
    });
    const answer = await response.json().catch(() => ({ ok: false, error: response.statusText }));
    if (!response.ok) toast(answer.error || "The sandbox refused that.");
    return answer;
  }

  async function refresh() {
    clearTimeout(state.timer);
    const ask = ++state.asked;
    const query = new URLSearchParams({ user: state.user, conversation: state.conversation, since: state.version });
    try {
      const response = await fetch("/sandbox/api/view?" + query.toString());
      const view = await response.json();
      if (ask !== state.asked) return;  // a newer request (another person or conversation) renders and polls on
      if (!response.ok) {
        toast(view.error || "The sandbox could not show this conversation.");
        state.user = state.conversation = state.version = "";  // start again from the first person
      } else if (!view.unchanged) render(view);
    } catch (error) {
      if (ask !== state.asked) return;
      /* the sandbox is restarting: try again on the next tick */
    }
    state.timer = setTimeout(refresh, POLL_MS);
  }

  function inputValues(root) {
    const values = {};
    root.querySelectorAll(".msg[data-ts]").forEach((msg) => {
      msg.querySelectorAll("input[data-action-id], textarea[data-action-id], select[data-action-id]:not([data-overflow])").forEach((el) => {
        values[msg.dataset.ts + "|" + el.dataset.blockId + "|" + el.dataset.actionId] = el.value;
      });
    });
    return values;
  }

  function restoreValues(root, values) {
    root.querySelectorAll(".msg[data-ts]").forEach((msg) => {
      msg.querySelectorAll("input[data-action-id], textarea[data-action-id], select[data-action-id]").forEach((el) => {
        const key = msg.dataset.ts + "|" + el.dataset.blockId + "|" + el.dataset.actionId;
        if (key in values) el.value = values[key];
      });
    });
  }

  function conversationItem(c, current) {
    const li = document.createElement("li");
    const a = document.createElement("a");
    a.href = "#";
    a.dataset.conversation = c.id;
    a.textContent = c.kind === "channel" ? "# " + c.name : c.name;
    if (c.id === current) a.classList.add("active");
    else if (c.latest && c.latest > (state.seen[c.id] || "")) a.classList.add("unread");
    li.appendChild(a);
    return li;
  }

  function render(view) {
    const shown = view.me + " " + view.conversation.id;
    const changedConversation = shown !== state.shown;
    state.shown = shown;
    state.version = view.version;
    state.user = view.me;
    state.conversation = view.conversation.id;
    view.conversations.forEach((c) => {
      if (!(c.id in state.seen)) state.seen[c.id] = c.latest;  // what was there on arrival counts as read
      if (c.id === state.conversation) state.seen[c.id] = c.latest;
    });
    remember();

    const who = $("whoami");
    if (who.options.length !== view.people.length) {
      who.innerHTML = "";
      view.people.forEach((p) => who.add(new Option(p.name + " (" + p.role + ")", p.id)));
    }
    who.value = state.user;

    const sidebar = JSON.stringify([state.conversation, view.conversations.map((c) => [c.id, c.name, c.latest > (state.seen[c.id] || "")])]);
    if (sidebar !== state.sidebar) {  // rebuilt only when it changed, so hovering and clicking stay steady
      state.sidebar = sidebar;
      const channels = $("channels"), dms = $("dms");
      channels.innerHTML = "";
      dms.innerHTML = "";
      view.conversations.forEach((c) => (c.kind === "channel" ? channels : dms).appendChild(conversationItem(c, state.conversation)));
    }

    const home = view.conversation.kind === "home";
    $("composer").hidden = home;  // the Home tab has no message box
    $("title").textContent = view.conversation.kind === "channel" ? "# " + view.conversation.name : view.conversation.name;
    $("topic").textContent = view.conversation.topic || (view.conversation.kind === "im" ? "Your direct messages with Toktra" : "");
    $("message").placeholder = "Message " + (view.conversation.kind === "im" ? "Toktra" : "#" + view.conversation.name);

    showModal(view.modal);
    if (view.html === state.html && !changedConversation) return;  // keep focus and typing in message inputs
    state.html = view.html;
    const box = $("messages");
    const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 40;
    const values = changedConversation ? {} : inputValues(box);
    box.innerHTML = view.html;
    restoreValues(box, values);
    if (atBottom || changedConversation) box.scrollTop = box.scrollHeight;
  }

  // A modal the app opened (views.open) for this person: shown over the page until submitted or closed.
  function showModal(modal) {
    const id = modal ? modal.id : "";
    if (id === state.modal) return;  // keep what is being typed
    state.modal = id;
    $("modal").hidden = !modal;
    if (!modal) return;
    $("modal-title").textContent = modal.title;
    $("modal-body").innerHTML = modal.html;
    $("modal-errors").textContent = "";
    $("modal-submit").textContent = modal.submit || "Submit";
    $("modal-submit").hidden = !modal.submit;
    $("modal-close").textContent = modal.close;
  }

  $("modal-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const answer = await post("/sandbox/api/modal", { user: state.user, view_id: state.modal, state: messageState($("modal-body")) });
    if (answer.errors) $("modal-errors").textContent = Object.values(answer.errors).join(" ");
    else refresh();
  });
  $("modal-close").addEventListener("click", async () => {
    await post("/sandbox/api/modal", { user: state.user, view_id: state.modal, close: true });
    refresh();
  });

  function open(conversation) {
    if (conversation === "home") post("/sandbox/api/home", { user: state.user });  // Slack's app_home_opened
    state.conversation = conversation;
    state.version = "";
    document.body.classList.remove("sidebar-open");
    refresh();
  }

  function messageState(msg) {
    const values = {};
    msg.querySelectorAll("input[data-action-id], textarea[data-action-id], select[data-action-id]").forEach((el) => {
      const block = (values[el.dataset.blockId] = values[el.dataset.blockId] || {});
      block[el.dataset.actionId] = el.tagName === "SELECT"
        ? { type: "static_select", selected_option: { value: el.value } }
        : { type: "plain_text_input", value: el.value || null };
    });
    return values;
  }

  function confirmFirst(confirm) {
    if (!confirm) return Promise.resolve(true);
    const text = (o) => (o && o.text) || "";
    $("confirm-title").textContent = text(confirm.title) || "Are you sure?";
    $("confirm-text").textContent = text(confirm.text);
    $("confirm-ok").textContent = text(confirm.confirm) || "Yes";
    $("confirm-deny").textContent = text(confirm.deny) || "Cancel";
    $("confirm-ok").className = "bk-button " + (confirm.style === "danger" ? "bk-danger" : "bk-primary");
    $("confirm").hidden = false;
    return new Promise((resolve) => {
      const done = (answer) => () => { $("confirm").hidden = true; resolve(answer); };
      $("confirm-ok").onclick = done(true);
      $("confirm-deny").onclick = done(false);
    });
  }

  async function click(button) {
    const msg = button.closest(".msg[data-ts]");
    const confirm = button.dataset.confirm ? JSON.parse(button.dataset.confirm) : null;
    if (!(await confirmFirst(confirm))) return;
    button.disabled = true;
    await post("/sandbox/api/click", {
      user: state.user, conversation: state.conversation, message_ts: msg.dataset.ts,
      action: { action_id: button.dataset.actionId, block_id: button.dataset.blockId, value: button.dataset.value || "" },
      state: messageState(msg),
    });
    button.disabled = false;
    refresh();
  }

  $("messages").addEventListener("click", (event) => {
    const button = event.target.closest("button[data-action-id]");
    if (button) click(button);
  });
  $("messages").addEventListener("change", async (event) => {
    const menu = event.target.closest("select[data-overflow]");
    if (!menu || !menu.value) return;
    const msg = menu.closest(".msg[data-ts]");
    const chosen = menu.options[menu.selectedIndex];
    menu.disabled = true;
    await post("/sandbox/api/click", {
      user: state.user, conversation: state.conversation, message_ts: msg.dataset.ts,
      action: { action_id: menu.dataset.actionId, block_id: menu.dataset.blockId,
                selected_option: { value: chosen.value, text: { type: "plain_text", text: chosen.textContent } } },
      state: messageState(msg),
    });
    refresh();
  });
  document.querySelector(".sidebar nav").addEventListener("click", (event) => {
    const link = event.target.closest("a[data-conversation]");
    if (!link) return;
    event.preventDefault();
    open(link.dataset.conversation);
  });
  $("whoami").addEventListener("change", (event) => {
    state.user = event.target.value;
    state.seen = {};
    open(state.conversation);
  });
  $("composer").addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = $("message").value.trim();
    if (!text) return;
    $("message").value = "";
    await post("/sandbox/api/send", { user: state.user, conversation: state.conversation, text });
    refresh();
  });
  $("hints").addEventListener("click", (event) => {
    const hint = event.target.closest("button[data-fill]");
    if (!hint) return;
    $("message").value = hint.dataset.fill;
    $("message").focus();
  });
  $("menu").addEventListener("click", () => document.body.classList.toggle("sidebar-open"));
  $("scrim").addEventListener("click", () => document.body.classList.remove("sidebar-open"));

  refresh();
})();
