"""code-server (VS Code 1.100 in the browser) driven by playwright-core, in a private network.

* :func:`install` runs ``install.sh`` (Debian chromium, code-server + playwright-core
  from the lockfile into ``<repo>/.cache/editors/vscode``, the ``.vsix``).
* :class:`NetNS` is a fresh network namespace holding only loopback (``unshare -n``):
  code-server, the language server it spawns, chromium and the fake provider all run
  in it, so nothing in the test can reach the outside (no marketplace, no real API).
  The fake provider is started from a thread that joined the namespace, so the test
  scripts it in-process as usual. Without the rights to unshare, everything runs on
  the host's loopback instead (``NetNS.isolated`` is False).
* :class:`CodeServer` is one code-server with a temporary HOME, user-data and
  extensions directories, the extension installed from the ``.vsix``.
* :class:`Driver` is ``driver.js`` (a persistent node process with one chromium page):
  ``driver.call("press", keys=[...])``, every call bounded by a timeout.
"""

from __future__ import annotations

import ctypes
import fcntl
import json
import os
import queue
import shutil
import socket
import struct
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
INSTALL_SCRIPT = HERE / "install.sh"
DEST = REPO / ".cache" / "editors" / "vscode"
TOOLS = DEST / "tools" / "node_modules"
CODE_SERVER = TOOLS / ".bin" / "code-server"
VSIX = REPO / "editors" / "vscode" / "glm-lsp.vsix"
SCREENSHOTS = REPO / ".cache" / "editors" / "screenshots"
EXTENSION_ID = "glm-lsp.glm-lsp"
CHROMIUM = Path("/usr/bin/chromium")


class InstallError(RuntimeError):
    pass


def install() -> str:
    """Run install.sh (fast when everything is there); return its output."""
    result = subprocess.run(["bash", str(INSTALL_SCRIPT), str(DEST)], capture_output=True, text=True, timeout=900)
    if result.returncode != 0:
        raise InstallError(f"{INSTALL_SCRIPT} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result.stdout


# --------------------------------------------------------------------------- network namespace

_CLONE_NEWNET = 0x40000000
_SIOCGIFFLAGS, _SIOCSIFFLAGS, _IFF_UP = 0x8913, 0x8914, 0x1


class NetNS:
    """A network namespace with loopback up, kept alive by a ``sleep`` process."""

    def __init__(self) -> None:
        self.holder: subprocess.Popen | None = None
        self.isolated = False
        self.reason = ""
        if shutil.which("unshare") and shutil.which("nsenter"):
            holder = subprocess.Popen(["unshare", "-n", "sleep", "infinity"], stderr=subprocess.PIPE, text=True)
            time.sleep(0.1)
            if holder.poll() is None:
                self.holder, self.isolated = holder, True
            else:
                self.reason = f"unshare -n failed: {holder.stderr.read().strip()}"
        else:
            self.reason = "unshare/nsenter (util-linux) not found"
        if self.isolated:
            self.run_inside(_loopback_up)

    @property
    def prefix(self) -> list[str]:
        """Put a command inside the namespace."""
        return ["nsenter", f"--net=/proc/{self.holder.pid}/ns/net", "--"] if self.isolated else []

    def run_inside(self, fn: Callable[[], Any]) -> Any:
        """Call ``fn`` in a thread that joined the namespace; threads it starts stay inside."""
        if not self.isolated:
            return fn()
        box: dict[str, Any] = {}

        def target() -> None:
            try:
                libc = ctypes.CDLL(None, use_errno=True)
                fd = os.open(f"/proc/{self.holder.pid}/ns/net", os.O_RDONLY)
                try:
                    if libc.setns(fd, _CLONE_NEWNET) != 0:
                        raise OSError(ctypes.get_errno(), "setns(CLONE_NEWNET) failed")
                finally:
                    os.close(fd)
                box["value"] = fn()
            except BaseException as exc:  # re-raised in the caller's thread
                box["error"] = exc

        thread = threading.Thread(target=target, name="in-netns")
        thread.start()
        thread.join()
        if "error" in box:
            raise box["error"]
        return box.get("value")

    def close(self) -> None:
        if self.holder is not None:
            self.holder.kill()
            self.holder.wait()
            self.holder = None


def _loopback_up() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = struct.pack("16sh", b"lo", 0)
        flags = struct.unpack("16sh", fcntl.ioctl(sock, _SIOCGIFFLAGS, request))[1]
        fcntl.ioctl(sock, _SIOCSIFFLAGS, struct.pack("16sh", b"lo", flags | _IFF_UP))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --------------------------------------------------------------------------- code-server


class CodeServer:
    """One code-server: private HOME and data dirs under ``root``, the extension installed."""

    def __init__(self, root: Path, netns: NetNS, env: dict[str, str], user_settings: dict) -> None:
        self.root, self.netns = root, netns
        self.home = root / "home"
        self.user_data = root / "user-data"
        self.extensions = root / "extensions"
        self.project = root / "project"
        self.log_path = root / "code-server.log"
        for path in (self.home, self.user_data / "User", self.extensions, self.project):
            path.mkdir(parents=True, exist_ok=True)
        # The extension host takes PATH from a login shell, and Debian's /etc/profile
        # resets PATH: give the login shell the PATH of this process.
        profile = f'export PATH="{env["PATH"]}"\n'
        for name in (".profile", ".bash_profile"):
            (self.home / name).write_text(profile)
        self.env = env | {
            "HOME": str(self.home),
            "SHELL": "/bin/bash",
            "XDG_CONFIG_HOME": str(self.home / ".config"),
            "XDG_DATA_HOME": str(self.home / ".local" / "share"),
            "XDG_CACHE_HOME": str(self.home / ".cache"),
            "XDG_STATE_HOME": str(self.home / ".local" / "state"),
        }
        self.write_settings(user_settings)
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def settings_path(self) -> Path:
        return self.user_data / "User" / "settings.json"

    def read_settings(self) -> dict:
        return json.loads(self.settings_path.read_text())

    def write_settings(self, settings: dict) -> None:
        self.settings_path.write_text(json.dumps(settings, indent=2))

    def _args(self) -> list[str]:
        return [str(CODE_SERVER), "--user-data-dir", str(self.user_data), "--extensions-dir", str(self.extensions)]

    def install_extension(self, vsix: Path) -> str:
        done = subprocess.run([*self.netns.prefix, *self._args(), "--install-extension", str(vsix), "--force"],
                              env=self.env, capture_output=True, text=True, timeout=120)
        if done.returncode != 0 or not any(p.name.startswith(EXTENSION_ID) for p in self.extensions.iterdir()):
            raise RuntimeError(f"--install-extension failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
        return done.stdout

    def start(self, timeout: float = 60) -> None:
        log = self.log_path.open("w")
        self.process = subprocess.Popen(
            [*self.netns.prefix, *self._args(), "--auth", "none", "--bind-addr", f"127.0.0.1:{self.port}",
             "--disable-telemetry", "--disable-update-check", "--disable-workspace-trust",
             "--disable-getting-started-override", "--ignore-last-opened", str(self.project)],
            env=self.env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + timeout
        while "HTTP server listening" not in self.log_path.read_text(errors="replace"):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"code-server did not start:\n{self.log_path.read_text(errors='replace')[-3000:]}")
            time.sleep(0.1)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/?folder={self.project}"

    def glm_log(self) -> str:
        """The "GLM" output channel, as VS Code writes it to its logs folder."""
        logs = sorted((self.user_data / "logs").glob(f"**/{EXTENSION_ID}/GLM.log"), key=lambda p: p.stat().st_mtime)
        return logs[-1].read_text(errors="replace") if logs else ""

    def exthost_log(self) -> str:
        logs = sorted((self.user_data / "logs").glob("**/remoteexthost.log"), key=lambda p: p.stat().st_mtime)
        return logs[-1].read_text(errors="replace") if logs else ""

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, 15)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, 9)
                self.process.wait()
        self.process = None


# --------------------------------------------------------------------------- the browser


class DriverError(RuntimeError):
    pass


class Driver:
    """``driver.js`` in node: one chromium page, one JSON request per line."""

    def __init__(self, netns: NetNS, env: dict[str, str], log_path: Path) -> None:
        self.log_path = log_path
        self._stderr = log_path.open("w")
        self.process = subprocess.Popen(
            [*netns.prefix, "node", str(HERE / "driver.js")],
            env=env | {"NODE_PATH": str(TOOLS)}, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=self._stderr, text=True, bufsize=1, start_new_session=True)
        self._answers: queue.Queue = queue.Queue()
        self._next = 0
        threading.Thread(target=self._read, name="driver-reader", daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            try:
                self._answers.put(json.loads(line))
            except ValueError:
                self._answers.put({"id": None, "ok": False, "error": f"bad line from driver: {line!r}"})
        self._answers.put(None)

    def call(self, op: str, timeout: float | None = None, **params: Any) -> Any:
        """Run one driver op; raises `DriverError` with the driver's message on failure.

        ``timeout`` (seconds) bounds the op inside the driver; the answer is awaited a
        little longer, so a stuck driver fails the test too.
        """
        self._next += 1
        request = {"id": self._next, "op": op, **params}
        if timeout is not None:
            request["timeout"] = int(timeout * 1000)
        timeout = (timeout or 30) + 10
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        deadline = time.monotonic() + timeout
        while True:
            try:
                answer = self._answers.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                raise DriverError(f"driver op {op} gave no answer in {timeout} s") from None
            if answer is None:
                raise DriverError(f"driver exited:\n{self.log_path.read_text(errors='replace')[-2000:]}")
            if answer.get("id") == self._next:
                break
        if not answer["ok"]:
            raise DriverError(f"{op}: {answer['error']}")
        return answer["result"]

    def close(self) -> None:
        if self.process.poll() is None:
            try:
                self.call("close", timeout=10)
            except (DriverError, OSError):
                pass
            self.process.stdin.close()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, 9)
                self.process.wait()
        self._stderr.close()
