"""The local SMTP server (aiosmtpd) of the stack: it accepts every notice the billing API sends and keeps it
as a file in a Maildir (``var/smtp/maildir/new/``), where the demo and the tests read it
(docs/notifications.md). Nothing leaves the machine.

``python -m deploy.local.smtp --maildir DIR --port N`` runs the server; ``SmtpSink`` is the stack component.
"""

from __future__ import annotations

import argparse
import email
import email.policy
import mailbox
import signal
import smtplib
import sys
import threading
import time
from collections.abc import Sequence
from email.message import EmailMessage
from pathlib import Path

from deploy.local import procs
from deploy.local.component import ComponentStatus
from deploy.local.errors import StackError


def messages(maildir: Path) -> list[EmailMessage]:
    """Every message the server kept, oldest first (by delivery time)."""
    if not (maildir / "new").is_dir():
        return []
    files = sorted((maildir / "new").iterdir(), key=lambda p: (p.stat().st_mtime_ns, p.name))
    return [email.message_from_bytes(p.read_bytes(), policy=email.policy.default) for p in files]  # type: ignore[misc]


class SmtpSink:
    name = "smtp"

    def __init__(self, *, data_dir: Path, port: int) -> None:
        self.home = data_dir.resolve() / "smtp"
        self.maildir = self.home / "maildir"
        self.port = port
        self.log_file = self.home / "smtp.log"
        self.pid_file = self.home / "smtp.pid"

    def install(self) -> None:
        """aiosmtpd is a Python dependency: nothing to fetch."""

    def start(self, timeout: float) -> None:
        if procs.read_pid(self.pid_file) is not None and self.ready():
            return
        procs.stop(self.pid_file)
        procs.ensure_port_free(self.port, "the SMTP server", "METERLINE_SMTP_PORT")
        self.home.mkdir(parents=True, exist_ok=True)
        argv = [sys.executable, "-m", "deploy.local.smtp", "--maildir", str(self.maildir), "--port", str(self.port)]
        procs.spawn(argv, self.log_file, self.pid_file)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if procs.read_pid(self.pid_file) is None:
                raise StackError(f"the SMTP server exited during start-up:\n{procs.tail(self.log_file)}")
            if self.ready():
                return
            time.sleep(0.1)
        procs.stop(self.pid_file)
        raise StackError(f"the SMTP server did not answer within {timeout:.0f}s:\n{procs.tail(self.log_file)}")

    def ready(self) -> bool:
        """A real SMTP conversation (EHLO, NOOP)."""
        try:
            with smtplib.SMTP("127.0.0.1", self.port, timeout=2) as client:
                return client.noop()[0] == 250
        except (OSError, smtplib.SMTPException):
            return False

    def stop(self) -> bool:
        return procs.stop(self.pid_file)

    def status(self) -> ComponentStatus:
        pid = procs.read_pid(self.pid_file)
        running = pid is not None and procs.port_open(self.port)
        detail = f"aiosmtpd, messages in {self.maildir}"
        return ComponentStatus(self.name, running, pid, f"smtp://127.0.0.1:{self.port}", detail)


def serve(maildir: Path, port: int) -> None:
    """Serve until SIGTERM or SIGINT."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Mailbox

    maildir.parent.mkdir(parents=True, exist_ok=True)
    mailbox.Maildir(maildir, create=True)
    controller = Controller(Mailbox(maildir), hostname="127.0.0.1", port=port)
    done = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: done.set())
    controller.start()
    print(f"SMTP on 127.0.0.1:{port}, messages in {maildir}", flush=True)
    try:
        done.wait()
    finally:
        controller.stop()


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m deploy.local.smtp", description="The local stack's SMTP server.")
    p.add_argument("--maildir", type=Path, required=True, help="where messages are kept (a Maildir)")
    p.add_argument("--port", type=int, default=8025, help="port on 127.0.0.1 (default 8025)")
    args = p.parse_args(argv)
    serve(args.maildir, args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
