"""How the lab stops the processes it started."""

from __future__ import annotations

import os
import subprocess

import pytest

from metalnet.cli import lab


def test_stopping_a_child_reaps_it() -> None:
    """A child that exits on SIGTERM is reaped, not waited on as a zombie until the
    grace period ends and then killed."""
    child = subprocess.Popen(["sleep", "60"])
    lab._stop_pid(child.pid, grace=30)
    with pytest.raises(ChildProcessError):
        os.waitpid(child.pid, os.WNOHANG)
    child.returncode = -15  # reaped above; keeps Popen from waiting again
