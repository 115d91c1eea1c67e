"""A throwaway PostgreSQL 15 + PostGIS 3 cluster for the tests (Debian's postgresql-15-postgis-3).

initdb refuses to run as root, so the cluster belongs to the `postgres` user (runuser) when the
tests run as root; it listens on 127.0.0.1 only, on a free port, lives in a temporary folder with
fsync off, and is stopped and removed at the end of the session. Authentication is `trust` on
127.0.0.1: the tests connect as any role they create (commune roles for the row-level security
tests) without a password, so no password is ever written anywhere.
"""

from __future__ import annotations

import itertools
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

BIN = Path("/usr/lib/postgresql/15/bin")
POSTGIS_CONTROL = Path("/usr/share/postgresql/15/extension/postgis.control")


def missing() -> str | None:
    """Why no cluster can start here, or None."""
    if not (BIN / "initdb").exists():
        return "PostgreSQL 15 is not installed (.ci/setup --test installs postgresql-15-postgis-3)"
    if not POSTGIS_CONTROL.exists():
        return "PostGIS 3 is not installed (.ci/setup --test installs postgresql-15-postgis-3)"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="hatang-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self._names = itertools.count(1)
        self._as_postgres = os.geteuid() == 0
        self.superuser = "postgres"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        cmd = [str(a) for a in args]
        if self._as_postgres:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        return subprocess.run(cmd, capture_output=True, text=True, check=check, timeout=120)

    def start(self) -> Cluster:
        if self._as_postgres:
            shutil.chown(self.root, "postgres", "postgres")
        self._run(BIN / "initdb", "-D", self.data, "-U", self.superuser, "--auth=trust",
                  "--encoding=UTF8", "--locale=C.UTF-8")
        conf = "\n".join([
            "listen_addresses = '127.0.0.1'", f"port = {self.port}",
            f"unix_socket_directories = '{self.root}'",
            "fsync = off", "synchronous_commit = off", "full_page_writes = off",
            "max_connections = 200", "shared_buffers = 128MB", "log_min_messages = warning",
        ])
        with open(self.data / "postgresql.conf", "a", encoding="utf-8") as f:
            f.write("\n" + conf + "\n")
        started = self._run(BIN / "pg_ctl", "-D", self.data, "-l", self.root / "log", "-w", "-t", "60", "start",
                            check=False)
        if started.returncode != 0:
            log = (self.root / "log").read_text(errors="replace") if (self.root / "log").exists() else ""
            raise RuntimeError(f"PostgreSQL did not start: {started.stderr}\n{log[-2000:]}")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        return self

    def stop(self) -> None:
        self._run(BIN / "pg_ctl", "-D", self.data, "-m", "immediate", "-w", "stop", check=False)
        shutil.rmtree(self.root, ignore_errors=True)

    def url(self, dbname: str = "postgres", user: str | None = None) -> str:
        return f"postgresql://{user or self.superuser}@127.0.0.1:{self.port}/{dbname}"

    def sql(self, statement: str, dbname: str = "postgres") -> str:
        """Run SQL as the superuser with psql (the way an administrator would)."""
        done = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1",
                               "-p", str(self.port), "-U", self.superuser, "-d", dbname, "-c", statement],
                              capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(done.stderr)
        return done.stdout

    def new_database(self, prefix: str = "hatang") -> str:
        """An empty database (PostGIS available, not yet created in it); its URL."""
        name = f"{prefix}_{next(self._names)}"
        self.sql(f'CREATE DATABASE "{name}"')
        return self.url(name)


def copy_database(cluster: Cluster, template_url: str, prefix: str = "copy") -> str:
    """A new database that is a copy of `template_url`'s (PostgreSQL copies the files: fast)."""
    name = f"{prefix}_{next(cluster._names)}"
    template = template_url.rsplit("/", 1)[1]
    cluster.sql(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    return cluster.url(name)
