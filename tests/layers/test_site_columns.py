"""Which column is which: detection on real-world headers (IPIS), the analyst's column mapping and per-file defaults."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely

from layers.errors import LayerError
from layers.site_columns import DEFAULT_VOCABULARIES, SiteOptions
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
    np.testing.assert_array_equal(
        r.data.set_index("site_id").loc[["codmine00001", "codmine00003"], "workers"], [350, 80]
    )


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


# --- the analyst's column choices and per-file defaults -----------------------------------------------------------
GENERIC = "code,label,main_mineral,other_mineral,people,lat,lon,hg\nA1,Alpha,Or,Diamant,120,-3.0,28.0,oui\nA2,Beta,,,,-3.1,28.1,\n"


def test_detected_columns_are_reported(tmp_path: Path) -> None:
    r = load_sites(_write(tmp_path, "ipis.csv", IPIS_HEADER + "\n" + IPIS_ROWS))
    roles = r.data.attrs["column_roles"]
    assert roles["commodity"] == ["mineral1", "mineral2", "mineral3"]
    assert roles["workers"] == [] and roles["site_id"] == ["pcode"] and roles["observed_date"] == ["visit_date"]
    assert roles["lat"] == ["latitude"] and roles["lon"] == ["longitude"]
    assert r.data.attrs["source_columns"] == IPIS_HEADER.split(",")


def test_columns_chosen_by_the_analyst_override_detection(tmp_path: Path) -> None:
    path = _write(tmp_path, "s.csv", GENERIC)
    plain = load_sites(path)
    assert plain.data["workers"].isna().all() and set(plain.data["commodity"]) == {"other"}
    assert any("no commodity column found" in w for w in plain.warnings)
    options = SiteOptions.from_mappings(
        {"commodity": "main_mineral", "workers": "people", "site_id": "code", "name": "label", "mercury_use": "hg"}
    )
    r = load_sites(path, options=options)
    d = r.data.set_index("site_id")
    assert d.loc["A1", "commodity"] == "gold" and d.loc["A1", "workers"] == 120 and d.loc["A1", "name"] == "Alpha"
    assert d.loc["A1", "mercury_use"] == "yes" and d.loc["A2", "commodity"] == "other"
    assert not any("no commodity column" in w for w in r.warnings)
    assert r.data.attrs["column_roles"]["commodity"] == ["main_mineral"]


def test_a_column_can_be_switched_off(tmp_path: Path) -> None:
    text = "name,lat,lon,miners\nA,-3.0,28.0,twelve\n"
    assert any("not worker counts" in w for w in load_sites(_write(tmp_path, "s.csv", text)).warnings)
    r = load_sites(_write(tmp_path, "s.csv", text), options=SiteOptions.from_mappings({"workers": ""}))
    assert r.data["workers"].isna().all() and not any("worker" in w for w in r.warnings)
    assert r.data.attrs["column_roles"]["workers"] == []


def test_coordinate_columns_can_be_chosen(tmp_path: Path) -> None:
    text = "name,northing_wgs,easting_wgs,lat\nA,-3.0,28.0,garbage\n"
    r = load_sites(
        _write(tmp_path, "s.csv", text),
        options=SiteOptions.from_mappings({"lat": "northing_wgs", "lon": "easting_wgs"}),
    )
    assert (r.data.loc[0, "lat"], r.data.loc[0, "lon"]) == (-3.0, 28.0)


@pytest.mark.parametrize(
    ("columns", "defaults", "match"),
    [
        ({"colour": "label"}, {}, r"unknown column role 'colour'.*Fix: use one of site_id, name, commodity"),
        ({"commodity": "Mineral"}, {}, r"'Mineral' chosen for commodity is not in the file.*main_mineral"),
        ({}, {"commodity": "unobtainium"}, r"'unobtainium' is not a commodity value.*Fix: use one of gold"),
        ({}, {"mercury_use": "sometimes"}, r"'sometimes' is not a mercury_use value.*yes, no, unknown"),
        ({}, {"workers": "10"}, r"no default can be set for 'workers'"),
    ],
)
def test_bad_options_are_layer_errors_that_say_the_fix(tmp_path: Path, columns, defaults, match) -> None:
    with pytest.raises(LayerError, match=match):
        load_sites(_write(tmp_path, "s.csv", GENERIC), options=SiteOptions.from_mappings(columns, defaults))


def test_defaults_fill_only_what_the_file_leaves_empty(tmp_path: Path) -> None:
    options = SiteOptions.from_mappings({"commodity": "main_mineral", "mercury_use": "hg", "name": "label"},
                                        {"commodity": "cassiterite", "mercury_use": "no"})  # fmt: skip
    d = load_sites(_write(tmp_path, "s.csv", GENERIC), options=options).data.set_index("name")
    assert (d.loc["Alpha", "commodity"], d.loc["Alpha", "mercury_use"]) == ("gold", "yes")  # the file's values win
    assert (d.loc["Beta", "commodity"], d.loc["Beta", "mercury_use"]) == ("cassiterite", "no")
    assert "Or" in load_sites(_write(tmp_path, "s.csv", GENERIC), options=options).data["main_mineral"].tolist()


def test_a_default_amalgamation_type_implies_mercury(tmp_path: Path) -> None:
    text = "name,lat,lon,commodity\nA,-3.0,28.0,gold\n"
    options = SiteOptions.from_mappings(defaults={"amalgamation": "whole_ore", "retort": "yes"})
    d = load_sites(_write(tmp_path, "s.csv", text), options=options).data
    assert (d.loc[0, "amalgamation"], d.loc[0, "retort"], d.loc[0, "mercury_use"]) == ("whole_ore", "yes", "yes")


def test_a_chosen_practice_column_overrides_detection(tmp_path: Path) -> None:
    text = "name,lat,lon,commodity,methode,amalgamation\nA,-3.0,28.0,gold,amalgamation du concentré avec cornue,x\n"
    columns = {"processing": "methode", "amalgamation": ""}  # 'amalgamation' holds junk here: read none
    d = load_sites(_write(tmp_path, "s.csv", text), options=SiteOptions.from_mappings(columns)).data
    assert (d.loc[0, "amalgamation"], d.loc[0, "retort"], d.loc[0, "mercury_use"]) == ("concentrate", "yes", "yes")


@pytest.mark.parametrize(("key", "value"), [(k, v) for k, vocab in DEFAULT_VOCABULARIES.items() for v in vocab])
def test_every_vocabulary_value_can_be_a_default(tmp_path: Path, key: str, value: str) -> None:
    """The form and the CLI offer every value of the vocabularies: each must come out as itself."""
    text = "name,lat,lon\nA,-3.0,28.0\n"
    d = load_sites(_write(tmp_path, "s.csv", text), options=SiteOptions.from_mappings(defaults={key: value})).data
    assert d.loc[0, key] == value


def test_defaults_are_part_of_the_layer_cache_key(tmp_path: Path) -> None:
    """Same file, other options: another cache entry (the dashboard re-applies options through the cache)."""
    from layers.cache import cached_layer

    path = _write(tmp_path, "s.csv", "name,lat,lon\nA,-3.0,28.0\n")
    results = []
    for value in ("gold", "diamond", "gold"):
        opts = SiteOptions.from_mappings(defaults={"commodity": value})
        results.append(cached_layer(path, "sites", {"options": opts.to_dict()},
                                    lambda o=opts: load_sites(path, options=o), tmp_path / "cache"))  # fmt: skip
    assert [r.data.loc[0, "commodity"] for r in results] == ["gold", "diamond", "gold"]
    assert results[2].data.attrs["column_roles"]["commodity"] == []  # the file's columns (the default is an option)


# --- the wrong slot ---------------------------------------------------------------------------------------------------
def _wdpa_like(tmp_path: Path) -> Path:
    parks = gpd.GeoDataFrame(
        {"WDPAID": [1, 2], "NAME": ["Kahuzi-Biega", "Itombwe"], "DESIG_ENG": ["National Park", "Nature Reserve"],
         "IUCN_CAT": ["II", "Not Reported"], "STATUS": ["Designated", "Designated"]},
        geometry=[shapely.box(28.0, -2.5, 28.8, -2.0), shapely.box(28.2, -3.6, 28.9, -3.0)], crs="EPSG:4326",
    )  # fmt: skip
    path = tmp_path / "parks.geojson"
    parks.to_file(path)
    return path


def test_protected_areas_given_as_sites_say_so_with_the_fix(tmp_path: Path) -> None:
    r = load_sites(_wdpa_like(tmp_path))
    assert r.n_loaded == 2  # still loaded: the analyst may mean it
    assert "looks like protected areas" in r.warnings[0]
    assert (
        "DESIG_ENG" in r.warnings[0]
        and "--protected-areas" in r.warnings[0]
        and "Upload protected areas" in r.warnings[0]
    )


def test_mining_polygons_are_not_taken_for_protected_areas(shared_data: Path) -> None:
    r = load_sites(shared_data / "amazon_mining_watch" / "mining_202400_simplified.geojson")
    assert not any("looks like protected areas" in w for w in r.warnings)


def test_sites_given_as_protected_areas_say_so_with_the_fix(shared_data: Path) -> None:
    from tests.loaders import load_protected_areas

    r = load_protected_areas(shared_data / "amazon_mining_watch" / "mining_202400_simplified.geojson")
    assert any("looks like mining sites" in w and "--sites" in w for w in r.warnings), r.warnings[:3]
    ok = load_protected_areas(shared_data / "amazon_mining_watch" / "protected_areas_impacts.geojson")
    assert not any("looks like mining sites" in w for w in ok.warnings)


def test_a_chosen_production_column_keeps_the_unit_its_name_states(tmp_path: Path) -> None:
    text = "name,lat,lon,production,prod_or_g_an\nA,-3.0,28.0,12,5000\n"
    path = _write(tmp_path, "s.csv", text)
    assert load_sites(path).data.loc[0, "gold_kg_per_yr"] == 5.0  # detected: grams a year
    plain = load_sites(path, options=SiteOptions.from_mappings({"gold_kg_per_yr": "production"}))
    assert plain.data.loc[0, "gold_kg_per_yr"] == 12.0  # no unit in the name: kg a year
    grams = load_sites(path, options=SiteOptions.from_mappings({"gold_kg_per_yr": "prod_or_g_an"}))
    assert grams.data.loc[0, "gold_kg_per_yr"] == 5.0
