from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"


@pytest.fixture
def data_dir() -> Path:
    """Small samples shipped with the tests (a few hundred KB at most)."""
    return DATA
