"""Start-up time and memory: glm-lsp against an empty pygls server.

What it measures, for each server, over stdio with a small hand-written JSON-RPC client:

- start-up: wall time from just before spawning the process to the arrival of the
  reply to ``initialize`` (sent at once, with VS Code-like capabilities). This is
  interpreter start + imports + server construction + answering initialize.
- RSS: the process's VmRSS (/proc/<pid>/status, MB = 1024 kB) about 1 s after
  ``initialized``, once glm-lsp has loaded its settings; requests from the server
  (workspace/configuration etc.) are answered meanwhile.

The servers are ``python -m glm_lsp serve`` and ``bench/empty_pygls_server.py`` (pygls'
``LanguageServer`` with nothing registered), run alternately, each with one unrecorded
warm-up, in a clean environment (no GLM_LSP_* or *_API_KEY variables, XDG_CONFIG_HOME
set to an empty temp dir). Run from the repository root with the project venv:

    python bench/startup.py [--runs 10] [--also-import-cost]

Printed: machine and date; per server the median start-up in ms (min-max) and the
median RSS; then glm-lsp / empty pygls for start-up (goal <= 1.10) and glm-lsp's RSS
against the 60 MB goal. ``--also-import-cost`` adds the time of ``python -c pass`` and
``python -c "import lsprotocol.types"`` as reference lines. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import queue
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SERVERS = {
    "glm-lsp": [sys.executable, "-m", "glm_lsp", "serve"],
    "empty pygls": [sys.executable, str(HERE / "empty_pygls_server.py")],
}
CAPABILITIES = {
    "general": {"positionEncodings": ["utf-16"]},
    "workspace": {"configuration": True, "workspaceFolders": True, "didChangeConfiguration": {"dynamicRegistration": True}},
    "window": {"workDoneProgress": True, "showMessage": {}},
    "textDocument": {
        "synchronization": {"dynamicRegistration": True, "didSave": True},
        "codeAction": {"codeActionLiteralSupport": {"codeActionKind": {"valueSet": ["", "quickfix", "refactor"]}}},
    },
}


class Client:
    """Spawns a server and speaks Content-Length-framed JSON-RPC to it; a thread reads replies."""

    def __init__(self, cmd: list[str], env: dict, stderr) -> None:
        self.t0 = time.perf_counter()
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr, env=env, cwd=HERE.parent)
        self.inbox: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        out = self.proc.stdout
        while True:
            length = None
            while (line := out.readline()).strip():
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            if not line or length is None:  # EOF
                self.inbox.put(None)
                return
            body = out.read(length)
            self.inbox.put((time.perf_counter(), json.loads(body)))

    def send(self, **message) -> None:
        body = json.dumps({"jsonrpc": "2.0", **message}).encode()
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
        self.proc.stdin.flush()

    def pump(self, seconds: float, reply_to: int | None = None):
        """Answer server requests for up to `seconds`; return (time, reply) for `reply_to` if given."""
        deadline = time.perf_counter() + seconds
        while (left := deadline - time.perf_counter()) > 0:
            try:
                item = self.inbox.get(timeout=left)
            except queue.Empty:
                break
            if item is None:
                raise RuntimeError(f"server closed stdout (exit code {self.proc.poll()})")
            received, message = item
            if "method" in message and "id" in message:  # a request from the server
                method = message["method"]
                result = [None] * len(message["params"]["items"]) if method == "workspace/configuration" else None
                self.send(id=message["id"], result=result)
            elif reply_to is not None and message.get("id") == reply_to:
                return received, message
        if reply_to is not None:
            raise TimeoutError(f"no reply to request {reply_to} within {seconds} s")
        return None

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise RuntimeError("no VmRSS")

    def stop(self) -> None:
        try:
            self.send(id=2, method="shutdown")
            self.pump(5, reply_to=2)
            self.send(method="exit")
            self.proc.stdin.close()
            self.proc.wait(timeout=5)
        except (OSError, RuntimeError, TimeoutError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()


def measure(cmd: list[str], env: dict, root: Path) -> tuple[float, float]:
    """One run: (ms from spawn to the initialize reply, RSS in MB ~1 s after initialized)."""
    with tempfile.TemporaryFile() as stderr:
        client = Client(cmd, env, stderr)
        try:
            client.send(id=1, method="initialize", params={
                "processId": os.getpid(), "clientInfo": {"name": "bench/startup.py"},
                "rootUri": root.as_uri(), "workspaceFolders": [{"uri": root.as_uri(), "name": root.name}],
                "capabilities": CAPABILITIES, "initializationOptions": {},
            })
            received, reply = client.pump(30, reply_to=1)
            if "error" in reply:
                raise RuntimeError(f"initialize failed: {reply['error']}")
            startup_ms = (received - client.t0) * 1000
            client.send(method="initialized", params={})
            client.pump(1.0)  # let it settle: glm-lsp loads its settings now
            return startup_ms, client.rss_mb()
        except Exception:
            stderr.seek(0)
            sys.stderr.write(stderr.read().decode(errors="replace")[-2000:])
            raise
        finally:
            client.stop()


def clean_env(config_home: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GLM_LSP_") and not k.endswith("_API_KEY")}
    env["XDG_CONFIG_HOME"] = config_home
    return env


def command_ms(argv: list[str], env: dict, runs: int) -> list[float]:
    times = []
    for _ in range(runs + 1):  # first one is a warm-up
        t0 = time.perf_counter()
        subprocess.run(argv, env=env, check=True)
        times.append((time.perf_counter() - t0) * 1000)
    return times[1:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--also-import-cost", action="store_true", help="also time `python -c 'import lsprotocol.types'`")
    args = parser.parse_args()

    print(f"machine: {platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    print(f"date:    {datetime.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}; {args.runs} runs each, alternating\n")
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in SERVERS}
    with tempfile.TemporaryDirectory() as config_home, tempfile.TemporaryDirectory() as root:
        env = clean_env(config_home)
        for run in range(args.runs + 1):  # run 0 is a warm-up (bytecode caches, disk cache)
            order = list(SERVERS) if run % 2 == 0 else list(reversed(SERVERS))
            for name in order:
                figures = measure(SERVERS[name], env, Path(root))
                if run:
                    results[name].append(figures)

        print(f"{'server':<14}{'start-up ms: median':>20}{'(min-max)':>16}{'RSS MB: median':>17}")
        for name, rows in results.items():
            ms = [r[0] for r in rows]
            rss = statistics.median(r[1] for r in rows)
            print(f"{name:<14}{statistics.median(ms):>20.0f}{f'({min(ms):.0f}-{max(ms):.0f})':>16}{rss:>17.1f}")
        glm, empty = (statistics.median(r[0] for r in results[n]) for n in SERVERS)
        glm_rss = statistics.median(r[1] for r in results["glm-lsp"])
        print(f"\nstart-up ratio (glm-lsp / empty pygls): {glm / empty:.2f}   goal <= 1.10")
        print(f"glm-lsp RSS: {glm_rss:.1f} MB   goal <= 60 MB")

        if args.also_import_cost:
            print("\nreference (spawn to exit, median):")
            for label, code in (("python -c pass", "pass"), ("python -c 'import lsprotocol.types'", "import lsprotocol.types")):
                times = command_ms([sys.executable, "-c", code], env, args.runs)
                print(f"  {label:<38}{statistics.median(times):>6.0f} ms")


if __name__ == "__main__":
    main()
