// The protocol client against the real daemon (`chatd` on PATH, or CHATD_TEST_COMMAND as a
// JSON argv), each test with its own config, store and socket, the `echo` provider answering.
"use strict";
const assert = require("node:assert/strict");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { afterEach, test } = require("node:test");
const { Chat } = require("../out/chat");
const { ChatdClient, ChatdError } = require("../out/client");

const command = process.env.CHATD_TEST_COMMAND
  ? JSON.parse(process.env.CHATD_TEST_COMMAND)
  : ["chatd", "serve", "--stdio"];
const cleanups = [];

afterEach(() => cleanups.splice(0).forEach((cleanup) => cleanup()));

/** A client on a private daemon; `echoDelayMs` holds each turn open between its deltas;
 * `shared`: through `serve --stdio --shared`, which starts the socket daemon and hands it
 * node's stdio, which the cleanup then stops. */
function isolatedClient({ echoDelayMs = 0, shared = false } = {}) {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "chatd-vscode-"));
  fs.writeFileSync(path.join(root, "config.toml"), "");
  const stderr = [];
  const options = {
    command: shared ? [...command, "--shared"] : command,
    env: {
      CHATD_CONFIG: path.join(root, "config.toml"),
      CHATD_STORE_DIR: path.join(root, "store"),
      CHATD_SOCKET: path.join(root, "chatd.sock"),
      CHATD_ECHO_DELAY_MS: String(echoDelayMs),
    },
    clientName: "node-test",
    log: (line) => stderr.push(line),
  };
  const client = new ChatdClient(options);
  const others = [];
  cleanups.push(() => {
    [client, ...others].forEach((each) => each.dispose());
    const lock = path.join(root, "chatd.sock.lock");
    if (shared && fs.existsSync(lock)) {
      try {
        process.kill(Number(fs.readFileSync(lock, "utf8")), "SIGTERM");
      } catch {
        // already gone
      }
    }
    fs.rmSync(root, { recursive: true, force: true });
  });
  /** Another client with the same settings (through the same daemon, when shared). */
  const another = () => {
    const other = new ChatdClient(options);
    others.push(other);
    return other;
  };
  return { client, stderr, another };
}

/** Resolves with the first `chat/update` of `kind`. */
function nextUpdate(client, kind) {
  return new Promise((resolve) => {
    const stop = client.onUpdate((update) => {
      if (update.kind === kind) {
        stop();
        resolve(update);
      }
    });
  });
}

function killHard(client) {
  const pid = client.pid;
  assert.ok(pid, "a daemon is attached");
  const exited = new Promise((resolve) => client.onExit(resolve));
  process.kill(pid, "SIGKILL");
  return exited;
}

test("new chat, send: the reply streams as chat/update text", async () => {
  const { client } = isolatedClient();
  const init = await client.initialize();
  assert.equal(init.capabilities.defaultProvider, "echo");
  const created = await client.newChat({ provider: "echo" });
  assert.equal(created.model, "echo-1");
  const deltas = [];
  client.onUpdate((update) => update.kind === "text" && deltas.push(update.text));
  const result = await client.send(created.sessionId, "hello chatd");
  assert.equal(result.text, "[1] hello chatd");
  assert.equal(result.stopReason, "end_turn");
  assert.ok(deltas.length > 1, `streamed in several deltas: ${JSON.stringify(deltas)}`);
  assert.equal(deltas.join(""), "[1] hello chatd");
  assert.ok(result.usage.outputTokens > 0);
});

test("through the shared daemon: node's own stdio is handed over, and two clients share a session", async () => {
  const { client, another } = isolatedClient({ shared: true });
  await client.initialize();
  const created = await client.newChat({ provider: "echo" });
  assert.equal((await client.send(created.sessionId, "one")).text, "[1] one");
  const second = another();
  await second.initialize();
  const status = await second.request("daemon/status", {});
  assert.equal(status.connections, 2, "one daemon, both attached");
  assert.equal((await second.send(created.sessionId, "two")).text, "[2] two");
});

test("kill -9 while idle and mid-turn: the next command respawns and continues the session", async () => {
  const { client } = isolatedClient({ echoDelayMs: 100 });
  const chat = new Chat(client);
  await chat.start();
  await chat.send("one");
  await chat.send("two");
  const firstPid = client.pid;
  await killHard(client);

  assert.equal((await chat.send("three")).text, "[3] three");
  assert.notEqual(client.pid, firstPid);

  const streaming = nextUpdate(client, "text");
  const interrupted = chat.send("four, interrupted");
  await streaming;
  await killHard(client);
  await assert.rejects(interrupted, (error) => error instanceof ChatdError && error.reason === "daemon_exited");
  assert.equal((await chat.send("four")).text, "[4] four");
  const shown = chat.state.entries.filter((entry) => entry.kind === "assistant").map((entry) => entry.text);
  assert.deepEqual(shown.slice(0, 3), ["[1] one", "[2] two", "[3] three"]);
  assert.equal(shown.at(-1), "[4] four");
});

test("resume renders the newest history page and pages older on demand", async () => {
  const { client } = isolatedClient();
  const chat = new Chat(client);
  await chat.start();
  for (const word of ["alpha", "beta", "gamma"]) {
    await chat.send(word);
  }
  const sessionId = chat.state.sessionId;
  await killHard(client);

  const listing = await client.list();
  assert.deepEqual(
    listing.items.map((item) => [item.id, item.title, item.provider]),
    [[sessionId, "alpha", "echo"]],
  );
  const restored = await client.restore(sessionId, 2);
  assert.deepEqual(restored.history.map((item) => item.text), ["gamma", "[3] gamma"]);
  assert.notEqual(restored.historyCursor, null);

  const resumed = new Chat(client);
  await resumed.resume(sessionId);
  assert.equal(resumed.state.entries.length, 6);
  const older = await client.history(sessionId, restored.historyCursor, 2);
  assert.deepEqual(older.items.map((item) => item.text), ["beta", "[2] beta"]);
});

test("cancel ends the running turn with stopReason cancelled", async () => {
  const { client } = isolatedClient({ echoDelayMs: 2000 });
  const chat = new Chat(client);
  await chat.start();
  const streaming = nextUpdate(client, "text");
  const sending = chat.send("a long answer please");
  await streaming;
  assert.equal(await chat.cancel(), true);
  const result = await sending;
  assert.equal(result.stopReason, "cancelled");
  assert.ok("[1] a long answer please".startsWith(result.text));
});

test("delete removes the conversation from the store", async () => {
  const { client } = isolatedClient();
  const { sessionId } = await client.newChat();
  await client.send(sessionId, "to be deleted");
  assert.equal((await client.list()).items.length, 1);
  assert.equal(await client.delete(sessionId), null);
  assert.deepEqual((await client.list()).items, []);
  await assert.rejects(client.restore(sessionId), (error) => error.reason === "snapshot_not_found");
});

test("a daemon that cannot start is a readable error, and the client retries on the next request", async () => {
  const client = new ChatdClient({ command: ["/nonexistent/chatd", "serve", "--stdio"] });
  cleanups.push(() => client.dispose());
  await assert.rejects(client.list(), (error) => error.reason === "daemon_exited" && /nonexistent/.test(error.message));
  await assert.rejects(client.list(), (error) => error.reason === "daemon_exited");
});
