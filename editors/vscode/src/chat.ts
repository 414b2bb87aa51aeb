/**
 * One chat view's conversation: its session id, what the view shows, and the turn in flight.
 * No `vscode` import: the extension renders `entries` and persists `sessionId`.
 */
import { ChatdClient, ChatdError, ChatUpdate, HistoryItem, SendResult, Usage } from "./client";

export type EntryKind = "user" | "assistant" | "thinking" | "tool_call" | "tool_result" | "notice" | "error";

export interface Entry {
  kind: EntryKind;
  text: string;
  /** Tool name, for tool calls and results. */
  name?: string;
}

export interface ChatState {
  sessionId: string | undefined;
  provider: string;
  model: string;
  title: string;
  usage: Usage;
  running: boolean;
  olderCursor: string | null;
  entries: Entry[];
}

const NO_USAGE: Usage = { inputTokens: 0, outputTokens: 0, cachedTokens: 0, reasoningTokens: 0 };

/** How many history items a resume shows before "older" is asked for. */
export const HISTORY_PAGE = 50;

export class Chat {
  state: ChatState = emptyState(undefined);
  private readonly listeners = new Set<(state: ChatState) => void>();
  /** The daemon spawn that knows this session's client tools (see `ChatdClient.generation`). */
  private toolsBoundIn = -1;

  /** `workspace` scopes the stored tool approvals (an absolute path). */
  constructor(
    private readonly client: ChatdClient,
    private readonly workspace?: string,
  ) {
    client.onUpdate((update) => this.applyUpdate(update));
  }

  onChange(listener: (state: ChatState) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Starts a new conversation (the daemon's defaults unless a provider/model is given). */
  async start(provider?: string, model?: string): Promise<void> {
    const tools = this.client.toolSpecs;
    const created = await this.client.newChat({
      ...(provider ? { provider } : {}),
      ...(model ? { model } : {}),
      ...(tools.length ? { tools } : {}),
      ...(this.workspace ? { workspace: this.workspace } : {}),
    });
    this.toolsBoundIn = this.client.generation;
    this.state = { ...emptyState(created.sessionId), provider: created.provider, model: created.model };
    this.changed();
  }

  /** Shows a saved (or live) conversation: its newest history page, older pages on demand. */
  async resume(sessionId: string): Promise<void> {
    const tools = this.client.toolSpecs;
    const restored = await this.client.restore(sessionId, HISTORY_PAGE, tools.length ? tools : undefined);
    this.toolsBoundIn = this.client.generation;
    this.state = {
      ...emptyState(restored.sessionId),
      provider: restored.provider,
      model: restored.model,
      title: restored.title,
      olderCursor: restored.historyCursor,
      entries: [
        ...restored.warnings.map((text): Entry => ({ kind: "notice", text })),
        ...restored.history.flatMap(historyEntries),
      ],
    };
    this.changed();
  }

  async loadOlder(): Promise<void> {
    const { sessionId, olderCursor } = this.state;
    if (!sessionId || olderCursor === null) {
      return;
    }
    const page = await this.client.history(sessionId, olderCursor, HISTORY_PAGE);
    this.state.entries = [...page.items.flatMap(historyEntries), ...this.state.entries];
    this.state.olderCursor = page.nextCursor;
    this.changed();
  }

  /** Sends a message; the reply streams into `entries` as `chat/update`s arrive. */
  async send(message: string): Promise<SendResult> {
    if (!this.state.sessionId) {
      await this.start();
    }
    this.state.entries.push({ kind: "user", text: message });
    this.state.running = true;
    this.changed();
    try {
      await this.bindTools();
      const result = await this.client.send(this.state.sessionId, message);
      this.addUsage(result.usage);
      if (result.stopReason !== "end_turn") {
        this.state.entries.push({ kind: "notice", text: `stopped: ${result.stopReason}` });
      }
      if (result.saveError) {
        this.state.entries.push({ kind: "error", text: `not saved: ${result.saveError.message}` });
      }
      return result;
    } catch (error) {
      this.state.entries.push({ kind: "error", text: error instanceof Error ? error.message : String(error) });
      throw error;
    } finally {
      this.state.running = false;
      this.changed();
    }
  }

  async cancel(): Promise<boolean> {
    return this.state.sessionId ? (await this.client.cancel(this.state.sessionId)).cancelled : false;
  }

  /** Forgets the conversation shown (after it was deleted). */
  clear(): void {
    this.state = emptyState(undefined);
    this.changed();
  }

  /** After a daemon restart the session's client tools are unbound until registered again. */
  private async bindTools(): Promise<void> {
    const tools = this.client.toolSpecs;
    const sessionId = this.state.sessionId;
    if (!sessionId || !tools.length) {
      return;
    }
    await this.client.initialize(); // spawns the daemon again if it died
    const generation = this.client.generation;
    if (this.toolsBoundIn === generation) {
      return;
    }
    try {
      await this.client.registerTools(sessionId, tools);
    } catch (error) {
      if (!(error instanceof ChatdError && error.reason === "method_not_found")) {
        throw error;
      }
    }
    this.toolsBoundIn = generation;
  }

  private applyUpdate(update: ChatUpdate): void {
    if (update.sessionId !== this.state.sessionId) {
      return;
    }
    const entries = this.state.entries;
    const last = entries[entries.length - 1];
    switch (update.kind) {
      case "text":
      case "thinking": {
        const kind = update.kind === "text" ? "assistant" : "thinking";
        if (last?.kind === kind) {
          last.text += update.text;
        } else {
          entries.push({ kind, text: update.text });
        }
        break;
      }
      case "tool_call":
        if (update.phase === "end") {
          entries.push({ kind: "tool_call", name: update.name, text: JSON.stringify(update.arguments ?? {}) });
        }
        break;
      case "tool_result":
        entries.push({ kind: "tool_result", name: update.name, text: update.content });
        break;
      case "tool_approval":
        entries.push({ kind: "notice", text: `${update.name}: ${update.decision.replace("_", " ")}` });
        break;
      case "status":
        if (update.state === "failed") {
          entries.push({ kind: "error", text: `turn failed: ${update.detail ?? "unknown reason"}` });
        }
        break;
    }
    this.changed();
  }

  private addUsage(usage: Usage): void {
    const total = this.state.usage;
    this.state.usage = {
      inputTokens: total.inputTokens + usage.inputTokens,
      outputTokens: total.outputTokens + usage.outputTokens,
      cachedTokens: total.cachedTokens + usage.cachedTokens,
      reasoningTokens: total.reasoningTokens + usage.reasoningTokens,
    };
  }

  private changed(): void {
    this.listeners.forEach((listener) => listener(this.state));
  }
}

function emptyState(sessionId: string | undefined): ChatState {
  return {
    sessionId,
    provider: "",
    model: "",
    title: "",
    usage: { ...NO_USAGE },
    running: false,
    olderCursor: null,
    entries: [],
  };
}

function historyEntries(item: HistoryItem): Entry[] {
  const entries: Entry[] = [];
  if (item.text) {
    entries.push({ kind: item.role === "user" ? "user" : "assistant", text: item.text });
  }
  for (const call of item.toolCalls) {
    entries.push({ kind: "tool_call", name: call.name, text: JSON.stringify(call.arguments) });
  }
  for (const result of item.toolResults) {
    entries.push({ kind: "tool_result", name: result.name, text: result.content });
  }
  return entries;
}
