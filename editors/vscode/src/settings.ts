/**
 * Settings: what the user set under `glm.*`, in the shape the server reads, and the API key.
 *
 * The server settings are the `glm.*` properties contributed in package.json (kept
 * equal to the server's settings model by tests/editors/vscode/test_package_json.py).
 * Only values the user set are sent (`inspect()`, never the contributed defaults), so
 * the server's own sources (config files, `GLM_LSP_*`) still count. The API key
 * lives in SecretStorage and reaches the server through its environment only.
 */
import * as vscode from "vscode";

export const SECTION = "glm";
/** Settings of this extension, never sent to the server. */
const OWN_PREFIXES = ["server.", "trace."];

/** The server's key variables by provider (glm_lsp/settings.py API_KEY_VARIABLES). */
export const KEY_VARIABLES: Record<string, string> = {
  zai: "ZAI_API_KEY",
  bigmodel: "BIGMODEL_API_KEY",
  oxen: "OXEN_API_KEY",
  runware: "RUNWARE_API_KEY",
  openai: "OPENAI_API_KEY",
};
export const GENERIC_KEY_VARIABLE = "GLM_API_KEY";
const SECRET_PREFIX = "glm.apiKey.";

type PackageJson = {
  contributes: { configuration: { properties: Record<string, unknown> } };
  capabilities?: { untrustedWorkspaces?: { restrictedConfigurations?: string[] } };
};

export class Settings {
  /** Server keys relative to `glm`, e.g. "baseUrl", "completion.debounceMs". */
  readonly serverKeys: string[];
  private readonly restricted: Set<string>;

  constructor(packageJson: PackageJson) {
    this.serverKeys = Object.keys(packageJson.contributes.configuration.properties)
      .filter((key) => key.startsWith(SECTION + "."))
      .map((key) => key.slice(SECTION.length + 1))
      .filter((key) => !OWN_PREFIXES.some((prefix) => key.startsWith(prefix)));
    const restricted = packageJson.capabilities?.untrustedWorkspaces?.restrictedConfigurations ?? [];
    this.restricted = new Set(restricted.map((key) => key.slice(SECTION.length + 1)));
  }

  /** The value the user set for `glm.<key>`, or undefined: defaults never count. */
  userValue<T>(key: string, scope?: vscode.Uri): T | undefined {
    const found = vscode.workspace.getConfiguration(SECTION, scope).inspect<T>(key);
    if (!found) {
      return undefined;
    }
    // In an untrusted workspace, its own settings cannot redirect the server or the key.
    const workspaceCounts = vscode.workspace.isTrusted || !this.restricted.has(key);
    return (workspaceCounts ? found.workspaceFolderValue ?? found.workspaceValue : undefined) ?? found.globalValue;
  }

  /** `{baseUrl: …, completion: {debounceMs: …}}`: initializationOptions and workspace/configuration. */
  forServer(scope?: vscode.Uri): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const key of this.serverKeys) {
      const value = this.userValue(key, scope);
      if (value === undefined) {
        continue;
      }
      const parts = key.split(".");
      let node = out;
      for (const part of parts.slice(0, -1)) {
        node = (node[part] ??= {}) as Record<string, unknown>;
      }
      node[parts[parts.length - 1]] = value;
    }
    return out;
  }

  /** `glm.server.command`, or [] when unset. */
  serverCommand(): string[] {
    const command = this.userValue<unknown>("server.command");
    return Array.isArray(command) ? command.filter((part): part is string => typeof part === "string") : [];
  }

  /** The provider the server will use as far as VS Code knows (settings files may differ). */
  provider(): string {
    return this.userValue<string>("provider") ?? "zai";
  }
}

/** The API keys kept in SecretStorage, one per provider. */
export class ApiKeys {
  constructor(private readonly secrets: vscode.SecretStorage) {}

  get(provider: string): Thenable<string | undefined> {
    return this.secrets.get(SECRET_PREFIX + provider);
  }

  set(provider: string, key: string): Thenable<void> {
    return this.secrets.store(SECRET_PREFIX + provider, key);
  }

  delete(provider: string): Thenable<void> {
    return this.secrets.delete(SECRET_PREFIX + provider);
  }

  onDidChange(listener: () => void): vscode.Disposable {
    return this.secrets.onDidChange((event) => event.key.startsWith(SECRET_PREFIX) && listener());
  }

  /**
   * The server's environment: each stored key in its provider's variable, and the
   * current provider's key also as GLM_API_KEY. A stored key wins over the same
   * variable inherited from VS Code's own environment.
   */
  async environment(currentProvider: string): Promise<Record<string, string>> {
    const env: Record<string, string> = {};
    for (const [provider, variable] of Object.entries(KEY_VARIABLES)) {
      const key = await this.get(provider);
      if (key) {
        env[variable] = key;
        if (provider === currentProvider) {
          env[GENERIC_KEY_VARIABLE] = key;
        }
      }
    }
    return env;
  }
}
