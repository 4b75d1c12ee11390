"""Risk tables to CSV / XLSX / GeoJSON / GeoPackage / GeoParquet, each carrying the
method version, the weights in use and the data citations.

Shared by the CLI (``python app.py score``) and the dashboard's downloads
(``dashboard.exports``), so an exported number equals the number on screen. Writes are atomic (temp file + rename).
Text cells that a spreadsheet would run as a formula are neutralised (OWASP CSV
injection guidance); numbers are left unchanged.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import re
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyarrow.parquet as pq

# what GeoDataFrame.to_parquet writes, as an Arrow table with the GeoParquet 'geo' metadata (no public
# equivalent; geopandas is pinned in requirements.txt and tests/scoring/test_writers.py checks the result)
from geopandas.io.arrow import _geopandas_to_arrow as geopandas_to_arrow

from geo.risk import RiskConfig
from layers.formats import OUTPUT_TABLE_EXTENSIONS

TABLE_FORMATS: tuple[str, ...] = OUTPUT_TABLE_EXTENSIONS  # what write_table writes (layers.formats: the one registry)
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
DEMO_NOTICE = "SYNTHETIC DEMO DATA: these sites and protected areas are generated, not real places or observations."
LICENCE_NOTES = (
    "WDPA data (protectedplanet.net) may not be redistributed: share outputs derived from it under the WDPA terms of use.",
    "Natural Earth: public domain. Amazon Mining Watch (Earth Genome): CC BY 4.0, cite Earth Genome.",
    "Hansen Global Forest Change: CC BY 4.0. Streets et al. (2019) mercury emissions grid: cite the paper.",
)


# a plain number written as text (a CSV's pass-through column): "-1.696243", "+3.5", "-3,45", "-1e-5"
PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:[.,]\d*)?|[.,]\d+)(?:[eE][+-]?\d+)?")


def neutralise_formula_text(value: object) -> object:
    """Prefix a text cell that starts like a formula with an apostrophe; leave everything else as is.

    A plain number written as text ("-1.696243") is a number to a spreadsheet, never a formula:
    it is left alone, so a negative latitude passed through from a CSV stays a number.
    """
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES) and not PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def neutralise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy with every text cell neutralised (numbers, dates and booleans unchanged)."""
    out = frame.copy()
    for col in out.columns:
        s = out[col]
        if s.dtype == object or pd.api.types.is_string_dtype(s.dtype):
            out[col] = s.map(neutralise_formula_text, na_action="ignore")
    out.columns = [neutralise_formula_text(str(c)) for c in out.columns]
    return out


def safe_csv(frame: pd.DataFrame, path: str | Path | None = None) -> str | None:
    """CSV of ``frame`` with formula text neutralised and every cell holding a CR or LF quoted.

    RFC 4180 line ends (CRLF) make the csv writer quote any cell containing ``\r`` or ``\n``:
    with pandas' default ``\n`` a bare CR inside a cell is written unquoted, a spreadsheet
    starts a new row there, and text after it (``x\r=cmd()``) would become a formula cell.
    Returns the text when ``path`` is None.
    """
    return neutralise_frame(frame).to_csv(path, index=False, encoding="utf-8", lineterminator="\r\n")


#: the literature behind the model's defaults, as docs/risk-model.md section 8 cites it (what was read;
#: tests/scoring/test_model_references.py ties each one to that section)
MODEL_REFERENCES = (
    "Gibb & O'Leary 2014, Environ. Health Perspect. 122(7):667 (mercury in the amalgam)",
    "Telmer & Veiga 2009, ch. 6 in Pirrone & Mason, Mercury Fate and Transport in the Global Atmosphere, "
    "Springer (share of ASGM mercury emitted to air)",
    "Cheng, Watari, Seccatore, Nakajima & Nansai, 'A Comprehensive Review on Gold Production, Mercury "
    "Consumption and Emission in ASGM', conference abstract, Mercury 2022 (world ASGM gold output)",
    "Esdaile & Chalker 2018, Chem. Eur. J. 24 (number of miners using mercury)",
    "Seccatore et al. 2014, Sci. Total Environ. 496 (gold per miner by country)",
    "O'Neill & Telmer 2017, Estimating Mercury Use and Documenting Practices in ASGM, UN Environment "
    "(Hg:Au ratios, not verified: an assumption)",
    "Kiefer, Drace, Seney & Veiga 2015, ACS Symp. Ser. 1210, ch. 3 (retorts)",
    "Minamata Convention, Annex C para. 1(b)(iv) (cyanide leaching of mercury-bearing material)",
    "23rd World Mining Congress 2013, CIM proceedings, paper WMCO-2013-08-230 (mercury-cyanide complexes)",
    "Deforestation and Forest Degradation Due to Gold Mining in the Peruvian Amazon: A 34-Year Perspective, "
    "Remote Sensing (MDPI), and Watsa 2015, Mongabay (miners in Madre de Dios): hectares per miner",
    "Durán, Rauch & Gaston 2013, Biol. Conserv. 160:272-278 (mines within 10 km of protected areas)",
    "Sonter et al. 2017, Nat. Commun. 8:1013 (forest loss up to 70 km from mines)",
    "MapBiomas, Collection 8, Água Collection 2 (ASGM within 500 m of water)",
    "Dudley (ed.) 2008, IUCN protected-area management categories",
)
BAND_NOTE = (
    "Uncertainty: hg_kg_per_yr_low / hg_kg_per_yr / hg_kg_per_yr_high are the 5th / 50th / 95th percentiles of "
    "the site's mercury release (kg/yr); risk_0_100 is the median score and risk_0_100_low / risk_0_100_high its "
    "5th / 95th percentiles (the score at those releases); p_high_or_above is the probability that the site's "
    "class is high or very high. The score's range covers the mercury release's uncertainty only (not the "
    "footprint per worker nor the air share); for a mercury user of unknown size the range and "
    "p_high_or_above are empty: its score rests on an assumed size (docs/risk-model.md, sections 3.3 and 5)."
)
RECEPTOR_NOTE = (
    "Receptors: receptors_assessed lists what was assessed for each site; score_complete is False where a "
    "receptor with a weight was not (no layer, or no data there): it adds nothing, so that score is a lower "
    "bound, not comparable with scores that assessed it."
)


def about_text(
    config: RiskConfig, sources: Sequence[str], *, is_demo: bool, n_rows: int, filters: dict | None = None
) -> str:
    """The method, weights and citations that travel with every export."""
    lines = []
    if is_demo:
        lines += [DEMO_NOTICE, ""]
    lines += [
        f"Method: {config.version}",
        f"Configuration fingerprint: {config.fingerprint}",
        f"Generated: {dt.datetime.now(dt.UTC).isoformat(timespec='seconds')}",
        f"Rows: {n_rows}",
        "Distances are geodesic on the WGS84 ellipsoid (km); areas are geodesic (km2).",
        "Risk model: see docs/risk-model.md (hazard = mercury release and land use; sensitivity = protected areas "
        "and ecosystems; a global term for mercury emitted to air).",
        BAND_NOTE,
        RECEPTOR_NOTE,
        "",
        "Data sources:",
        *[f"  - {s}" for s in sources],
        "",
        "Licences:",
        *[f"  - {s}" for s in LICENCE_NOTES],
        "",
        "Model references (the sources of the defaults):",
        *[f"  - {s}" for s in MODEL_REFERENCES],
    ]
    if filters:
        lines += ["", "Filters in use:", json.dumps(filters, indent=2, default=str)]
    lines += ["", "Weights and thresholds in use (TOML):", config.to_toml()]
    return "\n".join(lines) + "\n"


@contextlib.contextmanager
def atomic_path(final: Path) -> Iterator[Path]:
    """A temporary path beside ``final`` that replaces it only if the block succeeds."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{final.name}.", suffix=final.suffix, dir=final.parent)
    os.close(fd)
    os.unlink(tmp)  # let the writer create it (GDAL refuses to overwrite some formats)
    try:
        yield Path(tmp)
        os.replace(tmp, final)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _plain_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Drop the geometry (lon/lat stay), make categoricals plain text."""
    out = pd.DataFrame(frame.drop(columns=[c for c in frame.columns if c == "geometry"]))
    for col in out.columns:
        if isinstance(out[col].dtype, pd.CategoricalDtype):
            out[col] = out[col].astype("string")
    return out


def _geo_safe(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Types every vector driver accepts: categoricals and objects as text.

    A shallow copy: pandas' copy-on-write keeps ``frame`` as it is when a column of the copy is
    replaced, and the deep copy this was took 1.2 s of writing a million rows.
    """
    out = frame.copy(deep=False)
    for col in out.columns:
        if col == out.geometry.name:
            continue
        if isinstance(out[col].dtype, pd.CategoricalDtype) or out[col].dtype == object:
            out[col] = out[col].astype("string")
    return out


def write_table(
    frame: gpd.GeoDataFrame | pd.DataFrame,
    path: str | Path,
    *,
    config: RiskConfig,
    sources: Sequence[str],
    is_demo: bool,
    filters: dict | None = None,
) -> Path:
    """Write the risk table in the format given by the extension, with its 'about' metadata."""
    about = about_text(config, sources, is_demo=is_demo, n_rows=len(frame), filters=filters)
    return write_with_about(frame, path, about)


def write_with_about(
    frame: gpd.GeoDataFrame | pd.DataFrame, path: str | Path, about: str, *, sheet: str = "Risk"
) -> Path:
    """Write any table in the format given by the extension, with ``about`` beside it (``.about.txt``) or
    inside it (XLSX 'Method' sheet, GeoPackage and GeoParquet metadata). Geo formats need a geometry column."""
    path = Path(path)
    ext = path.suffix.lower()
    if ext == ".csv":
        with atomic_path(path) as tmp:
            safe_csv(_plain_table(frame), tmp)
        _write_text(path.with_suffix(".about.txt"), about)
    elif ext == ".xlsx":
        with atomic_path(path) as tmp:
            write_xlsx(frame, tmp, about, sheet=sheet)
    elif ext in (".geojson", ".gpkg", ".parquet"):
        gdf = _geo_safe(gpd.GeoDataFrame(frame, geometry="geometry"))
        with atomic_path(path) as tmp:
            if ext == ".geojson":
                gdf.to_file(tmp, driver="GeoJSON", layer=path.stem)  # its "name": the file's, not the temp file's
            elif ext == ".gpkg":
                gdf.to_file(
                    tmp,
                    driver="GPKG",
                    layer="asm_risk",
                    dataset_metadata={"asm_risk_about": about},
                    layer_metadata={"asm_risk_about": about},
                )
            else:
                _write_parquet_with_metadata(gdf, tmp, about)
        if ext == ".geojson":
            _write_text(path.with_suffix(".about.txt"), about)
    else:
        raise ValueError(f"unknown table format {ext!r}; one of {', '.join(TABLE_FORMATS)}")
    return path


def write_xlsx(frame: pd.DataFrame, path: Path, about: str, *, sheet: str = "Risk") -> None:
    """The data sheet, then a 'Method' sheet with method, weights, sources and licences."""
    data = neutralise_frame(_plain_table(frame))
    for col in data.columns:  # Excel has no time zones
        if isinstance(data[col].dtype, pd.DatetimeTZDtype):
            data[col] = data[col].dt.tz_localize(None)
    with pd.ExcelWriter(
        path, engine="xlsxwriter", engine_kwargs={"options": {"strings_to_formulas": False, "strings_to_urls": False}}
    ) as xw:
        data.to_excel(xw, sheet_name=sheet, index=False)
        book_sheet = xw.sheets[sheet]
        book_sheet.freeze_panes(1, 0)  # the header row stays in view
        book_sheet.autofilter(0, 0, len(data), max(len(data.columns) - 1, 0))
        method = pd.DataFrame({"Method & sources": [neutralise_formula_text(line) for line in about.splitlines()]})
        method.to_excel(xw, sheet_name="Method", index=False)


def _write_parquet_with_metadata(gdf: gpd.GeoDataFrame, path: Path, about: str) -> None:
    """GeoParquet with ``about`` in the schema metadata beside GeoPandas' own ``geo`` and ``pandas``
    keys, in one pass: the Arrow table GeoDataFrame.to_parquet would write, the key added before
    writing (at 1M rows a write-read-rewrite cost about 12 s; tests/scoring/test_writers.py checks
    the file equals what to_parquet writes, plus the key)."""
    table = geopandas_to_arrow(gdf, index=False)
    meta = dict(table.schema.metadata or {})
    meta[b"asm_risk_about"] = about.encode("utf-8")
    pq.write_table(table.replace_schema_metadata(meta), path, compression="snappy")


def _write_text(path: Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_text_file(path: str | Path, text: str) -> Path:
    """A text file (an HTML report, say), written atomically."""
    _write_text(Path(path), text)
    return Path(path)


def write_rejected(rejected: pd.DataFrame, out: str | Path) -> Path | None:
    """``<out stem>.rejected.csv`` with a 'reason' column, or None when nothing was rejected."""
    out = Path(out)
    target = out.with_name(f"{out.stem}.rejected.csv")
    if rejected is None or len(rejected) == 0:
        if target.exists():
            target.unlink()  # a stale sidecar from an earlier run would mislead
        return None
    table = pd.DataFrame(rejected.drop(columns=["geometry"], errors="ignore"))
    cols = [c for c in ("layer", "row_number", "reason") if c in table.columns]
    table = table[cols + [c for c in table.columns if c not in cols]]
    with atomic_path(target) as tmp:
        safe_csv(table, tmp)
    return target
