/**
 * The chat view: a webview that renders a `ChatState` and sends back what the user typed.
 * The page re-renders the whole state on each change; a conversation page is small.
 */
import { randomBytes } from "node:crypto";
import * as vscode from "vscode";
import { ChatState } from "./chat";

export type ViewMessage = { type: "send"; text: string } | { type: "cancel" } | { type: "older" };

export class ChatViewProvider implements vscode.WebviewViewProvider {
  static readonly viewId = "chatd.chatView";
  private view: vscode.WebviewView | undefined;
  private latest: ChatState | undefined;

  constructor(private readonly onMessage: (message: ViewMessage) => void) {}

  resolveWebviewView(view: vscode.WebviewView): void {
    this.view = view;
    view.webview.options = { enableScripts: true };
    view.webview.html = page(randomBytes(16).toString("base64"));
    view.webview.onDidReceiveMessage((message: ViewMessage) => this.onMessage(message));
    view.onDidDispose(() => (this.view = undefined));
    if (this.latest) {
      this.show(this.latest);
    }
  }

  show(state: ChatState): void {
    this.latest = state;
    void this.view?.webview.postMessage({ type: "state", state });
  }

  async reveal(): Promise<void> {
    await vscode.commands.executeCommand(`${ChatViewProvider.viewId}.focus`);
  }
}

function page(nonce: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'nonce-${nonce}'; script-src 'nonce-${nonce}';">
<style nonce="${nonce}">
  body { font-family: var(--vscode-font-family); font-size: var(--vscode-font-size); color: var(--vscode-foreground); padding: 0 8px; }
  #chatd-header { position: sticky; top: 0; background: var(--vscode-sideBar-background); padding: 6px 0; border-bottom: 1px solid var(--vscode-panel-border); }
  #chatd-header .meta { opacity: 0.8; font-size: 0.9em; }
  .entry { margin: 8px 0; white-space: pre-wrap; word-break: break-word; }
  .entry .who { font-weight: bold; display: block; margin-bottom: 2px; }
  .user { color: var(--vscode-textLink-foreground); }
  .notice { font-style: italic; opacity: 0.8; }
  .error { color: var(--vscode-errorForeground); }
  details { opacity: 0.85; }
  summary { cursor: pointer; }
  #chatd-form { display: flex; flex-direction: column; gap: 4px; margin: 8px 0; }
  textarea { width: 100%; box-sizing: border-box; font-family: inherit; color: var(--vscode-input-foreground); background: var(--vscode-input-background); border: 1px solid var(--vscode-input-border, transparent); }
  button { color: var(--vscode-button-foreground); background: var(--vscode-button-background); border: none; padding: 4px 10px; cursor: pointer; }
  button:disabled { opacity: 0.5; cursor: default; }
</style>
</head>
<body>
<div id="chatd-header"><div id="chatd-title">No conversation yet</div><div class="meta" id="chatd-meta"></div></div>
<button id="chatd-older" hidden>Load older messages</button>
<div id="chatd-log"></div>
<form id="chatd-form">
  <textarea id="chatd-input" rows="3" placeholder="Message chatd (Ctrl+Enter to send)"></textarea>
  <div><button id="chatd-send" type="submit">Send</button> <button id="chatd-cancel" type="button" disabled>Cancel</button></div>
</form>
<script nonce="${nonce}">
  const vscode = acquireVsCodeApi();
  const byId = (id) => document.getElementById(id);
  const labels = { user: "You", assistant: "chatd" };
  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }
  function folded(summary, text, className) {
    const details = element("details", "entry " + className);
    details.append(element("summary", "", summary), element("div", "", text));
    return details;
  }
  function render(state) {
    byId("chatd-title").textContent = state.title || (state.sessionId ? "New conversation" : "No conversation yet");
    const usage = state.usage;
    byId("chatd-meta").textContent = state.sessionId
      ? state.provider + " · " + state.model + " · tokens in " + usage.inputTokens + " / out " + usage.outputTokens + (state.running ? " · running…" : "")
      : "";
    byId("chatd-older").hidden = state.olderCursor === null;
    byId("chatd-cancel").disabled = !state.running;
    const log = byId("chatd-log");
    const atBottom = window.innerHeight + window.scrollY >= document.body.scrollHeight - 4;
    log.replaceChildren(...state.entries.map((entry) => {
      if (entry.kind === "thinking") return folded("Thinking", entry.text, "thinking");
      if (entry.kind === "tool_call") return folded("Tool call: " + entry.name, entry.text, "tool");
      if (entry.kind === "tool_result") return folded("Tool result: " + entry.name, entry.text, "tool");
      const node = element("div", "entry " + entry.kind);
      if (labels[entry.kind]) node.append(element("span", "who", labels[entry.kind]));
      node.append(document.createTextNode(entry.text));
      return node;
    }));
    if (atBottom) window.scrollTo(0, document.body.scrollHeight);
  }
  function submit() {
    const input = byId("chatd-input");
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    vscode.postMessage({ type: "send", text });
  }
  byId("chatd-form").addEventListener("submit", (event) => { event.preventDefault(); submit(); });
  byId("chatd-input").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) { event.preventDefault(); submit(); }
  });
  byId("chatd-cancel").addEventListener("click", () => vscode.postMessage({ type: "cancel" }));
  byId("chatd-older").addEventListener("click", () => vscode.postMessage({ type: "older" }));
  window.addEventListener("message", (event) => { if (event.data.type === "state") render(event.data.state); });
</script>
</body>
</html>`;
}
