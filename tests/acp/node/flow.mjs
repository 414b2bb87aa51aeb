// The official ACP TypeScript SDK as a client of `chatd acp`, run by tests/acp/test_node_client.py.
//
// initialize, session/new, a prompt with streamed chunks, a cancelled prompt, session/list;
// then kill -9 the agent, spawn a new one, session/load replays everything, and a prompt
// continues the conversation ("[3] ..." from the echo provider).
// Environment: CHATD_ACP_COMMAND (a JSON array: the agent's argv), ACP_TEST_CWD (the workspace),
// and chatd's own CHATD_CONFIG / CHATD_STORE_DIR. Prints one JSON summary line; exits 1 on failure.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { Readable, Writable } from "node:stream";
import { client, methods, ndJsonStream } from "@agentclientprotocol/sdk";

const command = JSON.parse(process.env.CHATD_ACP_COMMAND);
const cwd = process.env.ACP_TEST_CWD;

function startAgent() {
  const child = spawn(command[0], command.slice(1), { stdio: ["pipe", "pipe", "inherit"] });
  const updates = [];
  let onUpdate = () => {};
  const connection = client({ name: "chatd-node-test" })
    .onNotification(methods.client.session.update, ({ params }) => {
      updates.push(params.update);
      onUpdate(params.update);
    })
    .connect(ndJsonStream(Writable.toWeb(child.stdin), Readable.toWeb(child.stdout)));
  const exited = new Promise((resolve) => child.on("exit", (code, signal) => resolve({ code, signal })));
  return {
    child,
    updates,
    exited,
    agent: connection.agent,
    close: () => connection.close(),
    waitFor(predicate) {
      return new Promise((resolve) => {
        onUpdate = (update) => {
          if (predicate(update)) {
            onUpdate = () => {};
            resolve(update);
          }
        };
      });
    },
  };
}

function textOf(updates, kind) {
  return updates
    .filter((update) => update.sessionUpdate === kind)
    .map((update) => update.content.text)
    .join("");
}

async function initialize(agent) {
  const answer = await agent.request(methods.agent.initialize, {
    protocolVersion: 1,
    clientCapabilities: {},
    clientInfo: { name: "chatd-node-test", version: "1" },
  });
  assert.equal(answer.protocolVersion, 1);
  assert.equal(answer.agentCapabilities.loadSession, true);
  assert.ok(answer.agentCapabilities.sessionCapabilities.list);
  assert.ok(answer.agentCapabilities.sessionCapabilities.resume);
  assert.equal(answer.agentInfo.name, "chatd");
  return answer;
}

const first = startAgent();
await initialize(first.agent);
const created = await first.agent.request(methods.agent.session.new, { cwd, mcpServers: [] });
const sessionId = created.sessionId;
assert.deepEqual(
  created.configOptions.map((option) => option.id),
  ["provider", "model"],
);

const hello = await first.agent.request(methods.agent.session.prompt, {
  sessionId,
  prompt: [{ type: "text", text: "hello" }],
});
assert.equal(hello.stopReason, "end_turn");
const chunks = first.updates.filter((update) => update.sessionUpdate === "agent_message_chunk");
assert.ok(chunks.length > 1, "the reply streams in several chunks");
assert.equal(textOf(first.updates, "agent_message_chunk"), "[1] hello");
assert.ok(first.updates.some((update) => update.sessionUpdate === "usage_update"));
assert.ok(first.updates.some((update) => update.sessionUpdate === "session_info_update" && update.title === "hello"));

const firstChunk = first.waitFor((update) => update.sessionUpdate === "agent_message_chunk");
const slow = first.agent.request(methods.agent.session.prompt, {
  sessionId,
  prompt: [{ type: "text", text: "please take your time" }],
});
await firstChunk;
await first.agent.notify(methods.agent.session.cancel, { sessionId });
assert.equal((await slow).stopReason, "cancelled");

const listed = await first.agent.request(methods.agent.session.list, { cwd });
const entry = listed.sessions.find((session) => session.sessionId === sessionId);
assert.ok(entry, "the conversation is listed under its workspace");
assert.equal(entry.cwd, cwd);
assert.equal(entry.title, "hello");
assert.equal(entry._meta.messageCount, 4);

first.child.kill("SIGKILL");
assert.equal((await first.exited).signal, "SIGKILL");
first.close();

const second = startAgent();
await initialize(second.agent);
const loaded = await second.agent.request(methods.agent.session.load, {
  sessionId,
  cwd,
  mcpServers: [],
});
const replayed = second.updates.map((update) => update.sessionUpdate);
assert.deepEqual(replayed, [
  "user_message_chunk",
  "agent_message_chunk",
  "user_message_chunk",
  "agent_message_chunk",
]);
assert.equal(second.updates[0].content.text, "hello");
assert.equal(second.updates[1].content.text, "[1] hello");
assert.equal(second.updates[2].content.text, "please take your time");
assert.ok(second.updates[3].content.text.startsWith("[2] "), "the cancelled reply's part is kept");
assert.equal(loaded.configOptions[0].currentValue, "echo");

second.updates.length = 0;
const again = await second.agent.request(methods.agent.session.prompt, {
  sessionId,
  prompt: [{ type: "text", text: "again" }],
});
assert.equal(again.stopReason, "end_turn");
assert.equal(textOf(second.updates, "agent_message_chunk"), "[3] again");

second.child.stdin.end();
const ended = await second.exited;
assert.equal(ended.code, 0);
second.close();
console.log(JSON.stringify({ ok: true, sessionId, replayed: replayed.length }));
