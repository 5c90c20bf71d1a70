"""Start and stop the real `argus` binary for integration tests.

Each server gets a free loopback port and its own temporary data dir, and
root credentials passed through the environment. `kill()` sends SIGKILL
(crash tests); `start()` again reuses the same data dir (restart tests).
"""

import json
import os
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ACCESS_KEY = "AKIAARGUSTESTKEY0001"
SECRET_KEY = "argus/test/secret/key/0123456789abcdefghij"
REGION = "us-east-1"


def binary() -> str:
    path = os.environ.get("ARGUS_BIN", str(REPO / "target" / "release" / "argus"))
    if not Path(path).exists():
        raise RuntimeError(f"argus binary not found at {path}; run `cargo build --release` or set ARGUS_BIN")
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ArgusServer:
    def __init__(self, data_dir=None, extra_args=(), env=None, root_credentials=True, location_flags=True):
        """`root_credentials=False` starts without ARGUS_ROOT_* so the server
        uses (or generates) the pair kept in the data dir;
        `location_flags=False` leaves out `--listen` and `--data-dir` (the test
        passes them through the environment or a config file instead)."""
        self._tmp = None
        if data_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="argus-test-")
            data_dir = self._tmp.name
        self.data_dir = Path(data_dir)
        self.port = free_port()
        self.extra_args = list(extra_args)
        self.extra_env = dict(env or {})
        self.root_credentials = root_credentials
        self.location_flags = location_flags
        self.process = None
        self.log_path = self.data_dir.parent / f"{self.data_dir.name}.server.log"

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict:
        env = {key: value for key, value in os.environ.items() if not key.startswith("ARGUS_")}
        env["ARGUS_LOG"] = os.environ.get("ARGUS_TEST_LOG", "info")
        if self.root_credentials:
            env["ARGUS_ROOT_ACCESS_KEY_ID"] = ACCESS_KEY
            env["ARGUS_ROOT_SECRET_ACCESS_KEY"] = SECRET_KEY
        env.update(self.extra_env)
        return env

    def start(self, wait=True):
        location = ["--listen", f"127.0.0.1:{self.port}", "--data-dir", str(self.data_dir)] if self.location_flags else []
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [binary(), "serve", *location, *self.extra_args],
                env=self.env(),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        if wait:
            self.wait_ready()
        return self

    def health(self):
        try:
            with urllib.request.urlopen(f"{self.endpoint}/_argus/health", timeout=2) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"{}")
        except OSError:
            return None, None

    def wait_ready(self, timeout=30.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"argus exited with {self.process.returncode}; log:\n{self.log()}")
            status, _ = self.health()
            if status == 200:
                return
            time.sleep(0.05)
        raise RuntimeError(f"argus did not become ready in {timeout}s; log:\n{self.log()}")

    def stop(self, timeout=30.0) -> int:
        """SIGTERM and wait: a graceful shutdown. Returns the exit code."""
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else 0
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise

    def interrupt(self, timeout=30.0) -> int:
        """SIGINT (Ctrl-C) and wait. Returns the exit code."""
        self.process.send_signal(signal.SIGINT)
        return self.process.wait(timeout=timeout)

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self):
        """SIGKILL: a crash."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def restart(self):
        self.stop()
        self.port = free_port()
        return self.start()

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-20000:]
        except OSError:
            return ""

    def advance_clock(self, millis: int):
        """Moves the product clock forward (server started with --test-clock)."""
        request = urllib.request.Request(f"{self.endpoint}/_argus/clock?advance_ms={millis}", method="POST")
        with urllib.request.urlopen(request, timeout=5) as response:
            return json.loads(response.read())

    def flush(self):
        """`POST /_argus/flush`: every in-memory buffer written to segment files."""
        return self._post("/_argus/flush")

    def compact(self):
        """`POST /_argus/compact`: one maintenance pass now (retention, space
        of deleted streams, every day's files merged into their final form)."""
        return self._post("/_argus/compact")

    def _post(self, path):
        request = urllib.request.Request(f"{self.endpoint}{path}", method="POST")
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.loads(response.read())

    def close(self):
        self.kill()
        if self._tmp is not None:
            try:
                self.log_path.unlink()
            except OSError:
                pass
            self._tmp.cleanup()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()
