/**
 * The chatd protocol client: spawns the daemon's argv and speaks framed JSON-RPC over its stdio
 * with vscode-jsonrpc. It has no `vscode` import, so node's test runner drives it against the
 * real daemon. When the daemon exits (killed, crashed, stopped), the next request spawns it
 * again; a session id stays valid across that because the daemon restores saved sessions on
 * first use.
 */
import { ChildProcess, spawn } from "node:child_process";
import {
  createMessageConnection,
  MessageConnection,
  ResponseError,
  StreamMessageReader,
  StreamMessageWriter,
} from "vscode-jsonrpc/node";

export interface DaemonOptions {
  /** The daemon's argv, for example `["chatd", "serve", "--stdio"]`. */
  command: readonly string[];
  /** Extra environment for the daemon, over this process's own. */
  env?: Readonly<Record<string, string>>;
  clientName?: string;
  clientVersion?: string;
  /** Receives the daemon's stderr, line by line. */
  log?: (line: string) => void;
}

export interface ProviderInfo {
  name: string;
  kind: string;
  persistent: boolean;
  streaming: boolean;
  available: boolean;
}

export interface InitializeResult {
  serverInfo: { name: string; version: string };
  protocolVersion: number;
  capabilities: { providers: ProviderInfo[]; defaultProvider: string; encryption: boolean };
}

export interface Usage {
  inputTokens: number;
  outputTokens: number;
  cachedTokens: number;
  reasoningTokens: number;
}

export interface NewChatParams {
  provider?: string;
  model?: string;
  systemPrompt?: string;
  title?: string;
  tools?: ToolSpec[];
  /** An absolute path: the scope of the stored "allow always" / "reject always" answers. */
  workspace?: string;
}

export interface ToolSpec {
  name: string;
  description?: string;
  parameters?: object;
  approval?: "auto" | "ask" | "deny";
  timeoutMs?: number;
}

export interface ToolCallParams {
  sessionId: string;
  callId: string;
  name: string;
  arguments: Record<string, unknown>;
}

export interface ToolCallResult {
  content: unknown;
  isError?: boolean;
}

export type ApprovalDecision = "allow_once" | "allow_always" | "reject_once" | "reject_always";

export interface ToolApproveParams extends ToolCallParams {
  options: ApprovalDecision[];
}

/** What a client hosts: its tools, run on `tool/call`, and the user's answer to `tool/approve`. */
export interface ToolHost {
  specs: ToolSpec[];
  call(params: ToolCallParams): Promise<ToolCallResult>;
  approve(params: ToolApproveParams): Promise<ApprovalDecision>;
}

export interface ToolPolicy {
  workspace: string;
  tool: string;
  decision: "allow_always" | "reject_always";
}

export interface NewChatResult {
  sessionId: string;
  provider: string;
  model: string;
}

export interface SendResult {
  sessionId: string;
  text: string;
  stopReason: string;
  usage: Usage;
  revision: number;
  saveError?: { reason: string; message: string };
}

export interface ToolCall {
  id: string;
  name: string;
  arguments: unknown;
}

export interface ToolResult {
  callId: string;
  name: string;
  content: string;
  isError: boolean;
}

export interface HistoryItem {
  role: string;
  text: string;
  toolCalls: ToolCall[];
  toolResults: ToolResult[];
}

export interface RestoreResult {
  sessionId: string;
  provider: string;
  model: string;
  systemPrompt: string;
  title: string;
  messageCount: number;
  history: HistoryItem[];
  historyCursor: string | null;
  warnings: string[];
}

export interface HistoryPage {
  items: HistoryItem[];
  nextCursor: string | null;
}

export interface StoredConversation {
  id: string;
  provider: string;
  model: string;
  title: string;
  createdAt: string;
  updatedAt: string;
  messageCount: number;
  revision: number;
}

export interface StoreProblem {
  file: string;
  reason: string;
  message: string;
}

export interface StoreList {
  items: StoredConversation[];
  nextCursor: string | null;
  problems: StoreProblem[];
}

export type ChatUpdate = { sessionId: string; seq: number } & (
  | { kind: "text" | "thinking"; text: string }
  | { kind: "tool_call"; phase: "start" | "end"; callId: string; name: string; arguments?: unknown }
  | { kind: "tool_result"; callId: string; name: string; content: string; isError: boolean }
  | { kind: "tool_approval"; callId: string; name: string; decision: string }
  | { kind: "status"; state: "running" | "idle" | "cancelled" | "failed"; detail?: string }
);

/** An error answered by the daemon (`reason` is its `data.reason`), or the daemon's exit. */
export class ChatdError extends Error {
  constructor(
    message: string,
    readonly reason: string,
    readonly code?: number,
  ) {
    super(message);
    this.name = "ChatdError";
  }
}

/** How many bytes of the daemon's stderr are kept to explain its exit. */
const STDERR_TAIL_BYTES = 2000;

interface Attachment {
  child: ChildProcess;
  connection: MessageConnection;
  initialized: Promise<InitializeResult>;
  /** Rejects with the daemon's exit, so that requests in flight end with it. */
  closed: Promise<never>;
}

export class ChatdClient {
  private attachment: Attachment | undefined;
  private spawned = 0;
  private toolHost: ToolHost | undefined;
  private readonly updateListeners = new Set<(update: ChatUpdate) => void>();
  private readonly exitListeners = new Set<(reason: string) => void>();
  private disposed = false;

  constructor(private options: DaemonOptions) {}

  /** The running daemon's process id, if one is attached. */
  get pid(): number | undefined {
    return this.attachment?.child.pid;
  }

  /** Counts daemon spawns: tools registered with an earlier daemon must be registered again. */
  get generation(): number {
    return this.spawned;
  }

  /** Answers `tool/call` and `tool/approve` from the next daemon spawned on. */
  hostTools(host: ToolHost): void {
    this.toolHost = host;
  }

  get toolSpecs(): ToolSpec[] {
    return this.toolHost?.specs ?? [];
  }

  onUpdate(listener: (update: ChatUpdate) => void): () => void {
    this.updateListeners.add(listener);
    return () => this.updateListeners.delete(listener);
  }

  /** Called when the attached daemon goes away, with a sentence saying why. */
  onExit(listener: (reason: string) => void): () => void {
    this.exitListeners.add(listener);
    return () => this.exitListeners.delete(listener);
  }

  /** The `initialize` result of the current daemon, spawning it if needed. */
  initialize(): Promise<InitializeResult> {
    return this.attach().initialized;
  }

  newChat(params: NewChatParams = {}): Promise<NewChatResult> {
    return this.request("chat/new", params);
  }

  send(sessionId: string | undefined, message: string): Promise<SendResult> {
    return this.request("chat/send", sessionId ? { sessionId, message } : { message });
  }

  cancel(sessionId: string): Promise<{ cancelled: boolean }> {
    return this.request("chat/cancel", { sessionId });
  }

  restore(snapshotId: string, historyLimit?: number, tools?: ToolSpec[]): Promise<RestoreResult> {
    return this.request("chat/restore", { snapshotId, ...(historyLimit ? { historyLimit } : {}), ...(tools ? { tools } : {}) });
  }

  registerTools(sessionId: string, tools: ToolSpec[]): Promise<unknown> {
    return this.request("tools/register", { sessionId, tools });
  }

  toolPolicies(workspace?: string): Promise<{ policies: ToolPolicy[] }> {
    return this.request("tools/policy/list", workspace === undefined ? {} : { workspace });
  }

  revokeToolPolicy(workspace: string, tool: string): Promise<{ revoked: boolean }> {
    return this.request("tools/policy/revoke", { workspace, tool });
  }

  history(sessionId: string, cursor: string, limit?: number): Promise<HistoryPage> {
    return this.request("chat/history", limit ? { sessionId, cursor, limit } : { sessionId, cursor });
  }

  list(cursor?: string, limit?: number): Promise<StoreList> {
    return this.request("store/list", { ...(cursor ? { cursor } : {}), ...(limit ? { limit } : {}) });
  }

  delete(snapshotId: string): Promise<null> {
    return this.request("store/delete", { snapshotId });
  }

  /** Sends a request after `initialize`, attaching (or re-attaching) to a daemon first. */
  async request<Result>(method: string, params: object): Promise<Result> {
    const attachment = this.attach();
    await attachment.initialized;
    return this.call<Result>(attachment, method, params);
  }

  /** Uses another argv or environment from the next request on, ending the current daemon. */
  reconfigure(options: DaemonOptions): void {
    this.options = options;
    this.detach();
  }

  /** Ends the daemon (stdin closes) and refuses further requests. */
  dispose(): void {
    this.disposed = true;
    this.detach();
  }

  private attach(): Attachment {
    if (this.disposed) {
      throw new ChatdError("the chatd client was disposed", "disposed");
    }
    this.attachment ??= this.spawnDaemon();
    return this.attachment;
  }

  private spawnDaemon(): Attachment {
    const [program, ...args] = this.options.command;
    if (!program) {
      throw new ChatdError("chatd.command is empty: it needs the daemon's argv", "invalid_config");
    }
    const child = spawn(program, args, {
      env: { ...process.env, ...this.options.env },
      stdio: ["pipe", "pipe", "pipe"],
    });
    const connection = createMessageConnection(
      new StreamMessageReader(child.stdout!),
      new StreamMessageWriter(child.stdin!),
    );
    let stderrTail = "";
    child.stderr!.setEncoding("utf8").on("data", (chunk: string) => {
      stderrTail = (stderrTail + chunk).slice(-STDERR_TAIL_BYTES);
      chunk.split("\n").filter(Boolean).forEach((line) => this.options.log?.(line));
    });
    child.stdin!.on("error", () => undefined);
    let markClosed: (error: ChatdError) => void = () => undefined;
    const closed = new Promise<never>((_, reject) => (markClosed = reject));
    closed.catch(() => undefined);
    const attachment: Attachment = { child, connection, initialized: closed, closed };
    let isGone = false;
    const gone = (why: string): void => {
      if (isGone) {
        return;
      }
      isGone = true;
      if (this.attachment === attachment) {
        this.attachment = undefined;
      }
      const detail = stderrTail.trim().split("\n").slice(-3).join(" / ");
      const reason = detail ? `${why}: ${detail}` : why;
      markClosed(new ChatdError(reason, "daemon_exited"));
      connection.dispose();
      this.exitListeners.forEach((listener) => listener(reason));
    };
    child.on("error", (error) => gone(`cannot run ${program}: ${error.message}`));
    child.on("close", (status, signal) =>
      gone(`the chatd daemon exited (${signal ?? `status ${status}`})`),
    );
    connection.onNotification("chat/update", (update: ChatUpdate) =>
      this.updateListeners.forEach((listener) => listener(update)),
    );
    connection.onRequest("tool/call", (params: ToolCallParams) => this.hosted((host) => host.call(params)));
    connection.onRequest("tool/approve", (params: ToolApproveParams) =>
      this.hosted(async (host) => ({ decision: await host.approve(params) })),
    );
    connection.listen();
    this.spawned += 1;
    // Writing before the process exists would hit a destroyed stdin if the spawn fails.
    const spawned = new Promise<void>((resolve) => child.once("spawn", resolve));
    const clientInfo = { name: this.options.clientName ?? "chatd-vscode", version: this.options.clientVersion };
    attachment.initialized = Promise.race([spawned, closed]).then(() =>
      this.call<InitializeResult>(attachment, "initialize", { clientInfo }),
    );
    attachment.initialized.catch(() => undefined);
    return attachment;
  }

  private async call<Result>(attachment: Attachment, method: string, params: object): Promise<Result> {
    try {
      const reply = attachment.connection.sendRequest<Result>(method, params);
      reply.catch(() => undefined); // when the daemon's exit wins the race, this rejects later
      return await Promise.race([reply, attachment.closed]);
    } catch (error) {
      throw asChatdError(error);
    }
  }

  /** Runs a server→client request on the tool host; a failure answers with its message. */
  private async hosted<Result>(work: (host: ToolHost) => Promise<Result>): Promise<Result | ResponseError> {
    if (!this.toolHost) {
      return new ResponseError(-32601, "this client hosts no tools");
    }
    try {
      return await work(this.toolHost);
    } catch (error) {
      return new ResponseError(-32000, error instanceof Error ? error.message : String(error));
    }
  }

  private detach(): void {
    const attachment = this.attachment;
    this.attachment = undefined;
    if (attachment) {
      attachment.connection.dispose();
      attachment.child.stdin?.end();
    }
  }
}

function asChatdError(error: unknown): ChatdError {
  if (error instanceof ChatdError) {
    return error;
  }
  if (error instanceof ResponseError) {
    const data = error.data as { reason?: unknown } | undefined;
    const reason = typeof data?.reason === "string" ? data.reason : "connection_closed";
    return new ChatdError(error.message, reason, error.code);
  }
  return new ChatdError(error instanceof Error ? error.message : String(error), "connection_closed");
}
