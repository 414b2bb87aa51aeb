// Client-hosted tools through the real daemon: the model's call reaches this client, its answer
// reaches the model, approval is asked, and the tools are bound again after a kill -9.
// Needs CHATD_FAKE_PROVIDER_URL: tests/editors/test_vscode.py starts the fake provider API
// there, scripts the model's tool calls, and checks the results it received afterwards.
"use strict";
const assert = require("node:assert/strict");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { test } = require("node:test");
const { Chat } = require("../out/chat");
const { ChatdClient } = require("../out/client");

const fakeProvider = process.env.CHATD_FAKE_PROVIDER_URL;
const command = process.env.CHATD_TEST_COMMAND
  ? JSON.parse(process.env.CHATD_TEST_COMMAND)
  : ["chatd", "serve", "--stdio"];

/** Stands in for the editor: a buffer with unsaved text, and an approval that allows once. */
function fakeEditor() {
  const seen = { calls: [], approvals: [] };
  const host = {
    specs: [
      { name: "read_buffer", parameters: { type: "object", properties: { path: { type: "string" } } } },
      { name: "open_file", approval: "ask" },
    ],
    async call(params) {
      seen.calls.push([params.name, params.arguments]);
      return { content: params.name === "read_buffer" ? "unsaved text of notes.txt" : "opened notes.txt at line 3" };
    },
    async approve(params) {
      seen.approvals.push([params.name, params.options]);
      return "allow_once";
    },
  };
  return { host, seen };
}

test("the model's tool calls reach this client, before and after a daemon restart", { skip: !fakeProvider }, async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "chatd-vscode-tools-"));
  const config = path.join(root, "config.toml");
  fs.writeFileSync(config, `[providers.claude]\nbase_url = "${fakeProvider}"\napi_key = "test-key"\nmax_retries = 0\n`);
  const client = new ChatdClient({
    command,
    env: { CHATD_CONFIG: config, CHATD_STORE_DIR: path.join(root, "store"), CHATD_SOCKET: path.join(root, "chatd.sock") },
  });
  try {
    const { host, seen } = fakeEditor();
    client.hostTools(host);
    const chat = new Chat(client, root);
    await chat.start("claude");
    assert.equal((await chat.send("what is in notes.txt?")).text.endsWith("It says: unsaved text."), true);
    assert.deepEqual(seen.calls, [["read_buffer", { path: "notes.txt" }]]);

    process.kill(client.pid, "SIGKILL");
    await new Promise((resolve) => client.onExit(resolve));
    assert.equal((await chat.send("show me line 3")).text.endsWith("Opened."), true);
    assert.deepEqual(seen.calls.at(-1), ["open_file", { path: "notes.txt", line: 3 }], JSON.stringify(chat.state.entries));
    assert.deepEqual(seen.approvals, [["open_file", ["allow_once", "allow_always", "reject_once", "reject_always"]]]);
    const shown = chat.state.entries.map((entry) => entry.kind);
    assert.ok(shown.includes("tool_call") && shown.includes("tool_result"), JSON.stringify(chat.state.entries));
  } finally {
    client.dispose();
    fs.rmSync(root, { recursive: true, force: true });
  }
});
