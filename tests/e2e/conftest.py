"""Fixtures of the QEMU end-to-end tests: the (cached) boot images, skips, and timings."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.harness import PxeLab, build_images, missing_tools


@pytest.fixture(scope="session")
def images() -> Path:
    """vmlinuz, discovery.img and target.img, built once (cached: build-discovery-image.sh)."""
    if os.geteuid() != 0:
        pytest.skip("the QEMU e2e tests need root (namespaces, taps)")
    missing = missing_tools()
    if missing:
        pytest.skip(f"missing {', '.join(missing)} (scripts/install-system-deps.sh)")
    return build_images()


@pytest.fixture
def pxe_lab(tmp_path: Path, images: Path) -> Iterator[PxeLab]:
    with PxeLab(tmp_path, images) as lab:
        yield lab
