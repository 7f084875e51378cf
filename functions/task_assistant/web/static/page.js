// The page to try the task assistant: sign in, then chat through the ChatKit web component (or, when
// OpenAI's CDN cannot be reached, a basic built-in chat over the same authorized fetch).
// Configuration comes from web/config.json (see task_assistant/web/page.py); no build step.
(() => {
  "use strict";

  const SCRIPT_TIMEOUT_MS = 15000;
  const SESSION_KEY = "task-assistant.session";
  const PENDING_KEY = "task-assistant.sign-in";
  const DEVICE_KEY = "task-assistant.device-id";
  const $ = (id) => document.getElementById(id);

  class SignInRequired extends Error {}

  function setStatus(text) {
    $("status").textContent = text;
  }

  function randomId() {
    if (crypto.randomUUID) return crypto.randomUUID();
    return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function base64url(bytes) {
    return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function claimsOf(jwt) {
    try {
      const part = jwt.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
      return JSON.parse(atob(part));
    } catch {
      return {};
    }
  }

  async function errorText(response) {
    try {
      const body = await response.json();
      if (body && body.error && body.error.message) return `${body.error.message} (HTTP ${response.status})`;
    } catch {
      // not our JSON error: API Gateway's own answers, proxies
    }
    return `HTTP ${response.status} ${response.statusText}`.trim();
  }

  // --- sign-in --------------------------------------------------------------------------------

  // Local mode (`make dev`): the app's local-only route hands out a token from the local issuer.
  function localAuth(signIn) {
    const user = new URLSearchParams(location.search).get("user") || signIn.user;
    let token = null;
    let expiresAt = 0;
    async function fetchToken() {
      const url = new URL(signIn.tokenUrl);
      url.searchParams.set("user", user);
      const response = await fetch(url, { cache: "no-store", credentials: "omit" });
      if (!response.ok) throw new Error(`No local token: ${await errorText(response)}`);
      const body = await response.json();
      token = body.token;
      expiresAt = Date.now() + body.expires_in * 1000;
      return token;
    }
    return {
      name: `${user} (local)`,
      start: async () => true,
      token: async () => (token && Date.now() < expiresAt - 60000 ? token : fetchToken()),
      renew: fetchToken,
      signIn: null,
      signOut: null,
    };
  }

  // Deployed: Cognito managed login, authorization code + PKCE (public client, no secret).
  function cognitoAuth(signIn) {
    let session = JSON.parse(sessionStorage.getItem(SESSION_KEY) || "null");

    async function tokenRequest(params) {
      const response = await fetch(`${signIn.domain}/oauth2/token`, {
        method: "POST",
        headers: { "Content-Type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ client_id: signIn.clientId, ...params }),
        credentials: "omit",
      });
      if (!response.ok) {
        session = null;
        sessionStorage.removeItem(SESSION_KEY);
        throw new SignInRequired("Your session has ended. Sign in again to continue.");
      }
      const tokens = await response.json();
      // The ID token names the user on the page; the access token is what the API takes (API Gateway's
      // authorizer accepts access tokens with the API's scope, and refuses ID tokens).
      session = {
        idToken: tokens.id_token,
        accessToken: tokens.access_token,
        refreshToken: tokens.refresh_token || (session && session.refreshToken),
        expiresAt: Date.now() + tokens.expires_in * 1000,
      };
      sessionStorage.setItem(SESSION_KEY, JSON.stringify(session));
      return session.accessToken;
    }

    async function renew() {
      if (!session || !session.refreshToken) throw new SignInRequired("Sign in to talk to your task assistant.");
      return tokenRequest({ grant_type: "refresh_token", refresh_token: session.refreshToken });
    }

    return {
      get name() {
        const claims = session ? claimsOf(session.idToken) : {};
        return claims.email || claims["cognito:username"] || claims.sub || "signed in";
      },
      // Completes a sign-in when Cognito redirected back here with ?code=...&state=...
      async start() {
        const query = new URLSearchParams(location.search);
        if (query.has("code") || query.has("error")) {
          const pending = JSON.parse(sessionStorage.getItem(PENDING_KEY) || "null");
          sessionStorage.removeItem(PENDING_KEY);
          history.replaceState(null, "", location.pathname);
          if (query.has("error")) {
            throw new SignInRequired(`Sign-in failed: ${query.get("error_description") || query.get("error")}`);
          }
          if (!pending || pending.state !== query.get("state")) {
            throw new SignInRequired("That sign-in could not be verified. Please sign in again.");
          }
          await tokenRequest({
            grant_type: "authorization_code",
            code: query.get("code"),
            redirect_uri: signIn.redirectUri,
            code_verifier: pending.verifier,
          });
        }
        return session !== null;
      },
      async token() {
        if (session && session.accessToken && Date.now() < session.expiresAt - 60000) return session.accessToken;
        return renew();
      },
      renew,
      async signIn() {
        const verifier = base64url(crypto.getRandomValues(new Uint8Array(32)));
        const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
        const state = base64url(crypto.getRandomValues(new Uint8Array(16)));
        sessionStorage.setItem(PENDING_KEY, JSON.stringify({ verifier, state }));
        const url = new URL(`${signIn.domain}/oauth2/authorize`);
        url.search = new URLSearchParams({
          response_type: "code",
          client_id: signIn.clientId,
          redirect_uri: signIn.redirectUri,
          scope: signIn.scopes.join(" "),
          state,
          code_challenge: base64url(new Uint8Array(digest)),
          code_challenge_method: "S256",
        });
        location.assign(url);
      },
      signOut() {
        sessionStorage.removeItem(SESSION_KEY);
        const url = new URL(`${signIn.domain}/logout`);
        url.search = new URLSearchParams({ client_id: signIn.clientId, logout_uri: signIn.redirectUri });
        location.assign(url);
      },
    };
  }

  function showSignIn(auth, reason) {
    $("sign-in-reason").textContent = reason;
    $("sign-in").hidden = false;
    $("sign-in-button").hidden = !auth.signIn;
    $("sign-in-button").onclick = () => auth.signIn();
  }

  // --- the fetch every ChatKit request goes through -------------------------------------------

  // Adds the bearer token to requests for this server's ChatKit endpoint, and only to those: the
  // widget also sends attachment uploads through api.fetch, to presigned S3 URLs that carry their own
  // signature. The API uses bearer tokens, never cookies, so no credentials are sent. On a 401 the
  // token is renewed once and the request repeated (when its body can be sent again).
  function authorizedFetch(auth, apiUrl) {
    const api = new URL(apiUrl, location.href);
    return async (input, init = {}) => {
      const target = new URL(input instanceof Request ? input.url : String(input), location.href);
      if (target.origin !== api.origin || target.pathname !== api.pathname) return fetch(input, init);
      const send = (token) => {
        const headers = new Headers(init.headers || (input instanceof Request ? input.headers : undefined));
        headers.set("Authorization", `Bearer ${token}`);
        return fetch(input, { ...init, headers, credentials: "omit" });
      };
      let response = await send(await auth.token());
      const repeatable = init.body === undefined || typeof init.body === "string";
      if (response.status === 401 && repeatable) response = await send(await auth.renew());
      if (response.status === 401) showSignIn(auth, "Your session has expired. Sign in again to continue.");
      return response;
    };
  }

  // --- @-mentions: the signed-in user's tasks as ChatKit entities -----------------------------

  // The composer's @-mention picker (entities.onTagSearch) and a tagged task's hover preview
  // (entities.onRequestPreview) read this server's /tasks routes, which sit next to /chatkit on both
  // doors. The server resolves a tag by its id when the message is answered, so data is only a hint.
  function taskEntities(auth, chatkitUrl) {
    const tasksUrl = new URL("tasks/", new URL(chatkitUrl, location.href));
    async function get(path, params = {}) {
      const url = new URL(path, tasksUrl);
      url.search = new URLSearchParams(params);
      const send = (token) =>
        fetch(url, { headers: { Authorization: `Bearer ${token}` }, credentials: "omit", cache: "no-store" });
      const response = await send(await auth.token());
      return response.status === 401 ? send(await auth.renew()) : response;
    }
    function preview(title, badge, detail) {
      const heading = [{ type: "Title", value: title, size: "sm" }];
      if (badge) heading.push({ type: "Badge", label: badge.label, color: badge.color });
      return {
        type: "Basic",
        children: [
          {
            type: "Col",
            gap: 1,
            children: [
              { type: "Row", gap: 2, children: heading },
              { type: "Text", value: detail, size: "sm", color: "secondary" },
            ],
          },
        ],
      };
    }
    return {
      showComposerMenu: true,
      async onTagSearch(query) {
        try {
          const response = await get("search", { q: query, limit: "10" });
          return response.ok ? (await response.json()).entities : [];
        } catch {
          return []; // the picker shows nothing rather than an error while the user types
        }
      },
      async onRequestPreview(entity) {
        const response = await get(encodeURIComponent(entity.id));
        if (response.status === 404) {
          return { preview: preview(entity.title, null, "This task no longer exists.") };
        }
        if (!response.ok) return { preview: null };
        const task = await response.json();
        const badge = task.completed ? { label: "Done", color: "success" } : { label: "Pending", color: "secondary" };
        const shortId = `#${task.id.slice(-4).toLowerCase()}`;
        return { preview: preview(task.title, badge, task.notes ? `${shortId} · ${task.notes}` : shortId) };
      },
    };
  }

  // --- the ChatKit web component --------------------------------------------------------------

  function loadScript(src) {
    return new Promise((resolve, reject) => {
      const script = document.createElement("script");
      const timer = setTimeout(() => reject(new Error("timed out")), SCRIPT_TIMEOUT_MS);
      script.src = src;
      script.async = true;
      script.onload = () => {
        clearTimeout(timer);
        resolve();
      };
      script.onerror = () => {
        clearTimeout(timer);
        reject(new Error("could not be loaded"));
      };
      document.head.append(script);
    });
  }

  async function mountChatKit(chatkit, fetchWithToken, entities) {
    await loadScript(chatkit.scriptUrl);
    await Promise.race([
      customElements.whenDefined("openai-chatkit"),
      new Promise((_, reject) => setTimeout(() => reject(new Error("did not start")), SCRIPT_TIMEOUT_MS)),
    ]);
    const element = document.createElement("openai-chatkit");
    element.setOptions({
      ...chatkit.options, // composer (model picker, dictation) and feedback buttons: web/page.py
      api: {
        url: chatkit.url,
        domainKey: chatkit.domainKey,
        fetch: fetchWithToken,
        uploadStrategy: { type: "two_phase" },
      },
      entities,
    });
    element.addEventListener("chatkit.error", (event) => console.error("ChatKit:", event.detail));
    $("chatkit-root").append(element);
  }

  function showOffline(chatkit, reason) {
    const host = new URL(chatkit.scriptUrl).host;
    const notice = $("chatkit-notice");
    notice.replaceChildren();
    const title = document.createElement("strong");
    title.textContent = "The ChatKit chat window could not be loaded.";
    const text = document.createElement("span");
    text.textContent =
      `Its script comes from OpenAI's CDN (${host}) and ${reason}: this browser is probably offline, ` +
      "or the script is blocked. You can still use the basic chat below; it talks to the same server.";
    notice.append(title, text);
    notice.hidden = false;
  }

  // --- the basic built-in chat (when the web component is unavailable) ------------------------

  async function* serverSentEvents(response) {
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true }).replace(/\r\n/g, "\n");
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = block
          .split("\n")
          .filter((line) => line.startsWith("data:"))
          .map((line) => line.slice(5).replace(/^ /, ""))
          .join("\n");
        if (data) yield JSON.parse(data);
      }
    }
  }

  function addEntry(role, text) {
    const entry = document.createElement("li");
    entry.className = role;
    const who = document.createElement("span");
    who.className = "who";
    who.textContent = role === "user" ? "You" : "Assistant";
    const body = document.createElement("span");
    body.className = "text";
    body.textContent = text;
    entry.append(who, body);
    $("transcript").append(entry);
    return body;
  }

  // What the tools did (a workflow item's tasks), listed above the answer as the web component shows it.
  function showWorkflowTask(answer, itemId, index, task) {
    const entry = answer.parentElement;
    let list = [...entry.querySelectorAll("ul.activity")].find((ul) => ul.dataset.item === itemId);
    if (!list) {
      list = document.createElement("ul");
      list.className = "activity";
      list.dataset.item = itemId;
      entry.insertBefore(list, answer);
    }
    while (list.children.length <= index) list.append(document.createElement("li"));
    const line = list.children[index];
    line.className = task.status_indicator || "none";
    line.textContent = [task.title, task.content].filter(Boolean).join(": ");
  }

  // A widget item (the task list): the few ChatKit widget nodes it uses, drawn as plain HTML. A button
  // with a sync action (`streaming: false`) sends `threads.sync_custom_action` and redraws the widget from
  // the answer, as the web component does; anything else is shown as text.
  function widgetNode(node, onAction) {
    const kids = Array.isArray(node.children) ? node.children : node.children ? [node.children] : [];
    const drawn = () => kids.map((kid) => widgetNode(kid, onAction));
    switch (node.type) {
      case "ListView": {
        const list = document.createElement("ul");
        list.className = "widget-list";
        list.append(...drawn());
        if (node.status && node.status.text) list.setAttribute("aria-label", node.status.text);
        return list;
      }
      case "ListViewItem": {
        const row = document.createElement("li");
        row.append(...drawn());
        return row;
      }
      case "Row": {
        const row = document.createElement("div");
        row.className = "widget-row";
        row.append(...drawn());
        return row;
      }
      case "Spacer": {
        const gap = document.createElement("span");
        gap.className = "widget-spacer";
        return gap;
      }
      case "Button": {
        const button = document.createElement("button");
        button.type = "button";
        button.textContent = node.label || "";
        const action = node.onClickAction;
        if (action && action.handler !== "client" && action.streaming === false) {
          button.onclick = () => onAction(button, action);
        } else {
          button.disabled = true;
        }
        return button;
      }
      case "Badge": {
        const badge = document.createElement("span");
        badge.className = "widget-badge";
        badge.textContent = node.label || "";
        return badge;
      }
      default: {
        const text = document.createElement("span");
        text.textContent = node.value ?? node.label ?? "";
        if (node.lineThrough) text.className = "done";
        return text;
      }
    }
  }

  function showWidget(answer, item, sendAction) {
    const entry = answer.parentElement;
    let box = [...entry.querySelectorAll("div.widget")].find((div) => div.dataset.item === item.id);
    if (!box) {
      box = document.createElement("div");
      box.className = "widget";
      box.dataset.item = item.id;
      entry.insertBefore(box, answer);
    }
    const onAction = async (button, action) => {
      button.disabled = true;
      try {
        const updated = await sendAction(item.id, { type: action.type, payload: action.payload });
        if (updated) showWidget(answer, updated, sendAction);
      } catch (error) {
        button.disabled = false;
        const problem = document.createElement("p");
        problem.className = "widget-error";
        problem.setAttribute("role", "alert");
        problem.textContent = `That did not work: ${error.message}`;
        box.querySelector(".widget-error")?.remove();
        box.append(problem);
      }
    };
    box.replaceChildren(widgetNode(item.widget, onAction));
  }

  function deviceId() {
    let id = localStorage.getItem(DEVICE_KEY);
    if (!id) {
      id = randomId();
      localStorage.setItem(DEVICE_KEY, id);
    }
    return id;
  }

  function startBasicChat(chatkit, fetchWithToken) {
    // The same headers the web component sends, so this chat exercises the same CORS policy.
    const headers = {
      "Content-Type": "application/json",
      Accept: "text/event-stream",
      "Accept-Language": navigator.language || "en",
      "ChatKit-Frame-Instance-Id": randomId(),
      "ChatKit-Device-Id": deviceId(),
    };
    let threadId = null;
    const sendAction = async (itemId, action) => {
      const request = { type: "threads.sync_custom_action", params: { thread_id: threadId, item_id: itemId, action } };
      const jsonHeaders = { ...headers, Accept: "application/json" };
      const response = await fetchWithToken(chatkit.url, { method: "POST", headers: jsonHeaders, body: JSON.stringify(request) });
      if (!response.ok) throw new Error(await errorText(response));
      return (await response.json()).updated_item;
    };
    $("basic-chat").hidden = false;
    $("composer").addEventListener("submit", async (event) => {
      event.preventDefault();
      const field = $("message");
      const text = field.value.trim();
      if (!text) return;
      field.value = "";
      addEntry("user", text);
      const answer = addEntry("assistant", "…");
      answer.parentElement.setAttribute("aria-busy", "true");
      const input = { content: [{ type: "input_text", text }], quoted_text: "", attachments: [], inference_options: {} };
      const request = threadId
        ? { type: "threads.add_user_message", params: { thread_id: threadId, input } }
        : { type: "threads.create", params: { input } };
      try {
        const response = await fetchWithToken(chatkit.url, { method: "POST", headers, body: JSON.stringify(request) });
        if (!response.ok) throw new Error(await errorText(response));
        let streamed = "";
        for await (const chatEvent of serverSentEvents(response)) {
          if (chatEvent.type === "thread.created") threadId = chatEvent.thread.id;
          if (chatEvent.type === "progress_update" && !streamed) answer.textContent = chatEvent.text || "…";
          if (chatEvent.type === "thread.item.added" && chatEvent.item.type === "workflow") {
            const { id, workflow } = chatEvent.item;
            workflow.tasks.forEach((task, index) => showWorkflowTask(answer, id, index, task));
          }
          if (chatEvent.type === "thread.item.updated" && chatEvent.update.type.startsWith("workflow.task.")) {
            showWorkflowTask(answer, chatEvent.item_id, chatEvent.update.task_index, chatEvent.update.task);
          }
          if (chatEvent.type === "thread.item.removed") {
            answer.parentElement.querySelectorAll("ul.activity").forEach((ul) => {
              if (ul.dataset.item === chatEvent.item_id) ul.remove();
            });
          }
          if (chatEvent.type === "thread.item.updated" && chatEvent.update.type === "assistant_message.content_part.text_delta") {
            streamed += chatEvent.update.delta;
            answer.textContent = streamed;
          }
          if (chatEvent.type === "thread.item.done" && chatEvent.item.type === "widget") {
            showWidget(answer, chatEvent.item, sendAction);
          }
          if (chatEvent.type === "thread.item.done" && chatEvent.item.type === "assistant_message") {
            streamed = chatEvent.item.content.map((part) => part.text || "").join("");
            answer.textContent = streamed;
          }
          if (chatEvent.type === "error") throw new Error(chatEvent.message || "the assistant could not answer");
        }
      } catch (error) {
        answer.textContent = `Sorry, that did not work: ${error.message}`;
        answer.parentElement.classList.add("error");
      } finally {
        answer.parentElement.removeAttribute("aria-busy");
      }
    });
  }

  // --- start ----------------------------------------------------------------------------------

  async function main() {
    let config;
    try {
      const response = await fetch(new URL("web/config.json", document.baseURI), { cache: "no-store" });
      if (!response.ok) throw new Error(await errorText(response));
      config = await response.json();
    } catch (error) {
      setStatus(`This page could not read its configuration (${error.message}).`);
      return;
    }
    const kind = config.signIn.kind;
    if (kind !== "local" && kind !== "cognito") {
      setStatus("Sign-in is not configured for this server (set PAGE_AUTH_DOMAIN, or run it with `make dev`).");
      return;
    }
    const auth = kind === "local" ? localAuth(config.signIn) : cognitoAuth(config.signIn);
    try {
      setStatus("Signing in…");
      if (!(await auth.start())) {
        setStatus("");
        showSignIn(auth, "Sign in to talk to your task assistant.");
        return;
      }
      await auth.token();
    } catch (error) {
      setStatus(error instanceof SignInRequired ? "" : error.message);
      if (error instanceof SignInRequired) showSignIn(auth, error.message);
      return;
    }
    $("account-name").textContent = `Signed in as ${auth.name}`;
    $("account").hidden = false;
    if (auth.signOut) {
      $("sign-out").hidden = false;
      $("sign-out").onclick = () => auth.signOut();
    }
    const fetchWithToken = authorizedFetch(auth, config.chatkit.url);
    setStatus("Loading the chat…");
    try {
      await mountChatKit(config.chatkit, fetchWithToken, taskEntities(auth, config.chatkit.url));
      setStatus("");
    } catch (error) {
      setStatus("");
      showOffline(config.chatkit, error.message);
      startBasicChat(config.chatkit, fetchWithToken);
    }
  }

  main();
})();
