"""Shared fixtures: generated images (no files in the repository), tiny doodle settings,
and the CLI binary for the parity tests."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from stylemark import samples

#: Doodle settings small enough for CI: one phase of a few evaluations.
TINY_DOODLE = dict(method="optimize", phases=1, iterations=4, random_seed=7)


@pytest.fixture(scope="session")
def photo() -> np.ndarray:
    """A 320x256 generated photo (RGB)."""
    return samples.photo(320, 256, seed=11)


@pytest.fixture(scope="session")
def scene() -> dict:
    """The demo scene at 48x40: style, style_map, doodle."""
    return samples.demo_scene(48, 40, seed=2)


@pytest.fixture(scope="session")
def cli() -> str:
    """The `stylemark` binary built by the workspace (STYLEMARK_CLI, set by
    scripts/test-all; else target/debug/stylemark or PATH)."""
    candidates = [
        os.environ.get("STYLEMARK_CLI"),
        str(Path(os.environ.get("CARGO_TARGET_DIR", Path(__file__).parents[2] / "target")) / "debug" / "stylemark"),
        shutil.which("stylemark"),
    ]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return candidate
    pytest.fail("the stylemark CLI is not built: run `cargo build --workspace` or set STYLEMARK_CLI")
