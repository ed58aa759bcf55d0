/**
 * GLM-5.1 in VS Code: starts the glm-lsp language server and wires its commands.
 *
 * The server does the work (code actions, streamed edits, inline completion,
 * progress); this shim only starts it with the user's `glm.*` settings and API key,
 * shows its log in the "GLM" output channel and its state in the status bar, and
 * forwards palette / context-menu commands as `{uri, range}` to
 * `workspace/executeCommand`.
 */
import * as readline from "node:readline";
import * as vscode from "vscode";
import {
  CloseAction,
  ErrorAction,
  LanguageClient,
  LanguageClientOptions,
  Middleware,
  State,
} from "vscode-languageclient/node";
import { findServer, install, ServerNotFound } from "./server";
import { ApiKeys, GENERIC_KEY_VARIABLE, KEY_VARIABLES, SECTION, Settings } from "./settings";

/** Commands that run the model: the status bar shows them streaming. */
const WORK = new Set(["glm.fix", "glm.rewrite", "glm.docstring", "glm.tests", "glm.explain"]);
const RESTARTS = { max: 3, windowMs: 180_000 };

/** vscode-languageclient without its own notifications while starting: `Glm.start` reports those. */
class GlmClient extends LanguageClient {
  starting = true;

  override error(message: string, data?: unknown, showNotification: boolean | "force" = true): void {
    super.error(message, data, this.starting ? false : showNotification);
  }
}

type Status = "starting" | "idle" | "streaming" | "error";
type Target = { uri: string; range?: unknown; instruction?: string };

class Glm implements vscode.Disposable {
  readonly log = vscode.window.createOutputChannel("GLM", { log: true });
  private readonly status = vscode.window.createStatusBarItem("glm.status", vscode.StatusBarAlignment.Right, 100);
  private readonly settings: Settings;
  private readonly keys: ApiKeys;
  private client: GlmClient | undefined;
  private problem: Error | undefined;
  private running = 0;
  private ready = false; // the current client got through initialize
  private stderrTail: string[] = [];
  private crashes: number[] = [];
  private restarting: Promise<void> = Promise.resolve();
  private restartTimer: NodeJS.Timeout | undefined;

  constructor(private readonly context: vscode.ExtensionContext) {
    this.settings = new Settings(context.extension.packageJSON);
    this.keys = new ApiKeys(context.secrets);
    this.status.name = "GLM";
    this.status.show();
  }

  // ------------------------------------------------------------------ lifecycle

  async start(): Promise<void> {
    this.problem = undefined;
    this.setStatus("starting");
    let server;
    try {
      server = findServer(this.settings.serverCommand(), this.context.globalStorageUri);
    } catch (error) {
      return this.failed(error as Error);
    }
    const env = { ...process.env, ...(await this.keys.environment(this.settings.provider())) };
    this.log.info(`Starting glm-lsp (${server.source}): ${[server.command, ...server.args].join(" ")}`);
    const client = new GlmClient(
      "glm",
      "GLM",
      { command: server.command, args: server.args, options: { env } },
      this.clientOptions(),
    );
    client.registerProposedFeatures(); // inline completion on vscode-languageclient 9
    this.client = client;
    this.ready = false;
    this.stderrTail = [];
    let started = false;
    try {
      await client.start();
      started = client.state === State.Running && client.initializeResult !== undefined;
    } catch {
      started = false;
    }
    if (!started) {
      this.client = undefined;
      await client.dispose().catch(() => undefined);
      await new Promise((resolve) => setTimeout(resolve, 300)); // its last words on stderr
      const said = this.stderrTail.length ? ` It printed: "${this.stderrTail.slice(-3).join(" / ")}".` : "";
      const line = [server.command, ...server.args].join(" ");
      return this.failed(new Error(`glm-lsp did not start (${line.length > 80 ? line.slice(0, 77) + "..." : line}).${said} The GLM output has its whole log.`));
    }
    this.ready = true;
    client.starting = false;
    const info = client.initializeResult?.serverInfo;
    this.log.info(`glm-lsp ${info?.version ?? ""} is running (provider ${this.settings.provider()}).`);
    this.setStatus("idle");
  }

  private clientOptions(): LanguageClientOptions {
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
    return {
      documentSelector: [{ scheme: "file" }, { scheme: "untitled" }],
      outputChannel: this.log,
      // The server's stderr is its log, levels included: not every line is an error.
      stdioOptions: {
        stdout: (input, log) => void readline.createInterface({ input }).on("line", (line) => log.info(line)),
        stderr: (input, log) =>
          void readline.createInterface({ input }).on("line", (line) => {
            log.info(line);
            this.stderrTail = [...this.stderrTail.slice(-9), line];
          }),
      },
      initializationFailedHandler: () => false, // reported once, by start()
      initializationOptions: this.settings.forServer(folder),
      middleware: this.middleware(),
      errorHandler: {
        error: () => ({ action: ErrorAction.Continue, handled: !this.ready }),
        closed: () => {
          if (!this.ready) {
            return { action: CloseAction.DoNotRestart, handled: true }; // start() reports it
          }
          const now = Date.now();
          this.crashes = [...this.crashes.filter((t) => now - t < RESTARTS.windowMs), now];
          if (this.crashes.length <= RESTARTS.max) {
            this.log.info("glm-lsp exited; restarting it.");
            return { action: CloseAction.Restart, handled: true };
          }
          void this.failed(new Error(`glm-lsp exited ${this.crashes.length} times in 3 minutes and was not restarted. The GLM output shows why; then run "GLM: Restart server".`));
          return { action: CloseAction.DoNotRestart, handled: true };
        },
      },
    };
  }

  private middleware(): Middleware {
    return {
      // Only what the user set: the server's defaults, files and environment still count.
      workspace: {
        configuration: async (params, token, next) => {
          const others = params.items.some((item) => item.section !== SECTION) ? await next(params, token) : [];
          return params.items.map((item, i) =>
            item.section === SECTION
              ? this.settings.forServer(item.scopeUri ? vscode.Uri.parse(item.scopeUri) : undefined)
              : Array.isArray(others) ? others[i] : null,
          );
        },
      },
      executeCommand: async (command, args, next) => {
        const target = args[0] as Target | undefined;
        if (command === "glm.rewrite" && target?.uri && !target.instruction) {
          const instruction = await vscode.window.showInputBox({
            title: "GLM: Rewrite",
            prompt: "How should the code be rewritten?",
            placeHolder: "e.g. use a list comprehension",
            ignoreFocusOut: true,
          });
          if (!instruction?.trim()) {
            return undefined;
          }
          args = [{ ...target, instruction: instruction.trim() }, ...args.slice(1)];
        }
        if (!WORK.has(command)) {
          return next(command, args);
        }
        this.busy(+1);
        try {
          return await next(command, args);
        } finally {
          this.busy(-1);
        }
      },
    };
  }

  /** Restart soon, once for several triggers (a key saved fires two events). */
  scheduleRestart(): void {
    clearTimeout(this.restartTimer);
    this.restartTimer = setTimeout(() => void this.restart(), 150);
  }

  restart(): Promise<void> {
    this.restarting = this.restarting.catch(() => undefined).then(async () => {
      const client = this.client;
      this.client = undefined;
      this.crashes = [];
      this.running = 0; // requests in flight end with the old server
      if (client) {
        this.log.info("Restarting glm-lsp…");
        await client.stop(3000).catch(() => undefined);
        await client.dispose().catch(() => undefined);
      }
      await this.start();
    });
    return this.restarting;
  }

  async dispose(): Promise<void> {
    clearTimeout(this.restartTimer);
    await this.client?.stop(2000).catch(() => undefined);
    this.status.dispose();
    this.log.dispose();
  }

  // ------------------------------------------------------------------ status and errors

  private setStatus(status: Status, detail?: string): void {
    const item = this.status;
    item.backgroundColor = undefined;
    item.command = "glm-lsp.showLog";
    if (status === "starting") {
      item.text = "$(sync~spin) GLM";
      item.tooltip = "GLM: starting glm-lsp…";
    } else if (status === "idle") {
      item.text = "$(sparkle) GLM";
      item.tooltip = "GLM: glm-lsp is running. Click for its log.";
    } else if (status === "streaming") {
      item.text = "$(loading~spin) GLM";
      item.tooltip = "GLM is writing. Click to cancel.";
      item.command = { title: "Cancel", command: "glm-lsp.cancel", arguments: [{ latest: true }] };
    } else {
      item.text = "$(error) GLM";
      item.tooltip = `GLM: ${detail ?? "error"} Click for the log.`;
      item.backgroundColor = new vscode.ThemeColor("statusBarItem.errorBackground");
    }
  }

  private busy(delta: number): void {
    this.running = Math.max(0, this.running + delta);
    if (this.client?.state === State.Running) {
      this.setStatus(this.running > 0 ? "streaming" : "idle");
    }
  }

  private async failed(error: Error): Promise<void> {
    this.problem = error;
    this.log.error(error.message);
    this.setStatus("error", error.message);
    void this.showProblem(); // never wait for the user: a restart must not hang on a notification
  }

  /** The reason the server is not running, as an error notification with what to do. */
  private async showProblem(): Promise<void> {
    if (!this.problem && this.client && !this.ready) {
      void vscode.window.showInformationMessage("GLM: glm-lsp is still starting; try again in a moment.");
      return;
    }
    const problem = this.problem ?? new Error("glm-lsp is not running. The GLM output shows why.");
    const installable = problem instanceof ServerNotFound && problem.installable;
    const actions = installable ? ["Install glm-lsp", "Open Settings", "Show Log"] : ["Open Settings", "Show Log", "Restart"];
    const choice = await vscode.window.showErrorMessage(`GLM: ${problem.message}`, ...actions);
    if (choice === "Install glm-lsp") {
      await this.installServer();
    } else if (choice === "Open Settings") {
      await vscode.commands.executeCommand("workbench.action.openSettings", "glm.server.command");
    } else if (choice === "Show Log") {
      this.log.show(true);
    } else if (choice === "Restart") {
      await this.restart();
    }
  }

  async installServer(): Promise<void> {
    if (await install(this.context.globalStorageUri, this.log)) {
      void vscode.window.showInformationMessage("GLM: glm-lsp installed; starting it.");
      await this.restart();
    }
  }

  // ------------------------------------------------------------------ commands

  /** Forward a palette / context-menu command to the server with the active editor's place. */
  async forward(command: string, withRange: boolean): Promise<unknown> {
    if (this.client?.state !== State.Running) {
      await this.showProblem();
      return undefined;
    }
    const editor = vscode.window.activeTextEditor;
    if (!editor) {
      if (WORK.has(command)) {
        void vscode.window.showWarningMessage("GLM: open a file and select code (or put the cursor in it) first.");
        return undefined;
      }
      return vscode.commands.executeCommand(command);
    }
    const target: Target = { uri: editor.document.uri.toString() };
    if (withRange) {
      target.range = this.client.code2ProtocolConverter.asRange(editor.selection);
    }
    return vscode.commands.executeCommand(command, target);
  }

  async cancel(options?: { latest?: boolean }): Promise<void> {
    if (options?.latest && this.client?.state === State.Running) {
      await vscode.commands.executeCommand("glm.cancel"); // no argument: the latest session anywhere
      return;
    }
    await this.forward("glm.cancel", false);
  }

  async showPrompt(): Promise<void> {
    const result = (await this.forward("glm.showPrompt", false)) as PromptResult | undefined;
    if (result?.messages) {
      await showMarkdown("glm-prompt", promptMarkdown(result));
    }
  }

  async usage(): Promise<void> {
    if (this.client?.state !== State.Running) {
      return this.showProblem();
    }
    const result = (await vscode.commands.executeCommand("glm.usage")) as UsageResult | undefined;
    if (!result) {
      return;
    }
    const line = (label: string, t: Totals) =>
      `${label}: ${t.tokens} tokens in ${t.requests} requests (${t.cached_tokens} cached)${t.cost ? `, $${t.cost.toFixed(4)}` : ""}`;
    const choice = await vscode.window.showInformationMessage(
      `GLM usage. ${line("This session", result.session)}. ${line("Today", result.today)}.`,
      "Details",
    );
    if (choice) {
      await showMarkdown("glm-usage", "# GLM usage\n\n```json\n" + JSON.stringify(result, null, 2) + "\n```\n");
    }
  }

  async setApiKey(): Promise<void> {
    const provider = this.settings.provider();
    const variable = KEY_VARIABLES[provider] ?? GENERIC_KEY_VARIABLE;
    const key = await vscode.window.showInputBox({
      title: `GLM: API key for ${provider}`,
      prompt: `Kept in VS Code's secret storage and given to glm-lsp as ${variable}; never written to settings.`,
      password: true,
      ignoreFocusOut: true,
      validateInput: (value) => (value.trim() ? undefined : "Paste the key, or press Escape to keep the current one."),
    });
    if (!key?.trim()) {
      return;
    }
    await this.keys.set(provider, key.trim());
    this.scheduleRestart();
    void vscode.window.showInformationMessage(`GLM: API key for ${provider} saved in secret storage; glm-lsp restarts with it.`);
  }

  async clearApiKey(): Promise<void> {
    const provider = this.settings.provider();
    await this.keys.delete(provider);
    this.scheduleRestart();
    void vscode.window.showInformationMessage(`GLM: API key for ${provider} removed from secret storage.`);
  }

  onConfigurationChanged(event: vscode.ConfigurationChangeEvent): void {
    if (event.affectsConfiguration("glm.server") || event.affectsConfiguration("glm.provider")) {
      this.scheduleRestart(); // a new command, or a new provider's key in the environment
    } else if (event.affectsConfiguration(SECTION) && this.client?.state === State.Running) {
      void this.client.sendNotification("workspace/didChangeConfiguration", { settings: { glm: this.settings.forServer() } });
    }
  }
}

type Totals = { requests: number; tokens: number; cached_tokens: number; cost: number };
type UsageResult = { session: Totals; today: Totals };
type PromptResult = {
  uri: string;
  snippets: { path: string; line: number; source: string; tokens: number; why: string }[];
  excluded: string[];
  messages: { role: string; content: string }[];
};

function fence(text: string): string {
  const longest = Math.max(2, ...(text.match(/`+/g) ?? []).map((run) => run.length));
  return "`".repeat(longest + 1);
}

function promptMarkdown(result: PromptResult): string {
  const parts = [`# Prompt last sent for ${result.uri}`, ""];
  if (result.snippets.length) {
    parts.push("## Context snippets", "", ...result.snippets.map((s) => `- ${s.path}:${s.line} (${s.source}, ${s.tokens} tokens): ${s.why}`), "");
  }
  if (result.excluded.length) {
    parts.push("## Not sent (excluded)", "", ...result.excluded.map((e) => `- ${e}`), "");
  }
  for (const message of result.messages) {
    const f = fence(message.content);
    parts.push(`## ${message.role}`, "", f + "text", message.content, f, "");
  }
  return parts.join("\n");
}

/**
 * Read-only markdown views (prompt, usage) under their own URI scheme: not files and
 * not untitled buffers, so they are never synced to the server as context.
 */
const VIEW_SCHEME = "glm-lsp";
const views = new Map<string, string>();
let viewCount = 0;

async function showMarkdown(name: string, content: string): Promise<void> {
  const uri = vscode.Uri.from({ scheme: VIEW_SCHEME, path: `/${name}.md`, query: String(++viewCount) });
  views.set(uri.toString(), content);
  const doc = await vscode.workspace.openTextDocument(uri);
  await vscode.window.showTextDocument(doc, { viewColumn: vscode.ViewColumn.Beside, preview: true });
}

let glm: Glm | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const g = (glm = new Glm(context));
  const command = (name: string, fn: (...args: any[]) => unknown) =>
    context.subscriptions.push(vscode.commands.registerCommand(name, fn));
  command("glm-lsp.fix", () => g.forward("glm.fix", true));
  command("glm-lsp.rewrite", () => g.forward("glm.rewrite", true)); // the instruction is asked for in the middleware
  command("glm-lsp.docstring", () => g.forward("glm.docstring", true));
  command("glm-lsp.tests", () => g.forward("glm.tests", true));
  command("glm-lsp.explain", () => g.forward("glm.explain", true));
  command("glm-lsp.revert", () => g.forward("glm.revert", false));
  command("glm-lsp.cancel", (options?: { latest?: boolean }) => g.cancel(options));
  command("glm-lsp.showPrompt", () => g.showPrompt());
  command("glm-lsp.usage", () => g.usage());
  command("glm-lsp.setApiKey", () => g.setApiKey());
  command("glm-lsp.clearApiKey", () => g.clearApiKey());
  command("glm-lsp.installServer", () => g.installServer());
  command("glm-lsp.restart", () => g.restart());
  command("glm-lsp.showLog", () => g.log.show(true));
  context.subscriptions.push(
    vscode.workspace.registerTextDocumentContentProvider(VIEW_SCHEME, {
      provideTextDocumentContent: (uri) => views.get(uri.toString()) ?? "",
    }),
    vscode.workspace.onDidCloseTextDocument((doc) => views.delete(doc.uri.toString())),
    vscode.workspace.onDidChangeConfiguration((event) => g.onConfigurationChanged(event)),
    new ApiKeys(context.secrets).onDidChange(() => g.scheduleRestart()),
  );
  void g.start();
}

export async function deactivate(): Promise<void> {
  await glm?.dispose();
  glm = undefined;
}
