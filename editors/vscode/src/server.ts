/**
 * Finding the glm-lsp server, and installing it when it is nowhere.
 *
 * Order: `glm.server.command` → `glm-lsp` on PATH → the copy installed into this
 * extension's global storage by "GLM: Install glm-lsp" (`python -m venv` + `pip
 * install glm-lsp`, with a Python 3.11+ found on the machine).
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import * as vscode from "vscode";

export type ServerCommand = { command: string; args: string[]; source: string };

/** Why the server cannot start, in words for the user, and whether installing would help. */
export class ServerNotFound extends Error {
  constructor(message: string, readonly installable: boolean) {
    super(message);
  }
}

const WINDOWS = process.platform === "win32";
const MIN_PYTHON: [number, number] = [3, 11];

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/** `name` on PATH (with PATHEXT on Windows), or undefined. */
export function which(name: string): string | undefined {
  const extensions = WINDOWS ? (process.env.PATHEXT ?? ".EXE;.CMD;.BAT").split(";") : [""];
  for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
    for (const extension of extensions) {
      const candidate = path.join(dir, name + extension);
      if (dir && isExecutable(candidate)) {
        return candidate;
      }
    }
  }
  return undefined;
}

function venvDir(storage: vscode.Uri): string {
  return path.join(storage.fsPath, "venv");
}

function venvBin(storage: vscode.Uri, name: string): string {
  return WINDOWS ? path.join(venvDir(storage), "Scripts", name + ".exe") : path.join(venvDir(storage), "bin", name);
}

/** The command to start, or a `ServerNotFound` saying what is missing. */
export function findServer(configured: string[], storage: vscode.Uri): ServerCommand {
  if (configured.length > 0) {
    const [program, ...args] = configured;
    const hasDir = program.includes("/") || program.includes("\\");
    const found = hasDir ? (isExecutable(program) ? program : undefined) : which(program);
    if (!found) {
      throw new ServerNotFound(
        `glm.server.command starts "${program}", which ${hasDir ? "does not exist or is not executable" : "is not on PATH"}. ` +
          "Fix the setting, or clear it to use glm-lsp from PATH.",
        false,
      );
    }
    return { command: found, args, source: "glm.server.command" };
  }
  const onPath = which("glm-lsp");
  if (onPath) {
    return { command: onPath, args: ["serve"], source: "PATH" };
  }
  const installed = venvBin(storage, "glm-lsp");
  if (isExecutable(installed)) {
    return { command: installed, args: ["serve"], source: "installed by this extension" };
  }
  throw new ServerNotFound(
    "The glm-lsp server is not installed: it is not on PATH and glm.server.command is not set. " +
      "Install it now (into VS Code's storage, with pip), or run `pip install glm-lsp` yourself.",
    true,
  );
}

/** Run a program, its output going to the log; resolves with the exit code. */
function run(program: string, args: string[], log: vscode.OutputChannel): Promise<number> {
  log.appendLine(`$ ${program} ${args.join(" ")}`);
  return new Promise((resolve) => {
    const child = spawn(program, args, { stdio: ["ignore", "pipe", "pipe"] });
    child.stdout.on("data", (data: Buffer) => log.append(data.toString()));
    child.stderr.on("data", (data: Buffer) => log.append(data.toString()));
    child.on("error", (error) => {
      log.appendLine(String(error));
      resolve(-1);
    });
    child.on("close", (code) => resolve(code ?? -1));
  });
}

function pythonVersion(program: string, prefix: string[]): Promise<[number, number] | undefined> {
  return new Promise((resolve) => {
    const child = spawn(program, [...prefix, "-c", "import sys; print(*sys.version_info[:2])"], { stdio: ["ignore", "pipe", "ignore"] });
    let out = "";
    child.stdout.on("data", (data: Buffer) => (out += data.toString()));
    child.on("error", () => resolve(undefined));
    child.on("close", (code) => {
      const [major, minor] = out.trim().split(" ").map(Number);
      resolve(code === 0 && major ? [major, minor] : undefined);
    });
  });
}

/** A Python 3.11+ on this machine: [program, ...prefix args], or undefined. */
export async function findPython(): Promise<string[] | undefined> {
  const candidates = WINDOWS ? [["py", "-3"], ["python"], ["python3"]] : [["python3"], ["python"], ["python3.13"], ["python3.12"], ["python3.11"]];
  for (const [program, ...prefix] of candidates) {
    const version = await pythonVersion(program, prefix);
    if (version && (version[0] > MIN_PYTHON[0] || (version[0] === MIN_PYTHON[0] && version[1] >= MIN_PYTHON[1]))) {
      return [program, ...prefix];
    }
  }
  return undefined;
}

export const NO_PYTHON =
  "Installing glm-lsp needs Python 3.11 or newer, and none was found (tried python3 and python). " +
  "Install Python from https://www.python.org/downloads/ or your package manager and run \"GLM: Install glm-lsp\" again, " +
  "or install the server yourself (`pipx install glm-lsp`) and set glm.server.command to its path.";

/** `python -m venv <storage>/venv && pip install glm-lsp`, shown as progress; true when it worked. */
export async function install(storage: vscode.Uri, log: vscode.OutputChannel): Promise<boolean> {
  const python = await findPython();
  if (!python) {
    log.appendLine(NO_PYTHON);
    const open = await vscode.window.showErrorMessage(`GLM: ${NO_PYTHON}`, "Download Python");
    if (open) {
      await vscode.env.openExternal(vscode.Uri.parse("https://www.python.org/downloads/"));
    }
    return false;
  }
  const [program, ...prefix] = python;
  const failure = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: "GLM: installing glm-lsp" },
    async (progress): Promise<string | undefined> => {
      await fs.promises.mkdir(storage.fsPath, { recursive: true });
      progress.report({ message: `creating a virtual environment with ${program}…` });
      if ((await run(program, [...prefix, "-m", "venv", "--clear", venvDir(storage)], log)) !== 0) {
        return `${program} could not create a virtual environment (on Debian and Ubuntu: sudo apt install python3-venv).`;
      }
      progress.report({ message: "pip install glm-lsp…" });
      if ((await run(venvBin(storage, "python"), ["-m", "pip", "install", "--upgrade", "glm-lsp"], log)) !== 0) {
        return "pip install glm-lsp failed (is PyPI reachable, directly or through your pip configuration?).";
      }
      return undefined;
    },
  );
  if (failure) {
    log.appendLine(`Installing glm-lsp failed: ${failure}`);
    log.show(true);
    void vscode.window.showErrorMessage(
      `GLM: installing glm-lsp failed: ${failure} The GLM output shows the details. ` +
        "You can also install it yourself (pipx install glm-lsp) and set glm.server.command.",
    );
  }
  return failure === undefined;
}
