// Trainer review page: grouped list, intent picker, labelling, story export.
// Data comes from /trainer/api/* (trainer/http.py); inside the desk the login cookie
// authenticates, alone it uses a bearer token kept for this browser tab only.
import "./style.css";

const API = "/trainer/api";
const NEW_INTENT = "__new__";
const state = { groups: [], intents: [], current: null, conversation: null, flagged: new Set() };
const $ = (id) => document.getElementById(id);

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (value !== undefined && value !== null && value !== false) node.setAttribute(key, value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function cookie(name) {
  const found = document.cookie.split("; ").find((part) => part.startsWith(name + "="));
  return found ? decodeURIComponent(found.split("=")[1]) : null;
}

class Unauthorised extends Error {}

// Inside the desk app the CSRF token comes with the agent's session (GET /api/me).
let deskToken = null;
async function deskCsrf() {
  if (deskToken === null) {
    try {
      const response = await fetch("/api/me", { credentials: "same-origin" });
      deskToken = response.ok ? (await response.json()).csrf_token || "" : "";
    } catch {
      deskToken = "";
    }
  }
  return deskToken;
}

async function api(path, options = {}) {
  const headers = { Accept: "application/json", ...(options.body ? { "Content-Type": "application/json" } : {}) };
  const token = sessionStorage.getItem("trainer-token");
  if (token) headers.Authorization = `Bearer ${token}`;
  const csrf = cookie("desk_csrf") || (await deskCsrf());
  if (csrf) headers["X-CSRF-Token"] = csrf;
  const response = await fetch(API + path, { credentials: "same-origin", ...options, headers });
  if (response.status === 401 || response.status === 403) throw new Unauthorised();
  let data = {};
  try { data = await response.json(); } catch { data = { error: `服务器返回 ${response.status}` }; }
  if (!response.ok && response.status !== 422) throw new Error(data.error || `请求失败 (${response.status})`);
  return data;
}

function showLogin(show) {
  $("login").hidden = !show;
  $("app").hidden = show;
}

function time(seconds) {
  const d = new Date(seconds * 1000);
  return `${d.getMonth() + 1}月${d.getDate()}日 ${String(d.getHours()).padStart(2, "0")}:${String(d.getMinutes()).padStart(2, "0")}`;
}

function intentName(name) {
  const found = state.intents.find((item) => item.intent === name);
  return found ? `${found.label} (${name})` : name;
}

async function load() {
  try {
    const [review, intents] = await Promise.all([api("/review"), api("/intents")]);
    showLogin(false);
    state.groups = review.groups;
    state.intents = intents.intents;
    $("stats").textContent = `${review.messages} 条消息 · ${review.groups.length} 组 · 置信度阈值 ${review.threshold}`;
    renderGroups();
    const again = state.groups.find((g) => state.current && g.items.some((i) => state.current.items.some((c) => c.key === i.key)));
    selectGroup(again || state.groups[0] || null);
  } catch (error) {
    if (error instanceof Unauthorised) return showLogin(true);
    $("detail").replaceChildren(el("p", { class: "result bad" }, `加载失败: ${error.message}`));
  }
}

function renderGroups() {
  const list = $("groups");
  list.replaceChildren();
  if (!state.groups.length) {
    list.append(el("li", { class: "empty" }, "没有待审核的消息 🎉"));
    return;
  }
  for (const group of state.groups) {
    list.append(el("li", {
      class: "group" + (state.current && state.current.id === group.id ? " active" : ""),
      "data-group": group.id,
      onclick: () => selectGroup(group),
    },
    el("span", { class: "count" }, `${group.count} 条`),
    el("div", { class: "sample" }, group.sample),
    el("div", { class: "chips" }, group.reasons.map((r) => el("span", { class: "chip reason" }, `${r.label} ×${r.count}`))),
    el("div", { class: "chips" }, group.keywords.map((k) => el("span", { class: "chip" }, k)))));
  }
}

function intentPicker(group) {
  const select = el("select", { id: "intent" },
    el("option", { value: "" }, "选择正确的意图…"),
    state.intents.map((item) => el("option", { value: item.intent }, `${item.label} (${item.intent})`)),
    el("option", { value: NEW_INTENT }, "新意图…"));
  const newName = el("input", { id: "new-intent", placeholder: "新意图名,如 ask_gift_wrap", hidden: true, maxlength: 48 });
  select.addEventListener("change", () => { newName.hidden = select.value !== NEW_INTENT; });
  const best = group.hints[0];
  if (best && state.intents.some((item) => item.intent === best.intent)) select.value = best.intent;
  return { select, newName };
}

function selectGroup(group) {
  state.current = group;
  document.querySelectorAll(".group").forEach((node) => node.classList.toggle("active", group && Number(node.dataset.group) === group.id));
  const detail = $("detail");
  if (!group) {
    detail.replaceChildren(el("p", { class: "empty" }, "没有待审核的消息。"));
    return;
  }
  const { select, newName } = intentPicker(group);
  const rows = group.items.map((item) => el("tr", { "data-key": item.key },
    el("td", {}, el("input", { type: "checkbox", class: "pick", checked: true, "aria-label": "选择" })),
    el("td", {}, item.text, el("br"), el("small", {}, time(item.time))),
    el("td", {}, el("input", { class: "example", value: item.example, "aria-label": "写入训练数据的样例" })),
    el("td", {}, item.intent || "", el("br"), el("small", {}, item.confidence.toFixed(2))),
    el("td", {}, el("button", { type: "button", onclick: () => openConversation(item.sender_id, item.key) }, "查看会话"))));
  detail.replaceChildren(
    el("h2", {}, `第 ${group.id} 组 · ${group.count} 条`),
    el("div", { class: "chips" }, "模型猜测:",
      group.hints.map((hint) => el("button", { type: "button", class: "chip hint", onclick: () => { select.value = hint.intent; newName.hidden = true; } },
        `${intentName(hint.intent)} ${(hint.confidence * 100).toFixed(0)}%`))),
    el("table", {},
      el("thead", {}, el("tr", {}, ["", "顾客消息(已脱敏)", "写入训练数据的样例(个人信息已替换)", "模型意图", ""].map((h) => el("th", {}, h)))),
      el("tbody", {}, rows)),
    el("div", { class: "labeller" }, "标注为", select, newName,
      el("button", { id: "label", type: "button", class: "primary", onclick: () => label(select, newName) }, "标注所选消息"),
      el("button", { id: "dismiss", type: "button", onclick: dismiss }, "忽略所选")),
    el("div", { id: "result" }));
}

function picked() {
  return [...document.querySelectorAll("#detail tbody tr")]
    .filter((row) => row.querySelector(".pick").checked)
    .map((row) => ({ key: row.dataset.key, text: row.querySelector(".example").value }));
}

function validationView(validation) {
  if (!validation) return [];
  return [
    el("div", {}, `${validation.command}: ${validation.summary}(${validation.seconds} 秒)`),
    validation.warnings.map((w) => el("div", {}, `警告: ${w}`)),
    validation.errors.map((e) => el("div", {}, `错误: ${e}`)),
  ];
}

async function label(select, newName) {
  const isNew = select.value === NEW_INTENT;
  const intent = isNew ? newName.value.trim() : select.value;
  const chosen = picked();
  const result = $("result");
  if (!intent) return result.replaceChildren(el("div", { class: "result bad" }, "请先选择意图"));
  if (!chosen.length) return result.replaceChildren(el("div", { class: "result bad" }, "请至少选择一条消息"));
  const texts = Object.fromEntries(chosen.map((c) => [c.key, c.text]));
  $("label").disabled = true;
  result.replaceChildren(el("div", { class: "result busy" }, "正在写入并运行 rasa data validate,大约需要半分钟…"));
  try {
    const data = await api("/label", { method: "POST", body: JSON.stringify({ keys: chosen.map((c) => c.key), intent, new: isNew, texts }) });
    if (data.error) throw new Error(data.error);
    const box = el("div", { class: "result " + (data.ok ? "ok" : "bad"), id: "label-result" },
      el("strong", {}, data.ok ? `已标注 ${data.labelled.length} 条为 ${intentName(data.intent)}` : "校验失败,改动已撤销"),
      data.added.map((a) => el("div", {}, `+ ${data.files[0]}: ${a}`)),
      data.skipped.map((s) => el("div", {}, `跳过「${s.example}」: ${s.why}`)),
      validationView(data.validation));
    if (data.ok) {
      await load();
      $("result")?.replaceChildren(box);
      if (!$("result")) $("detail").append(box);
    } else {
      result.replaceChildren(box);
    }
  } catch (error) {
    if (error instanceof Unauthorised) return showLogin(true);
    result.replaceChildren(el("div", { class: "result bad" }, error.message));
  } finally {
    const button = $("label");
    if (button) button.disabled = false;
  }
}

async function dismiss() {
  const chosen = picked();
  if (!chosen.length) return;
  try {
    await api("/dismiss", { method: "POST", body: JSON.stringify({ keys: chosen.map((c) => c.key) }) });
    await load();
  } catch (error) {
    if (error instanceof Unauthorised) return showLogin(true);
    $("result").replaceChildren(el("div", { class: "result bad" }, error.message));
  }
}

async function openConversation(senderId, key) {
  state.conversation = { senderId, key };
  $("conversation-id").textContent = senderId;
  $("export-result").replaceChildren();
  $("transcript").replaceChildren(el("li", { class: "session" }, "加载中…"));
  $("conversation").showModal();
  try {
    const data = await api(`/conversations/${encodeURIComponent(senderId)}`);
    $("transcript").replaceChildren(...data.lines.map((line) => line.role === "session"
      ? el("li", { class: "session" }, "—— 新会话 ——")
      : el("li", { class: `${line.role}${line.key === key ? " flagged" : ""}` },
        el("small", {}, `${line.role === "customer" ? "顾客" : "小蜜"} · ${time(line.time)}${line.intent ? ` · ${line.intent} ${Number(line.confidence).toFixed(2)}` : ""}`),
        line.text)));
  } catch (error) {
    $("transcript").replaceChildren(el("li", { class: "session" }, error.message));
  }
}

async function exportStory() {
  const { senderId, key } = state.conversation || {};
  const name = $("story-name").value.trim() || undefined;
  const box = $("export-result");
  $("export").disabled = true;
  box.replaceChildren(el("div", { class: "result busy" }, "正在导出并校验…"));
  try {
    const data = await api("/stories", { method: "POST", body: JSON.stringify({ sender_id: senderId, name, message_key: key }) });
    if (data.error) throw new Error(data.error);
    box.replaceChildren(el("div", { class: "result " + (data.ok ? "ok" : "bad"), id: "story-result" },
      el("strong", {}, data.ok ? `已写入 ${data.path}` : "校验失败,没有写入"),
      validationView(data.validation),
      el("pre", {}, data.story)));
  } catch (error) {
    if (error instanceof Unauthorised) return showLogin(true);
    box.replaceChildren(el("div", { class: "result bad" }, error.message));
  } finally {
    $("export").disabled = false;
  }
}

$("refresh").addEventListener("click", load);
$("export").addEventListener("click", exportStory);
$("login-form").addEventListener("submit", (event) => {
  event.preventDefault();
  sessionStorage.setItem("trainer-token", $("token").value);
  load();
});
load();
