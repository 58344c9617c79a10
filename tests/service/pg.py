"""A real, throwaway PostgreSQL server for tests: initdb into a temp folder, start on a free port.

Why a real server: the point of these tests is that the same migrations and queries run on
PostgreSQL (ON CONFLICT, row locks, JSON, clock), which no fake can show. The Debian `postgresql`
package provides the binaries; `.ci/run` installs it. PostgreSQL refuses to run as root, so when
the tests run as root the server runs as the `postgres` user (``runuser``) on a data folder it owns.

`PgServer.start()` raises `PgUnavailable` with the reason when it truly cannot start (no binaries,
no non-root user); the fixture turns that into a skip that says so.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path

__all__ = ["PgServer", "PgUnavailable", "find_pg_bin"]


class PgUnavailable(RuntimeError):
    """PostgreSQL cannot be started here (the message says why)."""


def find_pg_bin() -> Path | None:
    """The newest `/usr/lib/postgresql/<ver>/bin` with initdb, else initdb's folder on PATH."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parent.parent.name))
    if candidates:
        return Path(candidates[-1]).parent
    found = shutil.which("initdb")
    return Path(found).resolve().parent if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PgServer:
    """One PostgreSQL cluster; `url(dbname)` creates databases on demand."""

    def __init__(self) -> None:
        self.bin: Path | None = None
        self.root: Path | None = None
        self.port = 0
        self.user = "errorsift"
        self._as: list[str] = []

    def _run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*self._as, *args], capture_output=True, text=True, timeout=timeout, check=False)

    def start(self) -> PgServer:
        self.bin = find_pg_bin()
        if self.bin is None:
            raise PgUnavailable("PostgreSQL binaries not found (apt-get install -y postgresql)")
        self.root = Path(tempfile.mkdtemp(prefix="errorsift-pg-"))
        if os.geteuid() == 0:
            try:
                import pwd

                pw = pwd.getpwnam("postgres")
            except KeyError:
                raise PgUnavailable("running as root and there is no `postgres` user to run the server") from None
            os.chown(self.root, pw.pw_uid, pw.pw_gid)
            runuser = shutil.which("runuser")
            if runuser is None:
                raise PgUnavailable("running as root and `runuser` is missing")
            self._as = [runuser, "-u", "postgres", "--"]
        data = self.root / "data"
        init = self._run(
            str(self.bin / "initdb"), "-D", str(data), "-U", self.user, "-A", "trust", "-E", "UTF8", "--no-sync"
        )
        if init.returncode != 0:
            raise PgUnavailable(f"initdb failed: {init.stderr.strip()[-500:]}")
        self.port = _free_port()
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=100"
        )
        started = self._run(
            str(self.bin / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(self.root / "log"), "-w", "start"
        )
        if started.returncode != 0:
            log = (self.root / "log").read_text(errors="replace")[-800:] if (self.root / "log").exists() else ""
            raise PgUnavailable(f"pg_ctl start failed: {started.stderr.strip()[-300:]} {log}")
        return self

    def url(self, dbname: str | None = None) -> str:
        """A fresh database on this server, as a SQLAlchemy URL errorsift accepts with --db."""
        import psycopg

        name = dbname or f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(f"host=127.0.0.1 port={self.port} user={self.user} dbname=postgres", autocommit=True) as c:
            c.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        if self.bin is not None and self.root is not None and (self.root / "data").exists():
            with contextlib.suppress(Exception):
                self._run(str(self.bin / "pg_ctl"), "-D", str(self.root / "data"), "-m", "immediate", "stop")
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)
