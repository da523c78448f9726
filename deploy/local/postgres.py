"""A throwaway PostgreSQL server from Debian's packages, for the billing store's tests and local runs.

Debian's server refuses to run as root, and CI runs as root: as root the cluster belongs to the
``postgres`` system user the package creates and ``initdb``/``postgres`` run as that user; otherwise
they run as the caller. The server listens on 127.0.0.1 only (password auth; its unix socket sits in
a directory only its owner can enter) and trades durability for speed (``fsync=off``): never keep
data that matters in it.

    python -m deploy.local.postgres up      # prints the SQLAlchemy URL (METERLINE_API_DATABASE_URL)
    python -m deploy.local.postgres down
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import json
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from deploy.local import procs
from deploy.local.component import ComponentStatus
from deploy.local.errors import StackError

RUN_AS = "postgres"  # the system user Debian's package creates
ROLE = "meterline"
DATABASE = "meterline"
DEFAULT_PORT = 5433  # next to a system cluster's 5432
NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
# Speed over durability: a test cluster is thrown away, and CREATE DATABASE per test must be quick.
FAST = ("fsync=off", "synchronous_commit=off", "full_page_writes=off", "wal_level=minimal", "max_wal_senders=0")
INSTALL_FIX = (
    "install Debian's PostgreSQL server as root (`apt-get install postgresql`), "
    "or leave PostgreSQL out of the tests (`pytest -k 'not postgresql'`)"
)


def server_bin_dir() -> Path | None:
    """The newest Debian server (``/usr/lib/postgresql/<major>/bin``), else ``postgres`` on the PATH."""
    debian = [Path(p) for p in glob.glob("/usr/lib/postgresql/*/bin") if _has_server(Path(p))]
    if debian:
        return max(debian, key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0)
    found = shutil.which("postgres")
    if found and _has_server(Path(found).resolve().parent):
        return Path(found).resolve().parent
    return None


def _has_server(bin_dir: Path) -> bool:
    return (bin_dir / "postgres").is_file() and (bin_dir / "initdb").is_file()


def install_server() -> Path:
    """The server's bin directory, installed with apt-get (as root) when missing; fast when present."""
    found = server_bin_dir()
    if found is not None:
        return found
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise StackError(f"PostgreSQL server not found (no /usr/lib/postgresql/*/bin/postgres): {INSTALL_FIX}")
    env = {"DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "postgresql"]
    try:
        procs.run_checked(install, "apt-get install postgresql", INSTALL_FIX, env=env)
    except StackError:  # a fresh image may have no package lists yet
        procs.run_checked(["apt-get", "update", "-qq"], "apt-get update", INSTALL_FIX, env=env)
        procs.run_checked(install, "apt-get install postgresql", INSTALL_FIX, env=env)
    found = server_bin_dir()
    if found is None:
        raise StackError(f"apt-get installed postgresql but no server is in /usr/lib/postgresql: {INSTALL_FIX}")
    return found


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PostgresServer:
    """One cluster in ``home`` (``data/``, ``run/`` for the socket, log, pid, and ``server.json`` with
    the port and password). ``port=0`` picks a free port at start."""

    name = "postgres"

    def __init__(self, home: Path, port: int = DEFAULT_PORT) -> None:
        self.home = home.resolve()
        self.data = self.home / "data"
        self.run_dir = self.home / "run"
        self.log_file = self.home / "postgres.log"
        self.pid_file = self.home / "postgres.pid"
        self.state_file = self.home / "server.json"
        self.requested_port = port

    # -- state -------------------------------------------------------------------------------------

    def _state(self) -> dict[str, Any]:
        try:
            state: dict[str, Any] = json.loads(self.state_file.read_text())
        except (OSError, ValueError):
            return {}
        return state

    def _save_state(self, **values: Any) -> None:
        merged = {**self._state(), **values}
        self.home.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.state_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # holds the password
        with os.fdopen(fd, "w") as f:
            json.dump(merged, f)

    @property
    def port(self) -> int:
        return int(self._state().get("port") or self.requested_port)

    def url(self, database: str = DATABASE) -> str:
        """The SQLAlchemy URL of ``database`` (``METERLINE_API_DATABASE_URL``)."""
        st = self._state()
        return f"postgresql+psycopg://{ROLE}:{st.get('password', '')}@127.0.0.1:{self.port}/{database}"

    def _conninfo(self, database: str) -> str:
        st = self._state()
        return (
            f"host=127.0.0.1 port={self.port} user={ROLE} password={st.get('password', '')} "
            f"dbname={database} connect_timeout=2"
        )

    # -- running as the cluster's owner -------------------------------------------------------------

    def _owner(self) -> dict[str, Any]:
        """Popen arguments that run a command as the cluster's owner (``postgres`` when we are root)."""
        if os.geteuid() != 0:
            return {}
        try:
            pw = pwd.getpwnam(RUN_AS)
        except KeyError as exc:
            raise StackError(
                f"PostgreSQL refuses to run as root and there is no {RUN_AS!r} user: {INSTALL_FIX}"
            ) from exc
        return {"user": pw.pw_uid, "group": pw.pw_gid, "extra_groups": []}

    def _prepare_dirs(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        for d in (self.data, self.run_dir):
            d.mkdir(mode=0o700, exist_ok=True)
        owner = self._owner()
        if not owner:
            return
        for parent in self.home.parents:
            st = parent.stat()
            if not st.st_mode & 0o001 and st.st_uid != owner["user"]:
                raise StackError(
                    f"the {RUN_AS} user cannot reach {self.home}: {parent} is closed to other users; "
                    "put the cluster elsewhere (e.g. --home under /tmp)"
                )
        # The owner must pass through home (root's mkdtemp makes it 0700) but may list or read nothing of it.
        self.home.chmod(self.home.stat().st_mode | 0o011)
        for d in (self.data, self.run_dir):
            os.chown(d, owner["user"], owner["group"])

    def _run(self, argv: Sequence[str], what: str) -> None:
        res = subprocess.run(list(argv), capture_output=True, text=True, cwd=self.home, timeout=300, **self._owner())
        if res.returncode != 0:
            out = "\n".join((res.stdout + res.stderr).strip().splitlines()[-15:])
            raise StackError(f"{what} failed (exit {res.returncode}):\n{out}")

    # -- Component ----------------------------------------------------------------------------------

    def install(self) -> None:
        install_server()

    def start(self, timeout: float = 60.0) -> None:
        """Create the cluster on first use, start it, wait for a real query; no-op when already up."""
        if procs.read_pid(self.pid_file) is not None and self.ready():
            return
        bin_dir = install_server()
        procs.stop(self.pid_file)
        self._prepare_dirs()
        if not (self.data / "PG_VERSION").exists():
            self._initdb(bin_dir)
        port = self.requested_port or self._state().get("port") or free_port()
        if self.requested_port == 0 and procs.port_open(int(port)):
            port = free_port()  # the port of the last run is taken now
        procs.ensure_port_free(int(port), "PostgreSQL", "--port")
        self._save_state(port=int(port))
        settings = [
            "listen_addresses=127.0.0.1",
            f"port={port}",
            f"unix_socket_directories={self.run_dir}",
            "timezone=UTC",
            *FAST,
        ]
        argv = [str(bin_dir / "postgres"), "-D", str(self.data)]
        for s in settings:
            argv += ["-c", s]
        self._spawn(argv)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if procs.read_pid(self.pid_file) is None:
                raise StackError(f"PostgreSQL exited during start-up:\n{procs.tail(self.log_file)}")
            if self.ready():
                self._ensure_database()
                return
            time.sleep(0.1)
        self.stop()
        raise StackError(f"PostgreSQL did not answer within {timeout:.0f}s:\n{procs.tail(self.log_file)}")

    def _initdb(self, bin_dir: Path) -> None:
        password = secrets.token_hex(16)
        pwfile = self.run_dir / "initdb.pw"  # readable by the owner only, gone after initdb
        fd = os.open(pwfile, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(password + "\n")
        owner = self._owner()
        if owner:
            os.chown(pwfile, owner["user"], owner["group"])
        try:
            self._run(
                [
                    str(bin_dir / "initdb"),
                    "-D",
                    str(self.data),
                    "-U",
                    ROLE,
                    f"--pwfile={pwfile}",
                    "--auth-local=trust",  # the socket directory is the owner's alone
                    "--auth-host=scram-sha-256",
                    "-E",
                    "UTF8",
                    "--locale=C",  # a fresh image may have no other locale
                    "--no-sync",
                ],
                "initdb",
            )
        finally:
            pwfile.unlink(missing_ok=True)
        self._save_state(password=password, created_database=False)

    def _spawn(self, argv: Sequence[str]) -> None:
        with open(self.log_file, "ab") as log:
            proc = subprocess.Popen(
                list(argv),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # survives the caller, like the rest of the stack
                cwd=self.data,
                **self._owner(),
            )
        self.pid_file.write_text(str(proc.pid))

    def ready(self) -> bool:
        """A real query."""
        try:
            with psycopg.connect(self._conninfo("postgres"), autocommit=True) as conn:
                conn.execute("SELECT 1")
        except psycopg.Error:
            return False
        return True

    def _ensure_database(self) -> None:
        """The default database, made once after initdb."""
        if self._state().get("created_database"):
            return
        with psycopg.connect(self._conninfo("postgres"), autocommit=True) as conn:
            if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)).fetchone() is None:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DATABASE)))
        self._save_state(created_database=True)

    def stop(self, timeout: float = 20.0) -> bool:
        """Fast shutdown (SIGINT: sessions are cut, not waited for); True if it was running."""
        pid = procs.read_pid(self.pid_file)
        if pid is None:
            self.pid_file.unlink(missing_ok=True)
            return False
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGINT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and procs.pid_alive(pid):
            with contextlib.suppress(ChildProcessError, OSError):
                os.waitpid(pid, os.WNOHANG)
            time.sleep(0.05)
        procs.stop(self.pid_file)  # SIGKILLs the group if it did not stop in time
        return True

    def destroy(self) -> None:
        """Stop it and delete the cluster."""
        self.stop()
        shutil.rmtree(self.home, ignore_errors=True)

    def status(self) -> ComponentStatus:
        pid = procs.read_pid(self.pid_file)
        return ComponentStatus(
            self.name, pid is not None and self.ready(), pid, f"127.0.0.1:{self.port}", f"data in {self.data}"
        )

    # -- databases ----------------------------------------------------------------------------------

    def create_database(self, name: str) -> str:
        """A new empty database; returns its SQLAlchemy URL."""
        ident = sql.Identifier(_checked(name))
        with psycopg.connect(self._conninfo("postgres"), autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(ident))
        return self.url(name)

    def drop_database(self, name: str) -> None:
        """Drop ``name``, cutting the sessions still open on it."""
        ident = sql.Identifier(_checked(name))
        with psycopg.connect(self._conninfo("postgres"), autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(ident))


def _checked(name: str) -> str:
    if not NAME.match(name):
        raise ValueError(f"database name {name!r}: lower-case letters, digits and _ only")
    return name


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m deploy.local.postgres", description=__doc__.split("\n\n")[0])
    p.add_argument("action", choices=["install", "up", "down", "status", "url", "destroy"])
    p.add_argument("--home", type=Path, help="cluster directory (default <METERLINE_DATA_DIR>/postgres)")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"0: a free port (default {DEFAULT_PORT})")
    p.add_argument("--database", default=DATABASE, help="database of the printed URL")
    args = p.parse_args(argv)
    if args.home is None:
        from streams.settings import load_settings

        args.home = load_settings().data_dir / "postgres"
    server = PostgresServer(args.home, args.port)
    try:
        if args.action == "install":
            try:
                print(f"postgres: server binaries in {install_server()}", file=sys.stderr)
            except StackError as exc:
                if os.geteuid() == 0:
                    raise
                # Without root nothing can be installed: `make test` goes on, its PostgreSQL tests say the fix.
                print(f"postgres: warning: {exc}", file=sys.stderr)
        elif args.action == "up":
            server.start()
            print(server.url(args.database))
        elif args.action == "down":
            print("postgres: stopped" if server.stop() else "postgres: was not running", file=sys.stderr)
        elif args.action == "destroy":
            server.destroy()
        elif args.action == "url":
            print(server.url(args.database))
        else:
            st = server.status()
            print(f"postgres: {'running' if st.running else 'stopped'} {st.address} pid={st.pid or '-'} {st.detail}")
            return 0 if st.running else 1
    except StackError as exc:
        print(f"postgres: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
