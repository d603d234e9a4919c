"""Run ``metalnet serve`` as a real subprocess on a free loopback port.

    with running_server(tmp_path) as url:            # SQLite under tmp_path/state
        httpx.get(url + "/v2.0/networks")
    with running_server(tmp_path, "--db", pg_url) as url:
        ...

The server is started with the venv's own ``metalnet`` entry point (so what is
tested is the installed command), waited for until ``GET /`` answers, and
stopped with SIGTERM to its own pid (SIGKILL only if it has not exited after a
grace period). Its output goes to ``tmp_path/serve-<port>.log``, which is
quoted in the error when it fails to start.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

METALNET = Path(sys.executable).with_name("metalnet")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve_argv(port: int, state_dir: Path, *extra_args: str) -> list[str]:
    """The command line of ``metalnet serve`` on ``127.0.0.1:port`` with ``state_dir``."""
    return [str(METALNET), "serve", "--listen", f"127.0.0.1:{port}",
            "--state-dir", str(state_dir), *extra_args]


def stop_process(
    process: subprocess.Popen[bytes], sig: int = signal.SIGTERM, grace: float = 5.0
) -> int:
    """Signal one process by PID, wait, SIGKILL it after ``grace`` seconds; its exit status."""
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
    return process.returncode


class ServerError(RuntimeError):
    """``metalnet serve`` exited or did not answer in time; carries the log tail."""


@dataclass
class ServerProcess:
    """A started ``metalnet serve``: its base URL, process and log file."""

    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def log_tail(self, limit: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-limit:]
        except OSError:
            return ""

    def alive(self) -> bool:
        return self.process.poll() is None

    def wait_ready(
        self, timeout: float, get: Callable[..., httpx.Response] = httpx.get
    ) -> None:
        """Poll ``GET /`` with ``get`` (e.g. a client inside a namespace) until it answers 200.

        :raises ServerError: the process exited, or ``timeout`` seconds passed.
        """
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise ServerError(
                    f"metalnet serve exited with {self.process.returncode}:\n{self.log_tail()}"
                )
            try:
                if get(self.url + "/", timeout=1.0).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise ServerError(
                    f"metalnet serve did not answer in {timeout} s:\n{self.log_tail()}"
                )
            time.sleep(0.05)

    def stop(self, grace: float = 15.0, sig: int = signal.SIGTERM) -> int:
        """Send ``sig``, wait up to ``grace`` seconds, then SIGKILL; the exit status."""
        return stop_process(self.process, sig, grace)


def start_server(
    workdir: Path, *extra_args: str, ready_timeout: float = 30.0, env: dict[str, str] | None = None
) -> ServerProcess:
    """Start ``metalnet serve`` with its state in ``workdir/state`` and wait until it answers.

    :param extra_args: more ``serve`` arguments, e.g. ``"--db", url``.
    :raises ServerError: it did not come up (the process is stopped first).
    """
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log_path = workdir / f"serve-{port}.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            serve_argv(port, workdir / "state", *extra_args), stdout=log,
            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env={**os.environ, **(env or {})},
        )
    server = ServerProcess(f"http://127.0.0.1:{port}", process, log_path)
    try:
        server.wait_ready(ready_timeout)
    except BaseException:
        server.stop()
        raise
    return server


@contextlib.contextmanager
def running_server(workdir: Path, *extra_args: str, ready_timeout: float = 30.0) -> Iterator[str]:
    """``metalnet serve`` for the duration of the block; yields its base URL.

    On leaving, the server is stopped by SIGTERM and must exit 0 (a clean stop is
    part of the CLI contract), unless the block itself raised.
    """
    server = start_server(workdir, *extra_args, ready_timeout=ready_timeout)
    failed = False
    try:
        yield server.url
    except BaseException:
        failed = True
        raise
    finally:
        status = server.stop()
        if not failed and status != 0:
            raise ServerError(
                f"metalnet serve exited with {status} on SIGTERM:\n{server.log_tail()}"
            )
