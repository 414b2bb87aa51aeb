/**
 * The VS Code side: settings, commands, the chat view, and the session id kept in the
 * workspace state so that a conversation continues after the editor restarts.
 */
import * as vscode from "vscode";
import { Chat } from "./chat";
import { ChatdClient, DaemonOptions, StoredConversation } from "./client";
import { editorTools, workspaceRoot } from "./tools";
import { ChatViewProvider, ViewMessage } from "./view";

const SESSION_KEY = "chatd.sessionId";

export function activate(context: vscode.ExtensionContext): void {
  const output = vscode.window.createOutputChannel("chatd");
  const client = new ChatdClient(daemonOptions(output, context));
  client.hostTools(editorTools);
  const chat = new Chat(client, workspaceRoot());
  const view = new ChatViewProvider((message) => void handle(onViewMessage(chat, message)));
  chat.onChange((state) => {
    view.show(state);
    void context.workspaceState.update(SESSION_KEY, state.sessionId);
  });
  client.onExit((reason) => output.appendLine(`${reason}; the next command starts it again`));

  const commands: Record<string, () => Promise<unknown>> = {
    "chatd.newChat": () => newChat(client, chat, view),
    "chatd.send": () => sendPrompt(chat, view),
    "chatd.sendSelection": () => sendSelection(chat, view),
    "chatd.resume": () => resume(client, chat, view),
    "chatd.delete": () => deleteConversation(client, chat),
    "chatd.cancel": () => chat.cancel(),
    "chatd.toolApprovals": () => toolApprovals(client),
  };
  context.subscriptions.push(
    output,
    { dispose: () => client.dispose() },
    vscode.window.registerWebviewViewProvider(ChatViewProvider.viewId, view, {
      webviewOptions: { retainContextWhenHidden: true },
    }),
    ...Object.entries(commands).map(([name, run]) => vscode.commands.registerCommand(name, () => handle(run()))),
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (event.affectsConfiguration("chatd")) {
        client.reconfigure(daemonOptions(output, context));
      }
    }),
  );

  const saved = context.workspaceState.get<string>(SESSION_KEY);
  if (saved) {
    chat.resume(saved).catch((error: unknown) => {
      output.appendLine(`cannot resume ${saved}: ${String(error)}`);
      chat.clear();
    });
  }
}

export function deactivate(): void {}

function daemonOptions(output: vscode.OutputChannel, context: vscode.ExtensionContext): DaemonOptions {
  const settings = vscode.workspace.getConfiguration("chatd");
  return {
    command: settings.get<string[]>("command", ["chatd", "serve", "--stdio", "--shared"]),
    env: settings.get<Record<string, string>>("env", {}),
    clientName: "vscode",
    clientVersion: String(context.extension.packageJSON.version),
    log: (line) => output.appendLine(line),
  };
}

async function handle(work: Promise<unknown>): Promise<void> {
  try {
    await work;
  } catch (error) {
    void vscode.window.showErrorMessage(`chatd: ${error instanceof Error ? error.message : String(error)}`);
  }
}

async function onViewMessage(chat: Chat, message: ViewMessage): Promise<unknown> {
  switch (message.type) {
    case "send":
      return chat.send(message.text);
    case "cancel":
      return chat.cancel();
    case "older":
      return chat.loadOlder();
  }
}

async function newChat(client: ChatdClient, chat: Chat, view: ChatViewProvider): Promise<void> {
  const { capabilities } = await client.initialize();
  const providers = capabilities.providers
    .filter((provider) => provider.available)
    .sort((a, b) => Number(b.name === capabilities.defaultProvider) - Number(a.name === capabilities.defaultProvider));
  const picked = await vscode.window.showQuickPick(
    providers.map((provider) => ({
      label: provider.name,
      description: provider.name === capabilities.defaultProvider ? "default" : provider.kind,
    })),
    { title: "chatd: provider for the new chat" },
  );
  if (!picked) {
    return;
  }
  const model = await vscode.window.showInputBox({
    title: `chatd: model for ${picked.label}`,
    prompt: "Empty for the provider's configured model",
  });
  if (model === undefined) {
    return;
  }
  await chat.start(picked.label, model.trim() || undefined);
  await view.reveal();
}

async function sendPrompt(chat: Chat, view: ChatViewProvider): Promise<void> {
  const message = await vscode.window.showInputBox({ title: "chatd: message", prompt: "Sent to the current chat" });
  if (message) {
    await view.reveal();
    await chat.send(message);
  }
}

async function sendSelection(chat: Chat, view: ChatViewProvider): Promise<void> {
  const editor = vscode.window.activeTextEditor;
  const text = editor?.document.getText(editor.selection);
  if (!text) {
    void vscode.window.showInformationMessage("chatd: select some text first");
    return;
  }
  await view.reveal();
  await chat.send(text);
}

async function pickConversation(client: ChatdClient, title: string): Promise<StoredConversation | undefined> {
  const listing = await client.list();
  for (const problem of listing.problems) {
    void vscode.window.showWarningMessage(`chatd: ${problem.file}: ${problem.message}`);
  }
  const picked = await vscode.window.showQuickPick(
    listing.items.map((item) => ({
      label: item.title || "(untitled)",
      description: `${item.provider} · ${item.model}`,
      detail: `${new Date(item.updatedAt).toLocaleString()} · ${item.messageCount} messages`,
      item,
    })),
    { title, matchOnDescription: true },
  );
  return picked?.item;
}

async function resume(client: ChatdClient, chat: Chat, view: ChatViewProvider): Promise<void> {
  const picked = await pickConversation(client, "chatd: resume a conversation");
  if (picked) {
    await view.reveal();
    await chat.resume(picked.id);
  }
}

async function deleteConversation(client: ChatdClient, chat: Chat): Promise<void> {
  const picked = await pickConversation(client, "chatd: delete a conversation");
  if (!picked) {
    return;
  }
  const answer = await vscode.window.showWarningMessage(
    `Delete the conversation "${picked.title || picked.id}"?`,
    { modal: true },
    "Delete",
  );
  if (answer === "Delete") {
    await client.delete(picked.id);
    if (chat.state.sessionId === picked.id) {
      chat.clear();
    }
  }
}

/** The stored "allow always" / "reject always" answers of this workspace; picking one revokes it. */
async function toolApprovals(client: ChatdClient): Promise<void> {
  const workspace = workspaceRoot() ?? "";
  const { policies } = await client.toolPolicies(workspace);
  if (!policies.length) {
    void vscode.window.showInformationMessage("chatd: no stored tool approvals for this workspace");
    return;
  }
  const picked = await vscode.window.showQuickPick(
    policies.map((policy) => ({ label: policy.tool, description: policy.decision.replace("_", " "), policy })),
    { title: "chatd: stored tool approvals (pick one to ask again from its next call)" },
  );
  if (picked) {
    await client.revokeToolPolicy(picked.policy.workspace, picked.policy.tool);
  }
}
