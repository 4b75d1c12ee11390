"""Fixtures of the security suite: hostile files made once per session in a temp folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.security.hostile import make_hostile_files


@pytest.fixture(scope="session")
def hostile_files(tmp_path_factory) -> dict[str, tuple[Path, str]]:
    return make_hostile_files(tmp_path_factory.mktemp("hostile"))
