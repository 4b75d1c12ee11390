"""Which column is which: detection on real-world headers (IPIS), the analyst's column mapping and per-file defaults."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.loaders import load_sites

# IPIS open-data headers (eastern DRC): one row per visit; `mineral1` is a commodity, not a worker count
IPIS_HEADER = "vid,pcode,name,longitude,latitude,visit_date,mineral1,mineral2,mineral3"
IPIS_ROWS = (
    "1,codmine00001,Kamituga,28.1794,-3.0612,2019-05-01,Or,,\n"
    "2,codmine00002,Misisi,28.9876,-4.5431,2018-01-01,Or,Cassitérite,\n"
    "3,codmine00003,Mukungwe,28.64,-2.72,2020-03-04,Cassitérite,Coltan,\n"
)


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("extra", ["", ",province", ",mineral_other"])
def test_ipis_mineral_columns_are_not_worker_counts(tmp_path: Path, extra: str) -> None:
    """'mineral1' holds the stem 'miner' but names a mineral: no workers, no 'bad worker values' warning."""
    rows = "".join(line + ("," if extra else "") + "\n" for line in IPIS_ROWS.splitlines())
    r = load_sites(_write(tmp_path, "ipis.csv", IPIS_HEADER + extra + "\n" + rows))
    assert r.n_loaded == 3
    assert r.data["workers"].isna().all()
    assert not any("worker" in w for w in r.warnings), r.warnings
    assert r.data.set_index("site_id").loc["codmine00002", "commodities"] == "gold;cassiterite"


def test_ipis_workers_numb_is_the_worker_count(tmp_path: Path) -> None:
    header = IPIS_HEADER + ",workers_numb"
    rows = "".join(line + f",{n}\n" for line, n in zip(IPIS_ROWS.splitlines(), (350, 1200, 80), strict=True))
    r = load_sites(_write(tmp_path, "ipis.csv", header + "\n" + rows))
    np.testing.assert_array_equal(r.data.set_index("site_id").loc[["codmine00001", "codmine00003"], "workers"], [350, 80])


@pytest.mark.parametrize(
    ("column", "is_workers"),
    [
        ("miners", True),
        ("nb_miners", True),
        ("n_miners_total", True),
        ("number of miners", True),
        ("garimpeiros", True),
        ("trabajadores", True),
        ("mineral", False),
        ("mineral1", False),
        ("minerals_2", False),
        ("mineralisation", False),
        ("examiner", False),
        ("miner_women_pct", False),
    ],
)
def test_worker_column_stems_match_whole_words(tmp_path: Path, column: str, is_workers: bool) -> None:
    text = f"name,lat,lon,{column}\nA,-3.0,28.0,12\n"
    r = load_sites(_write(tmp_path, "s.csv", text))
    assert bool(r.data.loc[0, "workers"] == 12) is is_workers
