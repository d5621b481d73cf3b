// The customer chat page. Everything the server or the customer sends is rendered as
// text (textContent), never as HTML.
import { io, Socket } from "socket.io-client";
import "./style.css";

type Button = { title: string; payload: string };
type Card = {
  kind?: string; id?: string; title?: string; subtitle?: string; amount?: string;
  image?: string | null; payload?: string; action?: string;
};
type Agent = { id?: string; name?: string } | null;
type BotMessage = {
  id?: string; time?: number; source?: string; agent?: Agent; kind?: string; text?: string;
  buttons?: Button[]; quick_replies?: Button[]; image?: string | null; cards?: Card[];
  custom?: { queue?: { position: number; wait_minutes: number } } | null;
};
type HistoryLine = (BotMessage & { role: "bot" }) | { role: "customer"; text: string; images?: string[] };
type Confirm = {
  conversation_id: string; conversation_token: string; verified: boolean; history: HistoryLine[];
  office_hours: { open: boolean; from: string | null; to: string | null };
  limits: { text: number; image_bytes: number; images: number };
};

const TOKEN_KEY = "shop-webchat.conversation";
const MAX_IMAGE = 10 * 1024 * 1024;
const IMAGE_TYPES = ["image/png", "image/jpeg", "image/gif", "image/webp"];

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const list = $<HTMLElement>("messages");
const input = $<HTMLTextAreaElement>("input");
const statusEl = $<HTMLElement>("status");
const typingEl = $<HTMLElement>("typing");
const queueEl = $<HTMLElement>("queue");
const quickEl = $<HTMLElement>("quick");
const noticeEl = $<HTMLElement>("notice");
const leaveEl = $<HTMLElement>("leave");

// Identity and product come in the URL fragment (never sent to a server in a URL).
const params = new URLSearchParams(location.hash.slice(1) || location.search.slice(1));
const identity = params.get("identity") || null;
const productId = params.get("product") || null;
const embedded = new URLSearchParams(location.search).get("embed") === "1";

const base = location.pathname.replace(/(index\.html)?$/, "");
const socket: Socket = io(location.origin, {
  path: `${base}socket.io`,
  transports: ["websocket"],
  reconnectionDelayMax: 4000,
});

let conversationId: string | null = null;
let officeHours: Confirm["office_hours"] | null = null;
let typingTimer: number | undefined;
let lastTypingSent = 0;

function storedToken(): string | null {
  try { return localStorage.getItem(TOKEN_KEY); } catch { return null; }
}
function storeToken(token: string): void {
  try { localStorage.setItem(TOKEN_KEY, token); } catch { /* private mode: this tab only */ }
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, cls?: string, text?: string) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined) node.textContent = text;
  return node;
}

function safeImage(url: string | null | undefined): string | null {
  if (!url) return null;
  return /^(https?:\/\/|\/|data:image\/(png|jpeg|gif|webp);base64,)/i.test(url) ? url : null;
}

function scrollDown(): void { list.scrollTop = list.scrollHeight; }

function showNotice(text: string): void {
  noticeEl.textContent = text;
  noticeEl.hidden = false;
  window.setTimeout(() => { noticeEl.hidden = true; }, 6000);
}

function system(text: string, cls = ""): void {
  list.append(el("div", `system ${cls}`.trim(), text));
  scrollDown();
}

function customerBubble(text: string, images: string[] = []): void {
  if (!text && !images.length) return;
  const row = el("div", "row me");
  const bubble = el("div", "bubble me");
  for (const src of images) {
    const ok = safeImage(src);
    if (ok) { const img = el("img", "photo-img"); img.src = ok; img.alt = "图片"; bubble.append(img); }
  }
  if (text) bubble.append(el("div", "text", text));
  row.append(bubble);
  list.append(row);
  scrollDown();
}

function renderBot(message: BotMessage): void {
  if (message.source === "desk" && message.kind === "agent_joined") {
    system(message.text || `人工客服 ${message.agent?.name ?? ""} 已接入`, "joined");
    return;
  }
  const row = el("div", "row bot");
  const who = message.source === "desk" ? `人工客服 ${message.agent?.name ?? ""}` : "店小蜜";
  row.append(el("div", message.source === "desk" ? "who agent" : "who", who));
  const bubble = el("div", message.source === "desk" ? "bubble bot agent" : "bubble bot");
  if (message.text) bubble.append(el("div", "text", message.text));
  const image = safeImage(message.image);
  if (image) { const img = el("img", "photo-img"); img.src = image; img.alt = "图片"; bubble.append(img); }
  row.append(bubble);
  const cards = message.cards || [];
  if (cards.length) {
    const box = el("div", "cards");
    for (const card of cards) box.append(renderCard(card));
    row.append(box);
  } else if (message.buttons && message.buttons.length) {
    const box = el("div", "buttons");
    for (const button of message.buttons) {
      const b = el("button", "choice", button.title);
      b.type = "button";
      b.addEventListener("click", () => send(button.payload, [], button.title));
      box.append(b);
    }
    row.append(box);
  }
  list.append(row);
  renderQuick(message.quick_replies || []);
  scrollDown();
}

function renderCard(card: Card): HTMLElement {
  const node = el("div", `card card-${card.kind === "product" ? "product" : "order"}`);
  const image = safeImage(card.image);
  if (image) { const img = el("img", "card-img"); img.src = image; img.alt = ""; node.append(img); }
  const body = el("div", "card-body");
  const title = el("div", "card-title");
  title.append(el("span", "card-tag", card.kind === "product" ? "商品" : "订单"), card.title || "");
  body.append(title);
  if (card.kind === "order" && card.id) body.append(el("div", "card-id", `订单号 ${card.id}`));
  const meta = el("div", "card-meta");
  if (card.subtitle) meta.append(el("span", "card-sub", card.subtitle));
  if (card.amount) meta.append(el("span", "card-amount", card.amount));
  body.append(meta);
  node.append(body);
  if (card.payload) {
    const b = el("button", "card-action", card.action || "选择");
    b.type = "button";
    const shown = card.kind === "order" && card.id ? `订单 ${card.id}` : card.title || card.action || "";
    b.addEventListener("click", () => send(card.payload as string, [], shown));
    node.append(b);
  }
  return node;
}

function renderQuick(replies: Button[]): void {
  quickEl.replaceChildren();
  for (const reply of replies) {
    const b = el("button", "chip", reply.title);
    b.type = "button";
    b.addEventListener("click", () => { quickEl.replaceChildren(); send(reply.payload, [], reply.title); });
    quickEl.append(b);
  }
}

function renderHistory(lines: HistoryLine[]): void {
  list.replaceChildren();
  if (!lines.length) system("您好,欢迎咨询~ 直接输入问题,或发送图片给我们");
  for (const line of lines) {
    if (line.role === "customer") customerBubble(line.text, line.images || []);
    else renderBot(line);
  }
}

async function send(text: string, attachments: { type: string; url: string }[] = [], shown?: string,
                    extra: Record<string, unknown> = {}): Promise<boolean> {
  if (!socket.connected) { showNotice("网络连接中断,正在重连,请稍后再发送"); return false; }
  let reply: { ok: boolean; error?: string };
  try {
    const display = shown !== undefined && shown !== text ? shown : undefined;
    reply = await socket.timeout(20000).emitWithAck("user_message", { text, attachments, display, ...extra });
  } catch {
    showNotice("发送超时,请检查网络后重试");
    return false;
  }
  if (!reply.ok) { showNotice(reply.error || "发送失败,请重试"); return false; }
  customerBubble(shown ?? text, attachments.map((a) => a.url));
  return true;
}

// ------------------------------------------------------------------ socket events
socket.on("connect", () => {
  socket.emit("session_request", { conversation_token: storedToken(), identity, product_id: productId });
});
socket.on("disconnect", () => { statusEl.textContent = "重连中…"; statusEl.className = "status offline"; });
socket.on("connect_error", () => { statusEl.textContent = "连接失败,重试中…"; statusEl.className = "status offline"; });

socket.on("session_confirm", (data: Confirm) => {
  conversationId = data.conversation_id;
  storeToken(data.conversation_token);
  statusEl.textContent = "在线";
  statusEl.className = "status online";
  officeHours = data.office_hours;
  document.body.dataset.conversation = conversationId;
  $<HTMLButtonElement>("leave-open").hidden = !!officeHours?.open;
  renderHistory(data.history || []);
});
socket.on("bot_message", (message: BotMessage) => {
  typingEl.hidden = true;
  if (message.source === "desk") queueEl.hidden = true;
  if (message.custom?.queue) showQueue(message.custom.queue);
  renderBot(message);
});
socket.on("typing", (data: { who: string; on: boolean; agent: Agent }) => {
  window.clearTimeout(typingTimer);
  if (!data.on) { typingEl.hidden = true; return; }
  typingEl.textContent = data.who === "agent" ? `人工客服 ${data.agent?.name ?? ""} 正在输入…` : "店小蜜正在输入…";
  typingEl.hidden = false;
  typingTimer = window.setTimeout(() => { typingEl.hidden = true; }, 8000);
});
function showQueue(data: { position: number; wait_minutes: number }): void {
  const ahead = Math.max(data.position - 1, 0);
  queueEl.textContent = ahead > 0
    ? `正在为您转接人工客服:前面还有 ${ahead} 位,预计等待约 ${Math.max(data.wait_minutes, 1)} 分钟`
    : `正在为您转接人工客服:马上轮到您,预计等待约 ${Math.max(data.wait_minutes, 1)} 分钟`;
  queueEl.hidden = false;
}
socket.on("queue", showQueue);
socket.on("agent", (data: { event: string; agent: Agent }) => {
  if (data.event === "joined") queueEl.hidden = true;
  if (data.event === "left") system(`人工客服 ${data.agent?.name ?? ""} 已结束服务`, "left");
});

// ------------------------------------------------------------------ composer
$<HTMLFormElement>("composer").addEventListener("submit", async (event) => {
  event.preventDefault();
  const text = input.value.trim();
  if (!text) return;
  input.value = "";
  if (!(await send(text))) input.value = text; // nothing typed is lost
  input.focus();
});
input.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    $<HTMLFormElement>("composer").requestSubmit();
  }
});
input.addEventListener("input", () => {
  const now = Date.now();
  if (socket.connected && now - lastTypingSent > 2000) {
    lastTypingSent = now;
    socket.emit("typing", { on: true });
  }
});

$<HTMLInputElement>("photo").addEventListener("change", (event) => {
  const field = event.target as HTMLInputElement;
  const file = field.files?.[0];
  field.value = "";
  if (!file) return;
  if (!IMAGE_TYPES.includes(file.type)) { showNotice("只能发送图片(JPG、PNG、GIF、WebP)哦"); return; }
  if (file.size > MAX_IMAGE) { showNotice("图片超过10MB了,请压缩或截图后再发送"); return; }
  const reader = new FileReader();
  reader.onload = () => { void send("", [{ type: "image", url: String(reader.result) }], ""); };
  reader.onerror = () => showNotice("图片读取失败,请换一张试试");
  reader.readAsDataURL(file);
});

// ------------------------------------------------------------------ leave a message
$<HTMLButtonElement>("leave-open").addEventListener("click", () => {
  $<HTMLElement>("leave-hours").textContent = officeHours?.from
    ? `人工客服在线时间 ${officeHours.from}-${officeHours.to},现在不在线。留下联系方式,我们上班后第一时间联系您。`
    : "留下联系方式,客服会尽快联系您。";
  leaveEl.hidden = false;
});
$<HTMLButtonElement>("leave-cancel").addEventListener("click", () => { leaveEl.hidden = true; });
$<HTMLFormElement>("leave-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target as HTMLFormElement;
  const data = Object.fromEntries(new FormData(form)) as Record<string, string>;
  if (!/^1\d{10}$/.test((data.phone || "").trim())) { showNotice("请填写11位手机号"); return; }
  const ok = await send("/request_human", [], `【留言】${data.content}`, {
    leave_message: { name: data.name, phone: data.phone.trim(), content: data.content },
  });
  if (ok) { leaveEl.hidden = true; form.reset(); }
});

if (embedded) {
  const close = $<HTMLButtonElement>("close");
  close.hidden = false;
  close.addEventListener("click", () => window.parent.postMessage({ type: "shop-webchat:close" }, "*"));
}

// Tests and the widget read the state from here.
(window as unknown as { shopWebchat: object }).shopWebchat = {
  get conversationId() { return conversationId; },
  get connected() { return socket.connected; },
  socket,
};
