#!/usr/bin/env node
// Run the pinned tabby-agent (package.json here) as a language server over stdio,
// configured for a local (fake) Tabby server, without touching the real user's files.
//
//     node bench/tabby/agent.js --home DIR --endpoint http://127.0.0.1:PORT [--token T]
//
// tabby-agent reads its configuration from ~/.tabby-client/agent/config.toml and keeps
// its data and logs under ~/.tabby-client/agent/ (os.homedir(), i.e. $HOME). This
// driver points HOME at DIR (a temporary directory the caller owns), writes the config
// file there (endpoint, token, debounce off, logs silent, anonymous usage tracking
// off), then loads tabby-agent's CLI in this same process as `tabby-agent --lsp
// --stdio` (no extra process between the client and the agent).
//
// bench/completion_latency.py starts it; install first with `npm ci` in bench/tabby.
"use strict";

const fs = require("fs");
const path = require("path");

function arg(name, fallback) {
  const i = process.argv.indexOf(name);
  if (i >= 0 && i + 1 < process.argv.length) return process.argv[i + 1];
  if (fallback !== undefined) return fallback;
  process.stderr.write(`agent.js: missing ${name}\n`);
  process.exit(2);
}

const home = path.resolve(arg("--home"));
const endpoint = arg("--endpoint");
const token = arg("--token", "bench-token");
const debounce = arg("--debounce", "fixed:0"); // "fixed:<ms>" or "adaptive"

const [mode, interval] = debounce.split(":");
const config = [
  "[server]",
  `endpoint = ${JSON.stringify(endpoint)}`,
  `token = ${JSON.stringify(token)}`,
  "",
  "[completion.debounce]",
  `mode = ${JSON.stringify(mode)}`,
  ...(mode === "fixed" ? [`interval = ${Number(interval || 0)}`] : []),
  "",
  "[logs]",
  'level = "silent"',
  "",
  "[anonymousUsageTracking]",
  "disable = true",
  "",
].join("\n");

fs.mkdirSync(path.join(home, ".tabby-client", "agent"), { recursive: true });
fs.writeFileSync(path.join(home, ".tabby-client", "agent", "config.toml"), config);

process.env.HOME = home; // os.homedir() reads it when tabby-agent loads
process.argv = [process.argv[0], "tabby-agent", "--lsp", "--stdio"];
require("tabby-agent/dist/cli.js");
