"""Runs the atheris fuzz target for the DHCPv4 codec briefly, as a smoke test."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

TARGET = Path(__file__).parents[2] / "fuzz" / "fuzz_dhcp4.py"


@pytest.mark.skipif(importlib.util.find_spec("atheris") is None, reason="atheris not installed")
def test_fuzz_dhcp4_briefly() -> None:
    result = subprocess.run(
        [sys.executable, str(TARGET), "-runs=20000", "-max_total_time=20"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).parents[3],
    )
    assert result.returncode == 0, result.stderr[-4000:]
    assert "Done 20000 runs" in result.stderr or "DONE" in result.stderr
