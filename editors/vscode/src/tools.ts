/**
 * The tools this editor hosts for the model, and the user's answer when one asks for approval.
 * Paths are relative to the first workspace folder (absolute ones are taken as they are).
 */
import * as path from "node:path";
import * as vscode from "vscode";
import { ApprovalDecision, ToolApproveParams, ToolCallParams, ToolCallResult, ToolHost, ToolSpec } from "./client";

const MAX_FILES = 500;

const SPECS: ToolSpec[] = [
  {
    name: "read_buffer",
    description: "The current text of a file as the editor has it, unsaved changes included.",
    parameters: {
      type: "object",
      properties: { path: { type: "string", description: "relative to the workspace" } },
      required: ["path"],
    },
    approval: "auto",
    timeoutMs: 10_000,
  },
  {
    name: "list_files",
    description: `Files in the workspace matching a glob (at most ${MAX_FILES}).`,
    parameters: {
      type: "object",
      properties: { glob: { type: "string", description: "for example src/**/*.ts; default all files" } },
    },
    approval: "auto",
    timeoutMs: 30_000,
  },
  {
    name: "open_file",
    description: "Opens a file in the editor at a line, to show it to the user.",
    parameters: {
      type: "object",
      properties: { path: { type: "string" }, line: { type: "integer", minimum: 1 } },
      required: ["path"],
    },
    approval: "ask",
    timeoutMs: 30_000,
  },
];

const DECISIONS: Record<string, ApprovalDecision> = {
  "Allow once": "allow_once",
  "Allow always": "allow_always",
  "Reject once": "reject_once",
  "Reject always": "reject_always",
};

export function workspaceRoot(): string | undefined {
  return vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
}

export const editorTools: ToolHost = {
  specs: SPECS,
  async call(params: ToolCallParams): Promise<ToolCallResult> {
    const args = params.arguments;
    switch (params.name) {
      case "read_buffer":
        return { content: (await vscode.workspace.openTextDocument(resolve(String(args.path)))).getText() };
      case "list_files":
        return { content: await listFiles(typeof args.glob === "string" ? args.glob : "**/*") };
      case "open_file":
        return { content: await openFile(String(args.path), typeof args.line === "number" ? args.line : 1) };
      default:
        throw new Error(`this editor hosts no tool named ${params.name}`);
    }
  },
  async approve(params: ToolApproveParams): Promise<ApprovalDecision> {
    const choices = Object.keys(DECISIONS).filter((label) => params.options.includes(DECISIONS[label]!));
    const picked = await vscode.window.showWarningMessage(
      `chatd: the model wants to run ${params.name}(${JSON.stringify(params.arguments)})`,
      ...choices,
    );
    return picked ? DECISIONS[picked]! : "reject_once";
  },
};

function resolve(file: string): vscode.Uri {
  const root = workspaceRoot();
  return vscode.Uri.file(path.isAbsolute(file) || !root ? file : path.join(root, file));
}

async function listFiles(glob: string): Promise<string> {
  const root = workspaceRoot();
  const found = await vscode.workspace.findFiles(glob, undefined, MAX_FILES);
  const names = found.map((uri) => (root ? path.relative(root, uri.fsPath) : uri.fsPath)).sort();
  return names.join("\n");
}

async function openFile(file: string, line: number): Promise<string> {
  const document = await vscode.workspace.openTextDocument(resolve(file));
  const position = new vscode.Position(Math.min(line, document.lineCount) - 1, 0);
  await vscode.window.showTextDocument(document, { selection: new vscode.Range(position, position) });
  return `opened ${file} at line ${position.line + 1}`;
}
