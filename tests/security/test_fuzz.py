"""Fuzzing the loaders and the URL-state parser with hypothesis: random bytes, random JSON and extreme
numbers (1e308, -0.0, NaN, inf, huge strings). They may refuse the input (LayerError, or the default
state with a message); they never raise anything else, and never hang (pytest-timeout per test)."""

from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path
from urllib.parse import urlencode

import geopandas as gpd
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dashboard.state import _KEYS, decode_state, default_state, encode_state
from layers.errors import LayerError
from tests.loaders import load_sites

# One small country: assigning countries stays fast whatever the random coordinates are.
COUNTRIES = gpd.GeoDataFrame(
    {"iso3": ["GHA"], "name": ["Ghana"]}, geometry=[shapely.box(-3.3, 4.7, 1.2, 11.2)], crs="EPSG:4326"
)
FUZZ = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
EXTREME_FLOATS = st.sampled_from([1e308, -1e308, -0.0, 0.0, math.nan, math.inf, -math.inf, 5e-324, 180.0, -90.0])
NUMBER_TEXT = st.one_of(
    st.sampled_from(["1e308", "-1e308", "-0.0", "NaN", "nan", "inf", "-inf", "Infinity", "1e-400", "0x1p3", "1,5"]),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
)
CELL = st.one_of(NUMBER_TEXT, st.text(max_size=30), st.just("x" * 100_000), st.sampled_from(["=1+1", "<b>", '"', ""]))


def _load(data: bytes, suffix: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"fuzz{suffix}"
        path.write_bytes(data)
        try:
            result = load_sites(path, countries=COUNTRIES)
        except LayerError as exc:
            assert str(exc) and exc.fix  # a message with a fix, never an empty refusal
            return
        data_ = result.data
        assert result.n_loaded + result.n_rejected >= 1
        assert data_["lat"].between(-90, 90).all() and data_["lon"].between(-180, 180).all()


@pytest.mark.timeout(120)
@FUZZ
@given(st.binary(max_size=2000))
def test_csv_loader_on_random_bytes(data):
    _load(data, ".csv")


@pytest.mark.timeout(120)
@FUZZ
@given(st.lists(st.tuples(CELL, CELL, CELL), min_size=1, max_size=6), st.sampled_from([",", ";", "\t"]))
def test_csv_loader_on_extreme_values(rows, sep):
    header = sep.join(["name", "longitude", "latitude"])
    body = "\n".join(sep.join(c.replace(sep, " ").replace("\n", " ").replace("\r", " ") for c in r) for r in rows)
    _load((header + "\n" + body + "\n").encode("utf-8", "surrogatepass"), ".csv")


JSON = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=False) | st.integers() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)


@pytest.mark.timeout(120)
@FUZZ
@given(JSON)
def test_geojson_loader_on_random_json(doc):
    _load(json.dumps(doc).encode(), ".geojson")


@pytest.mark.timeout(120)
@FUZZ
@given(st.sampled_from([b"", b"{", b'{"type": "FeatureCollection", "features": [']), st.binary(max_size=1000))
def test_geojson_loader_on_random_bytes(prefix, data):
    _load(prefix + data, ".geojson")  # with a '{' prefix the bytes get past the signature check into GDAL


@pytest.mark.timeout(120)
@FUZZ
@given(
    st.lists(
        st.tuples(EXTREME_FLOATS, EXTREME_FLOATS, st.one_of(st.text(max_size=40), st.just("n" * 100_000))),
        min_size=1,
        max_size=5,
    )
)
def test_geojson_loader_on_extreme_coordinates(points):
    features = [
        {"type": "Feature", "properties": {"name": name}, "geometry": {"type": "Point", "coordinates": [x, y]}}
        for x, y, name in points
    ]
    # json.dumps writes NaN / Infinity (not strict JSON): the loader must cope either way
    _load(json.dumps({"type": "FeatureCollection", "features": features}).encode(), ".geojson")


# --- URL state -------------------------------------------------------------------------------------------
VALUE = st.one_of(NUMBER_TEXT, st.text(max_size=50), st.just("A" * 30_000), st.just("1e308:1e308,-0.0:nan"))


@pytest.mark.timeout(60)
@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.sampled_from(sorted(_KEYS)), VALUE, max_size=8))
def test_url_state_parser_on_extreme_values(params):
    state = decode_state("?" + urlencode(params))
    assert set(state) == set(default_state())
    for key in ("pa_km", "eco_km"):
        assert math.isfinite(state[key]) and state[key] >= 0
    for w in state["weights"].values():
        assert math.isfinite(w)
    if state["view"] is not None:
        assert all(math.isfinite(v) for v in state["view"])
    decode_state(encode_state(state))  # what it accepted, it can write back and read again


@pytest.mark.timeout(60)
@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=500))
def test_url_state_parser_on_random_bytes(data):
    state = decode_state(data.decode("latin-1"))
    assert set(state) == set(default_state())
