"""Shared test fixtures."""

from pathlib import Path

import pytest

# plain asserts in the conformance kit report values, as in test modules
pytest.register_assert_rewrite("imfun.testing")

SHARED_DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The folder of real sample files (``<repo>/../shared/data``); skips the test when absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"the shared sample data folder {SHARED_DATA} is not available")
    return SHARED_DATA
