"""Run every benchmark and print one table (also written to bench/results.md).

    python bench/run_all.py [--quick] [--no-peers] [--out bench/results.md]

1. Start-up and memory, measured here by a generic stdio JSON-RPC client (``measure``):
   for each server command, spawn -> reply to ``initialize`` (sent at once, VS Code-like
   capabilities), then ``initialized``; every request from the server is answered
   (``workspace/configuration`` -> a list of nulls, anything else -> null), and about
   1 s later the RSS of the server's process tree (the process and its descendants,
   VmRSS from /proc) is read; then shutdown/exit (killed if it does not go). Medians of
   10 runs (3 with ``--quick``), one unrecorded warm-up each, servers alternating.
   Servers: glm-lsp (``python -m glm_lsp serve``), the empty pygls server
   (bench/empty_pygls_server.py), and the npm peers pinned in bench/peers
   (``npm install --no-save --prefix bench/peers`` once): ``@github/copilot-language-server``
   (``node dist/language-server.js --stdio``), ``copilot-node-server``
   (``node copilot/dist/language-server.js --stdio``) and ``tabby-agent``
   (``tabby-agent --lsp --stdio``), each with a temporary empty HOME / XDG dirs and no
   tokens: they are not signed in and have no server to reach, which is fine because
   only ``initialize`` is timed. A peer that cannot start is reported with the reason.
2. The other scripts of bench/ run as subprocesses, one after the other, and their
   printed figures are parsed: completion_latency.py (server-added latency, round trip
   against tabby-agent, upstream requests per typing burst), edit_latency.py,
   sse_throughput.py, keystroke_cost.py and context_build.py. Their full output is kept
   in the log (``--log``, default a temporary file whose path is printed).

Table: one row per metric; columns glm-lsp, the peer (or goal) it is compared with, the
peer's figure and the ratio glm-lsp / peer (for times and memory < 1 means glm-lsp is
smaller; for throughput > 1 means glm-lsp is faster). Nothing is asserted. Linux only.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import platform
import queue
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PEERS = HERE / "peers"
NODE_MODULES = PEERS / "node_modules"

CAPABILITIES = {
    "general": {"positionEncodings": ["utf-16"]},
    "workspace": {"configuration": True, "workspaceFolders": True,
                  "didChangeConfiguration": {"dynamicRegistration": True}},
    "window": {"workDoneProgress": True, "showMessage": {}, "showDocument": {"support": True}},
    "textDocument": {
        "synchronization": {"dynamicRegistration": True, "didSave": True},
        "completion": {"completionItem": {"snippetSupport": True}},
        "inlineCompletion": {"dynamicRegistration": True},
        "codeAction": {"codeActionLiteralSupport": {"codeActionKind": {"valueSet": ["", "quickfix", "refactor"]}}},
    },
}


# --------------------------------------------------------------------------- generic stdio LSP measurer


def tree_pids(pid: int) -> list[int]:
    """pid and all its descendants (from /proc/*/stat)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, ValueError, IndexError):
            stat = (entry / "stat").read_text()
            ppid = int(stat[stat.rindex(")") + 2:].split()[1])
            children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def rss_kb(pid: int) -> int:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class StdioServer:
    """A server process spoken to in Content-Length-framed JSON-RPC; a thread reads its stdout."""

    def __init__(self, cmd: list[str], env: dict, cwd: Path, stderr) -> None:
        self.t0 = time.perf_counter()
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr,
                                     env=env, cwd=cwd, start_new_session=True)
        self.inbox: queue.Queue = queue.Queue()
        self.notifications: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        out = self.proc.stdout
        try:
            while True:
                length = None
                while (line := out.readline()).strip():
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                if not line or length is None:
                    break
                body = out.read(length)
                self.inbox.put((time.perf_counter(), json.loads(body)))
        except (OSError, ValueError):
            pass
        self.inbox.put(None)

    def send(self, **message) -> None:
        body = json.dumps({"jsonrpc": "2.0", **message}).encode()
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
        self.proc.stdin.flush()

    def pump(self, seconds: float, reply_to: int | None = None):
        """Answer the server's requests for up to ``seconds``; return (time, reply) to ``reply_to``."""
        deadline = time.perf_counter() + seconds
        while (left := deadline - time.perf_counter()) > 0:
            try:
                item = self.inbox.get(timeout=left)
            except queue.Empty:
                break
            if item is None:
                raise RuntimeError(f"server closed stdout (exit code {self.proc.poll()})")
            received, message = item
            if "method" in message and "id" in message:  # a request from the server: answer null
                result = None
                if message["method"] == "workspace/configuration":
                    result = [None] * len((message.get("params") or {}).get("items") or [])
                self.send(id=message["id"], result=result)
            elif "method" in message:
                self.notifications.append(message["method"])
            elif reply_to is not None and message.get("id") == reply_to:
                return received, message
        if reply_to is not None:
            raise TimeoutError(f"no reply to request {reply_to} within {seconds:.0f} s")
        return None

    def tree_rss_mb(self) -> tuple[float, int]:
        pids = tree_pids(self.proc.pid)
        return sum(rss_kb(p) for p in pids) / 1024, len(pids)

    def stop(self) -> None:
        try:
            self.send(id=2, method="shutdown")
            self.pump(3, reply_to=2)
            self.send(method="exit")
            self.proc.stdin.close()
            self.proc.wait(timeout=3)
        except (OSError, RuntimeError, TimeoutError, ValueError, subprocess.TimeoutExpired):
            pass
        # whatever is left of the process group (node workers, helpers) goes too
        with contextlib.suppress(OSError):
            os.killpg(self.proc.pid, 9)
        with contextlib.suppress(Exception):
            self.proc.kill()
        self.proc.wait()


@dataclass
class Startup:
    name: str
    cmd: list[str]
    env_extra: dict = field(default_factory=dict)
    note: str | None = None  # why it cannot run (set before or after trying)
    ms: list[float] = field(default_factory=list)
    rss: list[float] = field(default_factory=list)
    procs: int = 1
    server_info: str = ""


def peer_env(tmp: Path, name: str) -> dict:
    """A clean environment: temporary HOME and XDG dirs, no tokens or API keys."""
    home = tmp / f"home-{re.sub(r'[^a-z0-9]+', '-', name.lower())}"
    for sub in ("", ".config", ".cache", ".local/share"):
        (home / sub).mkdir(parents=True, exist_ok=True)
    drop = ("GLM_LSP_", "GITHUB_", "GH_", "COPILOT_", "TABBY_")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(drop) and not k.endswith(("_API_KEY", "_TOKEN"))}
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"), XDG_CACHE_HOME=str(home / ".cache"),
               XDG_DATA_HOME=str(home / ".local/share"))
    return env


def measure(server: Startup, tmp: Path, root: Path, settle: float = 1.0) -> tuple[float, float, int, str]:
    """One run: (ms spawn -> initialize reply, tree RSS MB ~settle s after initialized, processes, serverInfo)."""
    env = {**peer_env(tmp, server.name), **server.env_extra}
    with tempfile.TemporaryFile() as stderr:
        client = StdioServer(server.cmd, env, root, stderr)
        try:
            client.send(id=1, method="initialize", params={
                "processId": os.getpid(),
                "clientInfo": {"name": "Visual Studio Code", "version": "1.95.0"},
                "locale": "en",
                "rootUri": root.as_uri(), "rootPath": str(root),
                "workspaceFolders": [{"uri": root.as_uri(), "name": root.name}],
                "capabilities": CAPABILITIES,
                "initializationOptions": {
                    "editorInfo": {"name": "vscode", "version": "1.95.0"},
                    "editorPluginInfo": {"name": "glm-lsp-bench", "version": "0.0.0"},
                },
            })
            received, reply = client.pump(60, reply_to=1)
            if "error" in reply:
                raise RuntimeError(f"initialize failed: {reply['error']}")
            startup_ms = (received - client.t0) * 1000
            info = (reply.get("result") or {}).get("serverInfo") or {}
            client.send(method="initialized", params={})
            client.pump(settle)
            rss, procs = client.tree_rss_mb()
            return startup_ms, rss, procs, " ".join(str(v) for v in info.values())
        except Exception as exc:
            stderr.seek(0)
            tail = stderr.read().decode(errors="replace").strip().splitlines()[-5:]
            raise RuntimeError(f"{exc}; stderr: {' | '.join(tail) or '(empty)'}") from None
        finally:
            client.stop()


def npm_version(package: str) -> str | None:
    with contextlib.suppress(OSError, ValueError):
        return json.loads((NODE_MODULES / package / "package.json").read_text())["version"]
    return None


def startup_servers(no_peers: bool) -> list[Startup]:
    node = shutil.which("node")
    servers = [
        Startup("glm-lsp", [sys.executable, "-m", "glm_lsp", "serve"]),
        Startup("empty pygls", [sys.executable, str(HERE / "empty_pygls_server.py")]),
    ]
    peers = [
        ("@github/copilot-language-server", "@github/copilot-language-server", "dist/language-server.js", ["--stdio"]),
        ("copilot-node-server", "copilot-node-server", "copilot/dist/language-server.js", ["--stdio"]),
        ("tabby-agent", "tabby-agent", "dist/cli.js", ["--lsp", "--stdio"]),
    ]
    for name, package, script, args in peers:
        version = npm_version(package)
        label = f"{name} {version}" if version else name
        entry = NODE_MODULES / package / script
        note = None
        if no_peers:
            note = "skipped (--no-peers)"
        elif node is None:
            note = "node is not on PATH"
        elif not entry.exists():
            note = f"not installed: run `npm install --no-save --prefix {PEERS.relative_to(ROOT)}`"
        servers.append(Startup(label, [node or "node", str(entry), *args], note=note))
    return servers


def run_startup(servers: list[Startup], runs: int, log) -> None:
    with tempfile.TemporaryDirectory(prefix="glm-run-all-") as name:
        tmp = Path(name)
        root = tmp / "project"
        root.mkdir()
        (root / "main.py").write_text("def main():\n    pass\n")
        for run in range(runs + 1):  # run 0: unrecorded warm-up
            order = servers if run % 2 == 0 else list(reversed(servers))
            for server in order:
                if server.note is not None:
                    continue
                try:
                    ms, rss, procs, info = measure(server, tmp, root)
                except Exception as exc:
                    server.note = f"could not start/initialize offline: {exc}"
                    progress(f"  {server.name}: {server.note}")
                    continue
                server.procs, server.server_info = procs, info or server.server_info
                if run:
                    server.ms.append(ms)
                    server.rss.append(rss)
                log.write(f"startup run {run} {server.name}: {ms:.0f} ms, {rss:.1f} MB, {procs} process(es)\n")
            progress(f"  start-up run {run}/{runs} done")


# --------------------------------------------------------------------------- the other scripts


def progress(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def run_script(script: str, args: list[str], log, timeout: float) -> tuple[str, str | None]:
    """(stdout, error or None) of ``python bench/<script> args``."""
    cmd = [sys.executable, str(HERE / script), *args]
    progress(f"running {' '.join(cmd[1:])}")
    t0 = time.monotonic()
    try:
        done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode(errors="replace") if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        log.write(f"\n===== {script} {' '.join(args)}: TIMED OUT after {timeout:.0f} s\n{out}\n")
        return out, f"timed out after {timeout:.0f} s"
    log.write(f"\n===== {script} {' '.join(args)} ({time.monotonic() - t0:.0f} s, exit {done.returncode})\n")
    log.write(done.stdout)
    if done.stderr.strip():
        log.write(f"--- stderr\n{done.stderr[-4000:]}\n")
    log.flush()
    progress(f"  {script}: exit {done.returncode} in {time.monotonic() - t0:.0f} s")
    if done.returncode != 0:
        tail = " | ".join(done.stderr.strip().splitlines()[-3:])
        return done.stdout, f"exit {done.returncode}: {tail}"
    return done.stdout, None


def grab(pattern: str, text: str, group: int = 1) -> float | None:
    m = re.search(pattern, text, re.MULTILINE)
    if not m:
        return None
    return float(m.group(group).replace(",", ""))


def grab_row(label: str, text: str, which: str = "p50") -> float | None:
    """A 'label  p50 x  p95 y  p99 z ...' row of completion_latency.py."""
    return grab(rf"^\s*{re.escape(label)}\s+.*?\b{which}\s+([\d.]+)", text)


# --------------------------------------------------------------------------- table


@dataclass
class Row:
    metric: str
    ours: float | str | None
    peer: str = ""
    theirs: float | str | None = None
    unit: str = ""
    ratio: float | None | str = "auto"
    digits: int = 1


def fmt(value, digits: int) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, str):
        return value
    if abs(value) >= 10000:
        return f"{value:,.0f}"
    return f"{value:.{digits}f}"


def render(rows: list[Row]) -> list[list[str]]:
    out = []
    for r in rows:
        ratio = r.ratio
        if ratio == "auto":
            ratio = (r.ours / r.theirs if isinstance(r.ours, (int, float)) and isinstance(r.theirs, (int, float))
                     and r.theirs else None)
        unit = f" {r.unit}" if r.unit else ""
        out.append([r.metric,
                    fmt(r.ours, r.digits) + (unit if r.ours is not None and not isinstance(r.ours, str) else ""),
                    r.peer or "-",
                    fmt(r.theirs, r.digits) + (unit if isinstance(r.theirs, (int, float)) else "")
                    if r.peer else "-",
                    f"{ratio:.2f}" if isinstance(ratio, (int, float)) else (ratio if isinstance(ratio, str) else "-")])
    return out


HEADERS = ["metric", "glm-lsp", "peer / goal", "peer", "ratio glm-lsp/peer"]


def text_table(cells: list[list[str]]) -> str:
    widths = [max(len(c[i]) for c in [HEADERS, *cells]) for i in range(len(HEADERS))]
    line = lambda c: "  ".join(x.ljust(w) if i in (0, 2) else x.rjust(w) for i, (x, w) in enumerate(zip(c, widths)))  # noqa: E731
    return "\n".join([line(HEADERS), "  ".join("-" * w for w in widths), *(line(c) for c in cells)])


def md_table(cells: list[list[str]]) -> str:
    esc = lambda s: s.replace("|", "\\|")  # noqa: E731
    out = ["| " + " | ".join(HEADERS) + " |", "|" + "|".join(["---", "---:", "---", "---:", "---:"]) + "|"]
    out += ["| " + " | ".join(esc(x) for x in c) + " |" for c in cells]
    return "\n".join(out)


# --------------------------------------------------------------------------- main


def cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def machine_lines() -> list[str]:
    node = "not found"
    if shutil.which("node"):
        with contextlib.suppress(Exception):
            node = subprocess.run(["node", "--version"], capture_output=True, text=True, timeout=10).stdout.strip()
    return [
        f"date: {datetime.datetime.now().astimezone().isoformat(timespec='seconds')}",
        f"machine: {platform.platform()}, {cpu_model()}, {os.cpu_count()} CPUs, "
        f"load average at start {' '.join(f'{x:.2f}' for x in os.getloadavg())}",
        f"python: {platform.python_implementation()} {platform.python_version()} ({sys.executable})",
        f"node: {node}",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs everywhere (a few minutes)")
    parser.add_argument("--no-peers", action="store_true", help="skip the npm peers' start-up")
    parser.add_argument("--runs", type=int, help="start-up runs per server (default 10, 3 with --quick)")
    parser.add_argument("--out", type=Path, default=HERE / "results.md", help="markdown file to write")
    parser.add_argument("--log", type=Path, help="where the scripts' full output goes (default: a temp file)")
    args = parser.parse_args(argv)
    q = args.quick
    runs = args.runs or (3 if q else 10)
    log_path = args.log or Path(tempfile.mkstemp(prefix="glm-run-all-", suffix=".log")[1])
    header = machine_lines()
    t_start = time.monotonic()
    rows: list[Row] = []
    notes: list[str] = []

    with open(log_path, "w", encoding="utf-8") as log:
        log.write("\n".join(header) + "\n")
        progress(f"full output of every benchmark: {log_path}")

        # 1. start-up and RSS
        progress(f"start-up and RSS, {runs} runs (+1 warm-up) per server")
        servers = startup_servers(args.no_peers)
        run_startup(servers, runs, log)
        glm = servers[0]
        glm_ms = statistics.median(glm.ms) if glm.ms else None
        glm_rss = statistics.median(glm.rss) if glm.rss else None
        for metric, attr, unit, digits in ((f"spawn -> initialize reply (median of {runs})", "ms", "ms", 0),
                                           ("RSS ~1 s after initialized (process tree)", "rss", "MB", 1)):
            ours = glm_ms if attr == "ms" else glm_rss
            for peer in servers[1:]:
                values = getattr(peer, attr)
                theirs = statistics.median(values) if values else None
                rows.append(Row(metric, ours, peer.name, theirs if peer.note is None else "not measured", unit,
                                digits=digits))
        for s in servers:
            if s.name.startswith("@github/copilot-language-server") and s.procs > 1:
                notes.append(f"{s.name}: needs Node >= 22.13 to run in-process; under an older node its "
                             "dist/language-server.js starts the bundled native binary (a Node 22 executable, "
                             "npm package @github/copilot-language-server-linux-x64), so its time includes that "
                             "extra spawn and its RSS is the wrapper's plus the binary's")
            if s.note:
                notes.append(f"{s.name}: {s.note}")
            elif s.procs > 1 or s.server_info:
                notes.append(f"{s.name}: serverInfo '{s.server_info or '-'}', {s.procs} process(es) in its tree "
                             f"(RSS summed), start-up min-max {min(s.ms):.0f}-{max(s.ms):.0f} ms")

        # 2. completion latency, round trip against tabby-agent, bursts
        cl_args = (["--requests", "30", "--warmup", "5", "--bursts", "2"] if q else [])
        out, err = run_script("completion_latency.py", cl_args, log, timeout=1800)
        if err:
            notes.append(f"completion_latency.py: {err}")
        inl = "glm-lsp textDocument/inlineCompletion"
        tab = "tabby-agent textDocument/completion"
        cmp_ = "glm-lsp textDocument/completion"
        tabby_ver = npm_version("tabby-agent") or ""
        tabby_peer = f"tabby-agent {tabby_ver} completion".replace("  ", " ")
        for which in ("p50", "p99"):
            rows.append(Row(f"inline completion round trip {which} (fake provider answering at once)",
                            grab_row(inl, out, which), tabby_peer, grab_row(tab, out, which), "ms", digits=2))
        m = re.search(r"^3\..*?\n(.*?)(?=\n\n|\Z)", out, re.S | re.M)
        block3 = m.group(1) if m else ""
        ours_added = tabby_added = None
        if block3:
            adds = re.findall(r"^\s+server-added\s+p50\s+([\d.]+)", block3, re.M)
            if len(adds) >= 1:
                ours_added = float(adds[0])
            if len(adds) >= 2:
                tabby_added = float(adds[1])
        rows.append(Row("server-added latency p50, textDocument/completion", ours_added, tabby_peer, tabby_added,
                        "ms", digits=2))
        if "tabby-agent: NOT MEASURED" in out:
            notes.append("tabby-agent round trip: " + out.split("tabby-agent: NOT MEASURED:", 1)[1].splitlines()[0].strip())
        probe = re.search(r"tabby-agent textDocument/inlineCompletion: (.*)", out)
        if probe:
            notes.append(f"tabby-agent textDocument/inlineCompletion: {probe.group(1).strip()} "
                         "(so its textDocument/completion is the comparison)")
        label = "server-added (round trip - fake's own)"
        rows.append(Row("server-added latency p50, inline completion (debounceMs 0)", grab_row(label, out, "p50"),
                        "goal", 2.0, "ms", ratio=None, digits=2))
        rows.append(Row("server-added latency p99, inline completion (debounceMs 0)", grab_row(label, out, "p99"),
                        "goal", 10.0, "ms", ratio=None, digits=2))
        for series, label in (("right after opening", "right after opening the buffers"),
                              ("after a keystroke", "each request after a keystroke"),
                              ("typing a word", "typing a word (5 keystrokes at a spot)")):
            for which, goal in (("p50", 2.0), ("p99", 10.0)):
                rows.append(Row(f"  the same {which}, {label}", grab_row(f"{series}: server-added", out, which),
                                "goal", goal, "ms", ratio=None, digits=2))
        rows.append(Row("  floor: no-op request round trip p50 (glm.usage)",
                        grab_row("for reference: glm.usage round trip", out), "", None, "ms", digits=2))
        rows.append(Row("  floor: bare httpx POST to the fake, added p50",
                        grab_row("for reference: httpx POST to the fake, added", out), "", None, "ms", digits=2))
        rows.append(Row("  settled p50, requests alternating with a minimal pygls + httpx server",
                        grab_row("glm-lsp, settled, interleaved with it", out), "minimal server",
                        grab_row("for reference: minimal pygls + httpx server", out), "ms", digits=2))
        bursts = re.findall(r"mean upstream requests per burst: ([\d.]+)", out)
        for delay, value in zip(("0 ms", "300 ms"), bursts):
            rows.append(Row(f"upstream requests per 30-keystroke burst (TTFB {delay})", float(value), "goal", 1.0,
                            ratio=None, digits=2))

        # 3. first streamed edit
        out, err = run_script("edit_latency.py", ["--runs", "10"] if q else [], log, timeout=900)
        if err:
            notes.append(f"edit_latency.py: {err}")
        rows.append(Row("first token -> first applyEdit p50", grab(r"^first token -> first applyEdit\s+([\d.]+)", out),
                        "goal", 5.0, "ms", ratio=None, digits=2))
        rows.append(Row("last token -> final applyEdit p50", grab(r"^last token -> final applyEdit\s+([\d.]+)", out),
                        "", None, "ms", digits=2))

        # 4. SSE throughput
        out, err = run_script("sse_throughput.py", ["--events", "5000", "--runs", "3"] if q else [], log, timeout=900)
        if err:
            notes.append(f"sse_throughput.py: {err}")
        rows.append(Row("SSE parsing throughput (events/s)", grab(r"^glm-lsp\s+[\d.]+\s+[\d.]+\s+([\d,]+)", out),
                        "openai SDK", grab(r"^openai SDK\s+[\d.]+\s+[\d.]+\s+([\d,]+)", out), digits=0))

        # 5. keystroke cost
        ks_args = ["--keystrokes", "1000", "--pairs", "60", "--builds", "60", "--completions", "10"] if q else []
        out, err = run_script("keystroke_cost.py", ks_args, log, timeout=1200)
        if err:
            notes.append(f"keystroke_cost.py: {err}")
        big = grab(r"^\s+5 MB\s+median\s+([\d.]+) us", out)
        small = grab(r"^\s+50 KB\s+median\s+([\d.]+) us", out)
        rows.append(Row("keystroke in Document.apply_change, 5 MB file (median)", big, "same, 50 KB file", small, "us",
                        digits=2))
        costs = re.findall(r"didChange cost \(b - a, pairwise\): median\s+(-?[\d.]+) us", out)
        if len(costs) == 2:
            rows.append(Row("keystroke through the server (didChange), 5 MB file (median)", float(costs[0]),
                            "same, 50 KB file", float(costs[1]), "us", digits=0))
        for lines in ("2000", "10000"):
            rows.append(Row(f"ContextBuilder.build p50, {lines}-line buffer + 50 open",
                            grab(rf"current buffer {lines} lines: .*?then p50 ([\d.]+) ms", out), "goal", 2.0, "ms",
                            ratio=None, digits=2))
        rows.append(Row("prompt tokens per completion / whole file",
                        grab(r"ratio per completion / whole file: ([\d.]+)", out), "", None, ratio=None, digits=3))

        # 6. context build
        out, err = run_script("context_build.py", ["--queries", "200", "--keystrokes", "50"] if q else [], log,
                              timeout=900)
        if err:
            notes.append(f"context_build.py: {err}")
        rows.append(Row("NeighborIndex.update per 2,000-line document (median)",
                        grab(r"per document\s+([\d.]+) ms median", out), "", None, "ms", digits=2))
        rows.append(Row("NeighborIndex.rank p50 (50 documents)", grab(r"^\s+p50\s+([\d.]+) ms", out), "goal", 2.0,
                        "ms", ratio=None, digits=2))
        rows.append(Row("NeighborIndex.rank p99 (50 documents)", grab(r"^\s+p99\s+([\d.]+) ms", out), "goal", 10.0,
                        "ms", ratio=None, digits=2))
        rows.append(Row("NeighborIndex memory held (50 x 2,000 lines)", grab(r"memory held\s+([\d.]+) MB", out), "",
                        None, "MB", digits=1))

        # 7. instructions per request (needs valgrind)
        if not q:
            out, err = run_script("instructions.py", [], log, timeout=1800)
            if err:
                notes.append(f"instructions.py: {err}")
            elif "NOT MEASURED" in out:
                notes.append(out.strip().splitlines()[-1])
            else:
                per = r"M instructions per request"
                rows.append(Row("instructions per settled inline completion (callgrind)",
                                grab(rf"settled: glm-lsp\s+([\d.]+) {per}", out), "minimal server",
                                grab(rf"settled: minimal pygls \+ httpx server\s+([\d.]+) {per}", out), "M",
                                digits=2))
                rows.append(Row("instructions per inline completion after a keystroke (callgrind)",
                                grab(rf"after a keystroke: glm-lsp\s+([\d.]+) {per}", out), "", None, "M", digits=2))

    cells = render(rows)
    elapsed = time.monotonic() - t_start
    mode = "--quick" if q else "full"
    print()
    print("\n".join(header))
    print(f"mode: {mode}; took {elapsed / 60:.1f} min; full output: {log_path}\n")
    print(text_table(cells))
    if notes:
        print("\nnotes:")
        for n in notes:
            print(f"  - {n}")

    md = [
        "# Benchmark results", "",
        f"Written by `python bench/run_all.py{' --quick' if q else ''}` (see bench/README.md). "
        "Ratio = glm-lsp / peer: for times and memory below 1 means glm-lsp is smaller, for throughput "
        "above 1 means glm-lsp is faster. Goal rows have no ratio. Wall-clock figures vary with machine load.", "",
        *(f"- {line}" for line in header),
        f"- mode: {mode}, {elapsed / 60:.1f} min", "",
        md_table(cells), "",
    ]
    if notes:
        md += ["Notes:", "", *(f"- {n}" for n in notes), ""]
    args.out.write_text("\n".join(md), encoding="utf-8")
    print(f"\nwritten: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
