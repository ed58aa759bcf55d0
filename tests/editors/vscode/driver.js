// Drives code-server in Debian's headless chromium with playwright-core, one JSON
// request per stdin line, one JSON answer per stdout line:
//   → {"id": 1, "op": "press", "keys": ["Control+P"]}
//   ← {"id": 1, "ok": true, "result": null}          (or "ok": false, "error": "…")
// The pytest side (tests/editors/vscode/conftest.py) holds the scenario logic; this
// file only knows how to find things in VS Code's DOM. Run with NODE_PATH pointing
// at the node_modules that holds playwright-core.
"use strict";
const readline = require("node:readline");
const { chromium } = require("playwright-core");

const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-dev-shm-usage",
  "--disable-background-networking",
  "--disable-component-update",
  "--no-first-run",
];
let browser;
let page;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Poll `fn` until it returns a truthy value or `timeout` ms pass. */
async function until(what, fn, timeout = 10000, every = 50) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const value = await fn();
    if (value) {
      return value;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeout} ms waiting for ${what}`);
    }
    await sleep(every);
  }
}

const ACTIVE_EDITOR = ".editor-group-container.active .editor-instance .monaco-editor";

/** The lines of the Monaco editor under `selector` as rendered (spaces drawn as U+00A0). */
function editorLines(selector) {
  const editor = document.querySelector(selector);
  if (!editor) {
    return null;
  }
  const lines = [...editor.querySelectorAll(".view-lines .view-line")].map((el) => ({
    top: parseFloat(el.style.top || "0"),
    text: el.textContent.replace(/\u00a0/g, " "),
  }));
  lines.sort((a, b) => a.top - b.top);
  return lines.map((line) => line.text);
}

const ops = {
  async launch({ url, width = 1280, height = 800, timeout = 60000 }) {
    browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: CHROMIUM_ARGS });
    page = await browser.newPage({ viewport: { width, height } });
    await page.goto(url, { timeout });
    await page.waitForSelector(".monaco-workbench", { timeout });
    return page.url();
  },

  async press({ keys, delay = 0 }) {
    for (const key of keys) {
      await page.keyboard.press(key);
      if (delay) {
        await sleep(delay);
      }
    }
  },

  async type({ text, delay = 20 }) {
    await page.keyboard.type(text, { delay });
  },

  async sleep({ ms }) {
    await sleep(ms);
  },

  /** Run a command palette entry by its full title ("GLM: Set API Key"), picked with the arrow keys. */
  async palette({ title, timeout = 10000 }) {
    await page.keyboard.press("F1");
    const input = page.locator(".quick-input-widget .quick-input-box input");
    await input.waitFor({ state: "visible", timeout });
    await input.fill(">" + title);
    const rows = page.locator(".quick-input-widget .monaco-list-row");
    const matches = (label) => label === title || label.startsWith(title + ",") || label.startsWith(title + " ");
    const focused = async () => (await page.locator(".quick-input-widget .monaco-list-row.focused").first().getAttribute("aria-label")) ?? "";
    await until(`"${title}" in the palette`, async () =>
      (await rows.evaluateAll((els) => els.map((el) => el.getAttribute("aria-label") ?? ""))).some(matches), timeout);
    for (let step = 0; step < 20 && !matches(await focused()); step++) {
      await page.keyboard.press("ArrowDown");
      await sleep(20);
    }
    if (!matches(await focused())) {
      throw new Error(`could not focus "${title}" in the palette; focused: "${await focused()}"`);
    }
    await page.keyboard.press("Enter");
  },

  /** Answer the open input box (showInputBox). */
  async input({ text, timeout = 10000 }) {
    const input = page.locator(".quick-input-widget .quick-input-box input");
    await input.waitFor({ state: "visible", timeout });
    await input.fill(text);
    await page.keyboard.press("Enter");
    await input.waitFor({ state: "hidden", timeout });
  },

  /**
   * Open a file with Quick Open and wait until its editor has the focus. The absolute
   * `path` is typed: Quick Open's file search caches its results and would miss a
   * file created since the last search.
   */
  async open({ path, timeout = 15000 }) {
    const file = path.split("/").pop();
    await page.keyboard.press("Control+P");
    const input = page.locator(".quick-input-widget .quick-input-box input");
    await input.waitFor({ state: "visible", timeout });
    await input.fill(path);
    await until(`"${file}" to be the first Quick Open entry`, async () =>
      ((await page.locator(".quick-input-widget .monaco-list-row").first().getAttribute("aria-label")) ?? "").includes(file), timeout);
    await page.keyboard.press("Enter");
    await page.locator(`.tab.active[aria-label*="${file}"]`).waitFor({ timeout });
    await page.locator(".editor-instance .monaco-editor .view-lines").first().waitFor({ timeout });
    await page.locator(".editor-instance .monaco-editor textarea").first().focus();
  },

  /** The lines shown by the active editor, or by the editor under `selector`. */
  async lines({ selector = ACTIVE_EDITOR }) {
    return page.evaluate(editorLines, selector);
  },

  /**
   * Wait until the active editor shows exactly `lines`; returns every distinct state
   * seen on the way. With `screenshot`, the page is shot at the first state that is
   * neither `initial` nor the wanted one (an edit streaming in).
   */
  async waitLines({ lines, initial, screenshot, timeout = 20000 }) {
    const seen = [];
    const want = JSON.stringify(lines);
    let shot = null;
    await until("the editor text " + want, async () => {
      const now = await page.evaluate(editorLines, ACTIVE_EDITOR);
      const text = JSON.stringify(now);
      if (seen.length === 0 || JSON.stringify(seen[seen.length - 1]) !== text) {
        seen.push(now);
      }
      if (screenshot && !shot && initial && text !== want && text !== JSON.stringify(initial)) {
        await page.screenshot({ path: screenshot });
        shot = now;
      }
      return text === want;
    }, timeout, 20);
    return { seen, shot };
  },

  async waitFor({ selector, state = "visible", timeout = 10000, hasText }) {
    const locator = hasText ? page.locator(selector, { hasText }) : page.locator(selector);
    await locator.first().waitFor({ state, timeout });
  },

  async click({ selector, hasText, timeout = 10000 }) {
    await (hasText ? page.locator(selector, { hasText }) : page.locator(selector)).first().click({ timeout });
  },

  async texts({ selector }) {
    return page.locator(selector).allInnerTexts();
  },

  async count({ selector }) {
    return page.locator(selector).count();
  },

  /** The rows of the open code action menu (quick fix widget). */
  async actionRows({ timeout = 15000 }) {
    const rows = page.locator(".action-widget .monaco-list-row");
    await rows.first().waitFor({ state: "visible", timeout });
    return rows.evaluateAll((els) => els.map((el) => ({
      label: el.getAttribute("aria-label") ?? el.textContent,
      header: el.classList.contains("group-header"),
      disabled: el.getAttribute("aria-disabled") === "true",
    })));
  },

  /** Move to the code action whose label starts with `label` with the arrow keys, then Enter. */
  async pickAction({ label, timeout = 15000 }) {
    const rows = await ops.actionRows({ timeout });
    const actions = rows.filter((row) => !row.header);
    const index = actions.findIndex((row) => row.label.startsWith(label));
    if (index < 0) {
      throw new Error(`no code action "${label}" in ${JSON.stringify(actions.map((row) => row.label))}`);
    }
    const focused = async () => (await page.locator(".action-widget .monaco-list-row.focused").first().getAttribute("aria-label")) ?? "";
    for (let step = 0; step < actions.length && !(await focused()).startsWith(label); step++) {
      await page.keyboard.press("ArrowDown");
      await sleep(30);
    }
    if (!(await focused()).startsWith(label)) {
      throw new Error(`could not focus "${label}"; focused: "${await focused()}"`);
    }
    await page.keyboard.press("Enter");
    return actions.map((row) => row.label);
  },

  /** Texts of the notification toasts and of the notification center. */
  async notifications() {
    return page.locator(".notifications-toasts .notification-list-item, .notifications-center .notification-list-item")
      .evaluateAll((els) => els.map((el) => el.getAttribute("aria-label") || el.textContent));
  },

  async screenshot({ path, selector }) {
    const target = selector ? page.locator(selector).first() : page;
    await target.screenshot({ path });
    return path;
  },

  async eval({ js }) {
    return page.evaluate(js);
  },

  async close() {
    await browser?.close();
    browser = undefined;
  },
};

const rl = readline.createInterface({ input: process.stdin });
let queue = Promise.resolve();
rl.on("line", (line) => {
  queue = queue.then(async () => {
    let request;
    try {
      request = JSON.parse(line);
      const op = ops[request.op];
      if (!op) {
        throw new Error(`unknown op ${request.op}`);
      }
      const result = await op(request);
      process.stdout.write(JSON.stringify({ id: request.id, ok: true, result: result ?? null }) + "\n");
    } catch (error) {
      process.stdout.write(JSON.stringify({ id: request?.id, ok: false, error: String(error?.stack ?? error) }) + "\n");
    }
  });
});
rl.on("close", async () => {
  await queue;
  await browser?.close().catch(() => undefined);
  process.exit(0);
});
