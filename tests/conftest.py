"""Shared pytest fixtures: a seeded RNG and the location of the shared real-data folder."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

# CI lays shared/ beside the clone; a user's clone has none, and tests that need it skip.
SHARED_DATA = Path(
    os.environ.get("UNISCALE_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")
)


@pytest.fixture
def rng() -> np.random.Generator:
    """A numpy Generator with a fixed seed, fresh for every test."""
    return np.random.default_rng(20261203)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The folder of real outcome data and benchmarks; skips the test when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data folder not found at {SHARED_DATA} (absent in a user's clone)")
    return SHARED_DATA
