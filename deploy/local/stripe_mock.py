"""stripe-mock, built from the Go module proxy with ``go install``, serving HTTP on 127.0.0.1."""

from __future__ import annotations

import shutil
import time
import urllib.error
import urllib.request
from pathlib import Path

from deploy.local import procs
from deploy.local.component import ComponentStatus
from deploy.local.errors import StackError

STRIPE_MOCK_VERSION = "v0.203.0"


class StripeMock:
    name = "stripe-mock"

    def __init__(self, *, cache_dir: Path, data_dir: Path, port: int, https_port: int) -> None:
        self.bin_dir = cache_dir.resolve() / "bin"
        self.binary = self.bin_dir / f"stripe-mock-{STRIPE_MOCK_VERSION}"
        self.home = data_dir.resolve() / "stripe-mock"
        self.port, self.https_port = port, https_port
        self.log_file = self.home / "stripe-mock.log"
        self.pid_file = self.home / "stripe-mock.pid"

    def install(self) -> None:
        if self.binary.exists():
            return
        if not shutil.which("go"):
            raise StackError("Go not found: install Go 1.22+ to build stripe-mock (`go install`)")
        gobin = self.bin_dir / "gobin"
        procs.run_checked(
            ["go", "install", f"github.com/stripe/stripe-mock@{STRIPE_MOCK_VERSION}"],
            "building stripe-mock with go install",
            "check that the Go module proxy is reachable, then run `meterline stack install` again",
            env={"GOBIN": str(gobin), "CGO_ENABLED": "0"},
        )
        (gobin / "stripe-mock").rename(self.binary)

    def start(self, timeout: float) -> None:
        if procs.read_pid(self.pid_file) is not None and self.ready():
            return
        if not self.binary.exists():
            raise StackError("stripe-mock is not built: run `meterline stack install` first")
        procs.stop(self.pid_file)
        procs.ensure_port_free(self.port, "stripe-mock", "METERLINE_LOCAL_STRIPE_MOCK_PORT")
        procs.ensure_port_free(self.https_port, "stripe-mock (https)", "METERLINE_LOCAL_STRIPE_MOCK_HTTPS_PORT")
        self.home.mkdir(parents=True, exist_ok=True)
        procs.spawn(
            [str(self.binary), "-http-addr", f"127.0.0.1:{self.port}", "-https-addr", f"127.0.0.1:{self.https_port}"],
            self.log_file,
            self.pid_file,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if procs.read_pid(self.pid_file) is None:
                raise StackError(f"stripe-mock exited during start-up:\n{procs.tail(self.log_file)}")
            if self.ready():
                return
            time.sleep(0.2)
        procs.stop(self.pid_file)
        raise StackError(f"stripe-mock did not answer within {timeout:.0f}s:\n{procs.tail(self.log_file)}")

    def ready(self) -> bool:
        """A real API call with the test key."""
        req = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/v1/customers?limit=1", headers={"Authorization": "Bearer sk_test_123"}
        )
        try:
            with urllib.request.urlopen(req, timeout=2) as resp:
                return bool(resp.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def stop(self) -> bool:
        return procs.stop(self.pid_file)

    def status(self) -> ComponentStatus:
        pid = procs.read_pid(self.pid_file)
        running = pid is not None and procs.port_open(self.port)
        return ComponentStatus(
            self.name, running, pid, f"http://127.0.0.1:{self.port}", f"stripe-mock {STRIPE_MOCK_VERSION}"
        )
