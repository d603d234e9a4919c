"""A throw-away PostgreSQL server for tests and benchmarks (Debian's postgresql).

The cluster lives in a temporary directory owned by the ``postgres`` user,
listens on 127.0.0.1 on a free port, and is stopped by its own pid file.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

from tests.support.server import free_port


def _bin_dir() -> Path | None:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return Path(candidates[-1]).parent if candidates else None


def available() -> bool:
    """Whether a server can be started here (binaries present, running as root)."""
    return _bin_dir() is not None and os.geteuid() == 0 and shutil.which("runuser") is not None


class TempPostgres:
    """Start with :meth:`start`, stop with :meth:`stop`; :meth:`create_database` gives URLs."""

    def __init__(self) -> None:
        bin_dir = _bin_dir()
        if bin_dir is None:
            raise RuntimeError("PostgreSQL binaries are not installed")
        self.bin = bin_dir
        self.root = Path(tempfile.mkdtemp(prefix="metalnet-pg-"))
        self.data = self.root / "data"
        self.port = free_port()

    def _as_postgres(self, *args: str) -> None:
        subprocess.run(["runuser", "-u", "postgres", "--", *args], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=120)

    def start(self) -> TempPostgres:
        """initdb and start the server; returns self."""
        shutil.chown(self.root, "postgres", "postgres")
        self._as_postgres(str(self.bin / "initdb"), "-D", str(self.data), "-A", "trust",
                          "-U", "postgres", "--no-sync")
        options = (f"-k {self.root} -p {self.port} -c listen_addresses=127.0.0.1 "
                   "-c max_connections=200 -c shared_buffers=128MB")
        self._as_postgres(str(self.bin / "pg_ctl"), "-D", str(self.data), "-o", options,
                          "-l", str(self.root / "log"), "-w", "start")
        return self

    def create_database(self, template: str | None = None) -> str:
        """A new empty database (optionally copied from ``template``); its URL."""
        name = "t_" + uuid.uuid4().hex[:12]
        clause = f" TEMPLATE {template}" if template else ""
        self.psql(f"CREATE DATABASE {name}{clause}")
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"

    def psql(self, sql: str) -> None:
        """Run one statement on the maintenance database."""
        subprocess.run([str(self.bin / "psql"), "-h", "127.0.0.1", "-p", str(self.port),
                        "-U", "postgres", "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-qc", sql],
                       check=True, stdout=subprocess.DEVNULL, timeout=60)

    def stop(self) -> None:
        """Stop the server (by its pid file) and delete its files."""
        if (self.data / "postmaster.pid").exists():
            self._as_postgres(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast",
                              "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)
