"""Fixtures shared by the integration tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.boot_fixtures import BootTree, make_boot_tree


@pytest.fixture
def tree(tmp_path: Path) -> BootTree:
    """A boot directory with files of known content (see :func:`make_boot_tree`)."""
    return make_boot_tree(tmp_path)
