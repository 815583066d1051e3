"""A throwaway PostgreSQL server for the store's tests: initdb + pg_ctl in a temporary directory,
on a loopback port, stopped and removed at the end of the session.

It uses Debian's PostgreSQL (``apt-get install postgresql``: binaries under
``/usr/lib/postgresql/<version>/bin``). PostgreSQL refuses to run as root, so under root the
server runs as ``nobody`` (through ``runuser``). Nothing here skips: when the server cannot start,
the tests that need it fail with the reason and the server's log.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path


def binary(name: str) -> str:
    """The newest installed PostgreSQL's ``name`` (Debian keeps them off PATH), else PATH's."""
    found = sorted(
        Path("/usr/lib/postgresql").glob(f"*/bin/{name}"),
        key=lambda p: int(p.parts[-3]) if p.parts[-3].isdigit() else 0,
    )
    if found:
        return str(found[-1])
    on_path = shutil.which(name)
    if on_path:
        return on_path
    raise RuntimeError(
        f"PostgreSQL's {name} was not found (looked in /usr/lib/postgresql/*/bin and on PATH): "
        "install Debian's postgresql package (apt-get install -y postgresql)"
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PostgresServer:
    """``start()``, then ``create_database()`` for each fresh store, then ``stop()``."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="twibox-pg-"))
        self.data = self.dir / "data"
        self.log = self.dir / "server.log"
        self.as_user = "nobody" if os.geteuid() == 0 else None
        if self.as_user:
            entry = pwd.getpwnam(self.as_user)
            os.chown(self.dir, entry.pw_uid, entry.pw_gid)
        self.port = 0
        self.started = False

    def _run(self, *command: str) -> None:
        prefix = ["runuser", "-u", self.as_user, "--"] if self.as_user else []
        result = subprocess.run([*prefix, *command], capture_output=True, text=True, timeout=180, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed ({result.returncode}): {result.stderr or result.stdout}")

    def start(self) -> None:
        self._run(binary("initdb"), "-D", str(self.data), "-A", "trust", "-U", "twibox", "-E", "UTF8",
                  "--locale=C", "--no-sync")  # fmt: skip
        for _attempt in range(3):  # a free port can be taken between the probe and the start
            self.port = free_port()
            options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c max_connections=200"
            try:
                self._run(binary("pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60",
                          "-o", options, "start")  # fmt: skip
            except RuntimeError:
                if "could not bind" in self.log_text():
                    continue
                raise
            self.started = True
            return
        raise RuntimeError("no free loopback port for PostgreSQL after 3 attempts")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://twibox@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        """A new, empty database; its URL."""
        import psycopg

        name = "t_" + uuid.uuid4().hex[:12]
        with psycopg.connect(self.url(), autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def log_text(self) -> str:
        try:
            return self.log.read_text(errors="replace")
        except OSError:
            return ""

    def stop(self) -> None:
        try:
            if self.started:
                self._run(binary("pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)
