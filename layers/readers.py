"""Reading user-supplied tables and vector files into DataFrames, whatever their format.

Shared by the loaders: CSV/TSV/TXT (delimiter, encoding and decimal-comma
detection), XLSX, GeoJSON, GeoPackage, Shapefile (plain or zipped), GeoParquet
and KML. Every library error is turned into a ``LayerError`` naming the file,
the problem and the fix. Paths and contents are checked by ``layers.guard`` first
(local file, known extension, size, signature, no GDAL virtual formats); zips are
extracted only by ``layers.guard.extracted_zip`` into a private temporary folder.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio

from layers.errors import LayerError
from layers.formats import DELIMITED_EXTENSIONS, PARQUET_EXTENSIONS, SITE_EXTENSIONS
from layers.guard import ZipLimits, check_content, check_input_path, check_zip_archive, extracted_zip, harden_gdal

DELIMITERS: tuple[str, ...] = (",", ";", "\t", "|")
ENCODINGS: tuple[str, ...] = ("utf-8-sig", "cp1252", "latin-1")
# Cells read as missing. "NA" is deliberately absent: it is Namibia's ISO2 code and a common name part.
NA_VALUES: tuple[str, ...] = ("", "-", "--", "n/a", "N/A", "NaN", "nan", "null", "NULL", "None", "#N/A", "?")

_SNIFF_BYTES = 256 * 1024


@dataclass
class RawTable:
    """A file read as is: its rows (original columns), its CRS and how it was read."""

    frame: pd.DataFrame  # a GeoDataFrame when the file has geometries
    crs: object | None  # pyproj-compatible CRS of the geometries, None for plain tables
    kind: str  # "table" or "vector"
    layer: str | None = None
    encoding: str | None = None
    delimiter: str | None = None
    warnings: list[str] = field(default_factory=list)


# --- column names --------------------------------------------------------------------------
def normalise_column_name(name: object) -> str:
    """Lower case, accents stripped, runs of non-alphanumerics as one '_': "Latitude (DD)" -> "latitude_dd"."""
    s = unicodedata.normalize("NFKD", str(name))
    s = "".join(ch for ch in s if not unicodedata.combining(ch)).lower()
    return re.sub(r"[^a-z0-9]+", "_", s).strip("_")


def find_column(columns: Iterable[object], candidates: Sequence[str], prefixes: Sequence[str] = ()) -> object | None:
    """The first column whose normalised name is one of ``candidates`` (in candidate order).

    Failing that, the first column whose normalised name starts with one of ``prefixes``
    followed by '_' (e.g. "latitude_s" for prefix "latitude").
    """
    cols = list(columns)
    norm = {}
    for c in cols:
        norm.setdefault(normalise_column_name(c), c)
    for cand in candidates:
        key = normalise_column_name(cand)
        if key in norm:
            return norm[key]
    for p in prefixes:
        for n, c in norm.items():
            if n.startswith(p + "_"):
                return c
    return None


def pick_column(columns: Iterable[object], names: Sequence[str]) -> str | None:
    """The first of ``names`` among ``columns``, compared case-insensitively (returned in the column's own spelling).

    Stricter than :func:`find_column`: no accent folding or punctuation normalising, for the
    fixed field names of published schemas (WDPA, Natural Earth).
    """
    lower = {str(c).lower(): c for c in columns}
    for n in names:
        if n.lower() in lower:
            return lower[n.lower()]
    return None


# --- numbers ---------------------------------------------------------------------------------
_DECIMAL_COMMA = re.compile(r"^[+-]?\d*,\d+$")
_THOUSANDS_DOT_DECIMAL_COMMA = re.compile(r"^[+-]?\d{1,3}(?:\.\d{3})+,\d+$")


def to_number(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Floats from text with decimal points or commas ("-3,45", "1.234,5", " 12 "), vectorised.

    Returns
    -------
    (numbers, bad): float64 Series (NaN where missing or unparsable) and a bool Series,
    True where a cell had text that is not a number.
    """
    if pd.api.types.is_bool_dtype(values.dtype):
        return values.astype("float64"), pd.Series(False, index=values.index)
    if pd.api.types.is_numeric_dtype(values.dtype):
        out = pd.to_numeric(values, errors="coerce").astype("float64")
        return out, pd.Series(False, index=values.index)
    obj = values.astype("object")
    if pd.api.types.is_string_dtype(values.dtype):
        is_num = pd.Series(False, index=values.index)  # text columns (CSV): no per-cell type check
    else:  # object columns (XLSX) mix numbers and text
        is_num = obj.map(lambda v: isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool))
    text = obj.where(~is_num).astype("str").str.strip()
    text = text.str.replace("\u00a0", "", regex=False).str.replace("\u202f", "", regex=False).str.replace(" ", "")
    text = text.str.replace("−", "-", regex=False)  # Unicode minus from word processors
    thousands = text.str.match(_THOUSANDS_DOT_DECIMAL_COMMA.pattern, na=False)
    text = text.where(~thousands, text.str.replace(".", "", regex=False))
    comma = text.str.match(_DECIMAL_COMMA.pattern, na=False)
    text = text.where(~comma, text.str.replace(",", ".", regex=False))
    numbers = pd.to_numeric(text.where(~is_num & text.notna() & (text != "")), errors="coerce").astype("float64")
    numbers = numbers.where(~is_num, pd.to_numeric(obj.where(is_num), errors="coerce").astype("float64"))
    missing = obj.isna() | (~is_num & ((text == "") | text.isin(NA_VALUES) | text.isna()))
    bad = numbers.isna() & ~missing
    return numbers, bad


def to_text(values: pd.Series) -> pd.Series:
    """Strings with surrounding blanks removed; '' for missing; numbers like 12.0 written as '12'."""
    if pd.api.types.is_string_dtype(values.dtype):
        return values.fillna("").astype("str").str.strip()
    obj = values.astype("object")
    whole = obj.map(lambda v: isinstance(v, float | np.floating) and float(v).is_integer())
    obj = obj.where(
        ~whole, obj.map(lambda v: str(int(v)) if isinstance(v, float | np.floating) and v.is_integer() else v)
    )
    return obj.where(obj.notna(), "").astype("str").str.strip()


def row_list(nums: list[int], limit: int = 15) -> str:
    """Row numbers for a message: the first ``limit``, then how many more."""
    shown = ", ".join(str(n) for n in nums[:limit])
    return shown + (f" … (+{len(nums) - limit} more)" if len(nums) > limit else "")


# --- CSV -------------------------------------------------------------------------------------
def detect_encoding(raw: bytes) -> str:
    """First of UTF-8 (with or without BOM), cp1252 and latin-1 that decodes ``raw`` strictly."""
    for enc in ENCODINGS:
        try:
            raw.decode(enc)
        except UnicodeDecodeError:
            continue
        return enc
    return "latin-1"  # unreachable: latin-1 decodes every byte string


def detect_delimiter(text: str) -> str:
    """The delimiter among ',', ';', tab and '|' that splits the first lines into the most consistent columns."""
    lines = [ln for ln in text.splitlines()[:50] if ln.strip()]
    if not lines:
        return ","
    best, best_score = ",", (-1.0, 0)
    for d in DELIMITERS:
        try:
            counts = [len(row) for row in csv.reader(lines, delimiter=d)]
        except csv.Error:
            continue
        header = counts[0]
        if header < 2:
            continue
        consistent = sum(c == header for c in counts) / len(counts)
        score = (consistent, header)
        if score > best_score:
            best, best_score = d, score
    return best


def _looks_binary(raw: bytes) -> bool:
    sample = raw[:_SNIFF_BYTES]
    if b"\x00" in sample:
        return True
    control = sum(1 for b in sample if b < 32 and b not in (9, 10, 13, 12))
    return control > max(8, len(sample) // 100)


def read_delimited(path: Path) -> RawTable:
    """A CSV/TSV/TXT file as text columns (no type guessing: "007" stays "007", "-3,45" stays text)."""
    raw = path.read_bytes()
    if not raw.strip():
        raise LayerError(path, "the file is empty", "give a CSV with a header row and one row per site")
    if raw[:4] == b"PK\x03\x04" or raw[:2] in (b"\xd0\xcf",):
        raise LayerError(
            path,
            "this looks like an Excel/zip file saved with a text extension",
            "save it as .xlsx or export it as CSV",
        )
    if _looks_binary(raw):
        raise LayerError(
            path,
            "this is not a text file (it contains binary bytes)",
            "export the table as CSV (UTF-8) from your spreadsheet or GIS",
        )
    encoding = detect_encoding(raw)
    text = raw.decode(encoding)
    delimiter = detect_delimiter(text[:_SNIFF_BYTES])
    try:
        frame = pd.read_csv(
            io.StringIO(text),
            sep=delimiter,
            dtype="str",
            keep_default_na=False,
            na_values=list(NA_VALUES),
            skipinitialspace=True,
            engine="c",
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError, csv.Error) as exc:
        raise LayerError(
            path,
            f"cannot parse the file as a {_delimiter_name(delimiter)}-separated table ({_short(exc)})",
            "check that every row has the same number of fields as the header and that quotes are closed",
        ) from exc
    frame.columns = [str(c).strip() for c in frame.columns]
    notes = []
    if encoding != "utf-8-sig":
        notes.append(f"read as {encoding} (not valid UTF-8); re-save as UTF-8 if accented names look wrong")
    return RawTable(frame, None, "table", encoding=encoding, delimiter=delimiter, warnings=notes)


def _delimiter_name(d: str) -> str:
    return {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}.get(d, repr(d))


def _short(exc: BaseException, n: int = 200) -> str:
    msg = " ".join(str(exc).split())
    return msg if len(msg) <= n else msg[: n - 1] + "…"


# --- XLSX ------------------------------------------------------------------------------------------
def read_xlsx(path: Path, sheet: str | None = None, *, zip_limits: ZipLimits) -> RawTable:
    """First sheet (or ``sheet``) of an .xlsx workbook, cells as typed by Excel.

    The workbook is a zip of XML: its declared sizes and ratios are checked first (a zip bomb
    is refused before openpyxl inflates it), and openpyxl parses the XML with defusedxml
    (entity expansion and external entities refused) when that is installed (requirements.txt).
    """
    check_zip_archive(path, zip_limits)
    try:
        book = pd.ExcelFile(path, engine="openpyxl")
    except Exception as exc:  # openpyxl raises zipfile/KeyError/InvalidFileException on bad files
        raise LayerError(
            path,
            f"cannot open the workbook ({_short(exc)})",
            "give an .xlsx file saved by Excel or LibreOffice (not .xls)",
        ) from exc
    with book:
        names = [str(n) for n in book.sheet_names]
        if sheet is not None and sheet not in names:
            raise LayerError(
                path, f"no sheet named {sheet!r}; the sheets are {names}", "choose one of these sheet names"
            )
        chosen = sheet if sheet is not None else names[0]
        try:
            frame = pd.read_excel(book, sheet_name=chosen, dtype="object")
        except Exception as exc:
            raise LayerError(
                path, f"cannot read sheet {chosen!r} ({_short(exc)})", "check the sheet has a header row"
            ) from exc
    # only trailing empty rows go (formatted but unused): interior ones keep the row numbers equal to Excel's - 1
    filled = np.flatnonzero(frame.notna().any(axis=1).to_numpy())
    frame = frame.iloc[: filled[-1] + 1 if len(filled) else 0]
    frame = frame.loc[:, [not str(c).startswith("Unnamed:") or frame[c].notna().any() for c in frame.columns]]
    frame.columns = [str(c).strip() for c in frame.columns]
    frame = frame.reset_index(drop=True)
    return RawTable(frame, None, "table", layer=chosen)


# --- vector files --------------------------------------------------------------------------------------
def _zip_member(path: Path, folder: Path, layer: str | None) -> tuple[Path, str | None]:
    """The vector file (a shapefile first) among the checked, extracted contents of a zip."""
    members = sorted(p for p in folder.rglob("*") if p.is_file())
    shps = [m for m in members if m.suffix.lower() == ".shp" and not m.name.startswith("._")]
    others = [m for m in members if m.suffix.lower() in (".gpkg", ".geojson", ".kml")]
    candidates = shps or others
    if not candidates:
        names = [m.relative_to(folder).as_posix() for m in members]
        raise LayerError(
            path,
            f"the zip holds no shapefile (.shp) among {names[:10]}",
            "zip the .shp together with its .shx, .dbf and .prj",
        )
    for c in candidates:
        check_content(c)
    if len(candidates) > 1:
        stems = [m.stem for m in candidates]
        if layer is None or layer not in stems:
            raise LayerError(path, f"the zip holds several layers {stems}", "choose one with layer=<name>")
        return candidates[stems.index(layer)], None
    return candidates[0], layer


def list_layers(path: str | Path) -> list[str]:
    """Layer names of a vector file (GeoPackage, KML, …)."""
    try:
        return [str(n) for n in pyogrio.list_layers(str(path))[:, 0]]
    except Exception as exc:  # pyogrio.errors.DataSourceError and GDAL errors
        raise LayerError(
            path, f"cannot open the file ({_short(exc)})", "check it is a complete, uncorrupted file"
        ) from exc


def read_vector(path: Path, layer: str | None = None, *, zip_limits: ZipLimits) -> RawTable:
    """A vector file through GDAL (pyogrio), or GeoParquet through pyarrow."""
    suffix = path.suffix.lower()
    if suffix in PARQUET_EXTENSIONS:
        return _read_parquet(path)
    if suffix == ".zip":
        with extracted_zip(path, zip_limits) as folder:  # read fully into memory before the folder goes
            member, layer = _zip_member(path, folder, layer)
            return _read_vector_source(path, str(member), layer, suffix)
    return _read_vector_source(path, str(path), layer, suffix)


def _read_vector_source(path: Path, source: str, layer: str | None, suffix: str) -> RawTable:
    layers = list_layers(source)
    if not layers:
        raise LayerError(path, "the file has no layers", "give a file with at least one layer of sites")
    if layer is not None and layer not in layers:
        raise LayerError(path, f"no layer named {layer!r}; the layers are {layers}", "choose one of these layer names")
    if layer is None and len(layers) > 1:
        if suffix == ".kml":
            return _read_kml_folders(path, source, layers)
        raise LayerError(
            path, f"the file has {len(layers)} layers {layers} and none was chosen", "choose one with layer=<name>"
        )
    chosen = layer or layers[0]
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", RuntimeWarning)
            frame = gpd.read_file(source, layer=chosen, engine="pyogrio")
    except Exception as exc:  # pyogrio DataSourceError / FieldError / GDAL CPLE_* errors
        raise LayerError(
            path,
            f"cannot read layer {chosen!r} ({_short(exc)})",
            "check the file is complete (not truncated) and valid",
        ) from exc
    notes = [f"GDAL: {_short(w.message)}" for w in caught if issubclass(w.category, RuntimeWarning)]
    return RawTable(frame.reset_index(drop=True), frame.crs, "vector", layer=chosen, warnings=notes)


def _read_kml_folders(path: Path, source: str, layers: list[str]) -> RawTable:
    """All folders of a KML as one table, with the folder name in ``kml_folder``."""
    parts = []
    for name in layers:
        try:
            part = gpd.read_file(source, layer=name, engine="pyogrio")
        except Exception as exc:
            raise LayerError(
                path, f"cannot read KML folder {name!r} ({_short(exc)})", "re-export the KML from your GIS"
            ) from exc
        part["kml_folder"] = name
        parts.append(part)
    frame = pd.concat(parts, ignore_index=True)
    return RawTable(
        gpd.GeoDataFrame(frame, geometry="geometry", crs=parts[0].crs),
        parts[0].crs,
        "vector",
        warnings=[f"read {len(layers)} KML folders {layers} as one table (column kml_folder)"],
    )


def _read_parquet(path: Path) -> RawTable:
    try:
        frame = gpd.read_parquet(path)
        return RawTable(frame.reset_index(drop=True), frame.crs, "vector")
    except ValueError as exc:
        if "geo" not in str(exc).lower() and "geometry" not in str(exc).lower():
            raise LayerError(
                path, f"cannot read the Parquet file ({_short(exc)})", "give a GeoParquet or Parquet table"
            ) from exc
    except Exception as exc:  # pyarrow.ArrowInvalid and friends
        raise LayerError(
            path, f"cannot read the Parquet file ({_short(exc)})", "check the file is a complete Parquet file"
        ) from exc
    try:  # a plain Parquet table (no 'geo' metadata): coordinates from columns
        frame = pd.read_parquet(path)
    except Exception as exc:
        raise LayerError(
            path, f"cannot read the Parquet file ({_short(exc)})", "check the file is a complete Parquet file"
        ) from exc
    return RawTable(frame.reset_index(drop=True), None, "table")


def read_any(
    path: str | Path,
    layer: str | None = None,
    *,
    zip_limits: ZipLimits,
    max_mb: float | None = None,
) -> RawTable:
    """Read a table or vector file by its extension; ``layer`` is a sheet (XLSX) or layer (GPKG, zip, KML).

    The path and the first bytes are checked by ``layers.guard.check_input_path`` first;
    ``max_mb`` (None: no limit here; the CLI and the uploads apply ``settings.max_upload_mb``
    at their entry points) is checked on the file size before reading.
    """
    p = Path(path)
    if p.is_dir():
        raise LayerError(
            p, "this is a folder, not a file", "give the .shp, .gpkg, .csv … file inside it (or zip the shapefile)"
        )
    p = check_input_path(
        p, extensions=SITE_EXTENSIONS, max_mb=float("inf") if max_mb is None else max_mb, label="the file"
    )
    harden_gdal()
    suffix = p.suffix.lower()
    if suffix in DELIMITED_EXTENSIONS:
        return read_delimited(p)
    if suffix == ".xlsx":
        return read_xlsx(p, layer, zip_limits=zip_limits)
    return read_vector(p, layer, zip_limits=zip_limits)
