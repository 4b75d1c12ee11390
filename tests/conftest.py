"""Shared fixtures: the real open datasets beside the project, and cache isolation."""

from __future__ import annotations

from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data, or a clean skip where it is absent (it is never copied into the project)."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real datasets not found at {SHARED_DATA}; they live beside the project in ../shared/data")
    return SHARED_DATA


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Every test gets its own cache dir, and in-process caches are cleared."""
    cache = tmp_path_factory.mktemp("asm-cache")
    monkeypatch.setenv("ASM_CACHE_DIR", str(cache))
    from settings import get_settings

    get_settings.cache_clear()
    yield
    get_settings.cache_clear()
