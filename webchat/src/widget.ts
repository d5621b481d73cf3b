// The shop's one-line embed: <script src=".../webhooks/webchat/widget.js" data-identity="..." data-product="...">
// draws a chat bubble; the chat itself is the chat page in an iframe (its own origin, so the
// shop's CSS and scripts cannot reach it). The identity travels in the URL fragment.
(function () {
  const script = document.currentScript as HTMLScriptElement | null;
  if (!script || (window as unknown as { __shopWebchat?: boolean }).__shopWebchat) return;
  (window as unknown as { __shopWebchat?: boolean }).__shopWebchat = true;
  const pageUrl = new URL("./", script.src);
  const fragment = new URLSearchParams();
  if (script.dataset.identity) fragment.set("identity", script.dataset.identity);
  if (script.dataset.product) fragment.set("product", script.dataset.product);
  const label = script.dataset.label || "咨询客服";

  const style = document.createElement("style");
  style.textContent = `
  .swc-bubble{position:fixed;right:18px;bottom:18px;z-index:2147483000;display:flex;align-items:center;gap:6px;
    background:#ff5000;color:#fff;border:0;border-radius:28px;padding:12px 18px;font-size:15px;cursor:pointer;
    box-shadow:0 4px 14px rgba(255,80,0,.4);font-family:-apple-system,"PingFang SC","Noto Sans CJK SC",sans-serif}
  .swc-panel{position:fixed;right:18px;bottom:80px;width:380px;height:620px;max-height:calc(100vh - 100px);
    z-index:2147483001;border:0;border-radius:14px;box-shadow:0 8px 30px rgba(0,0,0,.22);background:#fff;display:none}
  .swc-panel.swc-open{display:block}
  @media (max-width:600px){.swc-panel{right:0;bottom:0;width:100vw;height:100vh;height:100dvh;max-height:none;border-radius:0}
    .swc-panel.swc-open + .swc-bubble{display:none}}`;
  document.head.append(style);

  const frame = document.createElement("iframe");
  frame.className = "swc-panel";
  frame.title = "在线客服";
  frame.setAttribute("allow", "clipboard-write");
  const bubble = document.createElement("button");
  bubble.type = "button";
  bubble.className = "swc-bubble";
  bubble.textContent = `💬 ${label}`;
  let loaded = false;

  function toggle(open?: boolean): void {
    const show = open ?? !frame.classList.contains("swc-open");
    if (show && !loaded) {
      frame.src = `${pageUrl.href}?embed=1#${fragment.toString()}`;
      loaded = true;
    }
    frame.classList.toggle("swc-open", show);
  }
  bubble.addEventListener("click", () => toggle());
  window.addEventListener("message", (event) => {
    if (event.origin === pageUrl.origin && event.data && event.data.type === "shop-webchat:close") toggle(false);
  });
  document.body.append(frame, bubble);
  (window as unknown as { shopWebchatWidget: object }).shopWebchatWidget = { open: () => toggle(true), frame };
})();
