// The extension in a real VS Code: installs the .vsix into code-server, drives it with
// playwright-core in Debian's chromium, against the real daemon (echo provider).
// Run by tests/editors/test_vscode.py; all paths come from the environment:
//   VSCODE_TOOLS   folder with node24/, code-server/ and playwright/ (from .ci/setup.d/40-vscode.sh)
//   CHATD_VSIX     the packaged extension
//   CHATD_PYTHON   the python whose `-m chatd` runs the daemon
//   ARTIFACTS      where the screenshot and logs go
"use strict";
const assert = require("node:assert/strict");
const { spawn, execFileSync } = require("node:child_process");
const fs = require("node:fs");
const net = require("node:net");
const path = require("node:path");

const tools = process.env.VSCODE_TOOLS;
const artifacts = process.env.ARTIFACTS;
const { chromium } = require(path.join(tools, "playwright", "node_modules", "playwright-core"));
const codeServerBin = path.join(tools, "code-server", "node_modules", ".bin", "code-server");
const node24Path = `${path.join(tools, "node24", "node_modules", ".bin")}${path.delimiter}${process.env.PATH}`;
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];
const WAIT = { timeout: 60_000 };

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
    server.on("error", reject);
  });
}

function mkdir(...parts) {
  const dir = path.join(...parts);
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

/** Isolated VS Code settings: a private daemon whose pids land in a file, so the test can kill it. */
function writeSettings(userData, root) {
  const pids = path.join(root, "daemon.pids");
  const config = path.join(root, "config.toml");
  fs.writeFileSync(config, "");
  const settings = {
    "chatd.command": ["sh", "-c", `echo $$ >> '${pids}'; exec '${process.env.CHATD_PYTHON}' -m chatd serve --stdio`],
    "chatd.env": {
      CHATD_CONFIG: config,
      CHATD_STORE_DIR: path.join(root, "store"),
      CHATD_SOCKET: path.join(root, "chatd.sock"),
      CHATD_ECHO_DELAY_MS: "150",
    },
    "workbench.startupEditor": "none",
    "workbench.secondarySideBar.defaultVisibility": "hidden",
    "workbench.tips.enabled": false,
    "workbench.welcomePage.walkthroughs.openOnInstall": false,
    "security.workspace.trust.enabled": false,
    "telemetry.telemetryLevel": "off",
    "extensions.autoCheckUpdates": false,
    "extensions.autoUpdate": false,
    "update.mode": "none",
    "chat.disableAIFeatures": true,
  };
  fs.writeFileSync(path.join(mkdir(userData, "User"), "settings.json"), JSON.stringify(settings, null, 2));
  return pids;
}

function daemonPids(pidFile) {
  return fs.existsSync(pidFile) ? fs.readFileSync(pidFile, "utf8").split("\n").filter(Boolean).map(Number) : [];
}

async function waitForHttp(url, child) {
  for (;;) {
    if (child.exitCode !== null) {
      throw new Error(`code-server exited with status ${child.exitCode}`);
    }
    try {
      if ((await fetch(url)).ok) {
        return;
      }
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

async function runCommand(page, title) {
  await page.keyboard.press("F1");
  const input = page.locator(".quick-input-widget input");
  await input.waitFor(WAIT);
  await input.fill(`>${title}`);
  await page.locator(".quick-input-list .monaco-list-row", { hasText: title }).first().waitFor(WAIT);
  await input.press("Enter");
}

async function pickQuickItem(page, label) {
  const row = page.locator(".quick-input-list .monaco-list-row", { hasText: label }).first();
  await row.waitFor(WAIT);
  await row.click();
}

/** The chat view's page, inside the webview's nested iframes. */
async function chatFrame(page) {
  for (;;) {
    for (const frame of page.frames()) {
      if (await frame.locator("#chatd-log").count().catch(() => 0)) {
        return frame;
      }
    }
    await page.waitForTimeout(250);
  }
}

async function sendFromView(frame, text) {
  await frame.locator("#chatd-input").fill(text);
  await frame.locator("#chatd-send").click();
}

async function main() {
  const root = fs.mkdtempSync(path.join(fs.realpathSync(require("node:os").tmpdir()), "chatd-code-server-"));
  const userData = mkdir(root, "user-data");
  const extensions = mkdir(root, "extensions");
  const workspace = mkdir(root, "workspace");
  const pidFile = writeSettings(userData, root);
  const codeServerArgs = ["--user-data-dir", userData, "--extensions-dir", extensions];
  const codeServerEnv = { ...process.env, PATH: node24Path, HOME: root, XDG_CONFIG_HOME: path.join(root, "config") };
  execFileSync(codeServerBin, [...codeServerArgs, "--install-extension", process.env.CHATD_VSIX], {
    env: codeServerEnv,
    stdio: ["ignore", "inherit", "inherit"],
  });

  const port = await freePort();
  const log = fs.openSync(path.join(artifacts, "code-server.log"), "w");
  const codeServer = spawn(
    codeServerBin,
    [
      ...codeServerArgs,
      "--auth",
      "none",
      "--disable-telemetry",
      "--disable-update-check",
      "--disable-workspace-trust",
      "--bind-addr",
      `127.0.0.1:${port}`,
      "--config",
      path.join(root, "code-server.yaml"),
      workspace,
    ],
    { env: codeServerEnv, stdio: ["ignore", log, log], detached: true },
  );
  let browser;
  try {
    await waitForHttp(`http://127.0.0.1:${port}/healthz`, codeServer);
    browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: CHROMIUM_ARGS });
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(`http://127.0.0.1:${port}/?folder=${encodeURIComponent(workspace)}`);
    await page.locator(".monaco-workbench").waitFor(WAIT);
    await page.locator(".activitybar .action-item a[aria-label='chatd']").waitFor(WAIT);

    await runCommand(page, "chatd: New Chat");
    await pickQuickItem(page, "echo");
    await page.locator(".quick-input-widget input").press("Enter"); // the provider's own model
    const frame = await chatFrame(page);
    await frame.locator("#chatd-meta", { hasText: "echo · echo-1" }).waitFor(WAIT);

    await sendFromView(frame, "hello from VS Code");
    // Part of the reply is shown while the turn still runs: it streams.
    const streaming = () => {
      const reply = document.querySelector("#chatd-log .assistant");
      const running = document.querySelector("#chatd-meta").textContent.includes("running");
      return running && reply !== null && reply.textContent !== "chatd";
    };
    await frame.waitForFunction(streaming, undefined, WAIT);
    await frame.locator("#chatd-log .assistant", { hasText: "[1] hello from VS Code" }).waitFor(WAIT);
    const [firstDaemon] = daemonPids(pidFile);
    assert.ok(firstDaemon, "the extension started the daemon");

    process.kill(firstDaemon, "SIGKILL");
    await runCommand(page, "chatd: Resume Conversation");
    await pickQuickItem(page, "hello from VS Code");
    const resumed = await chatFrame(page);
    await resumed.locator("#chatd-log .assistant", { hasText: "[1] hello from VS Code" }).waitFor(WAIT);
    assert.equal(daemonPids(pidFile).length, 2, "the resume started a new daemon");

    await sendFromView(resumed, "after the restart");
    await resumed.locator("#chatd-log .assistant", { hasText: "[2] after the restart" }).waitFor(WAIT);
    await resumed.locator("#chatd-meta", { hasText: "tokens in" }).waitFor(WAIT);
    await page.locator(".part.sidebar").screenshot({ path: path.join(artifacts, "vscode.png") });

    // A new window (a new extension host) shows the same conversation: its id is in workspaceState.
    await page.reload();
    const chatdIcon = page.locator(".activitybar .action-item a[aria-label='chatd']");
    await chatdIcon.waitFor(WAIT);
    if (!(await page.locator(".activitybar .action-item.checked a[aria-label='chatd']").count())) {
      await chatdIcon.click();
    }
    const reopened = await chatFrame(page);
    await reopened.locator("#chatd-log .assistant", { hasText: "[2] after the restart" }).waitFor(WAIT);
    assert.equal(daemonPids(pidFile).length, 3, "the new window's extension host started its own daemon");
    await page.screenshot({ path: path.join(artifacts, "workbench.png") });
  } catch (error) {
    if (browser) {
      const [page] = browser.contexts()[0]?.pages() ?? [];
      await page?.screenshot({ path: path.join(artifacts, "failure.png") }).catch(() => undefined);
    }
    throw error;
  } finally {
    await browser?.close();
    try {
      process.kill(-codeServer.pid, "SIGTERM");
    } catch {
      // already gone
    }
    await new Promise((resolve) => (codeServer.exitCode !== null ? resolve() : codeServer.once("exit", resolve)));
    for (const pid of daemonPids(pidFile)) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
    fs.rmSync(root, { recursive: true, force: true });
  }
}

main().then(
  () => console.log("code-server: chat view, send, resume after a daemon restart: ok"),
  (error) => {
    console.error(error);
    process.exitCode = 1;
  },
);
