"""The country of each site (layers.sites): an ISO3 column, a country-name column in the field teams'
languages, or the country polygon containing the site; and the warnings for swapped coordinates."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import shapely

from layers import commodities as vocab
from layers.countries import assign_country_iso3, load_countries
from layers.readers import find_column, row_list, to_text
from layers.schema import CRS_WGS84
from layers.site_coordinates import Located

ISO3_NAMES = ("country_iso3", "iso3", "iso_a3", "iso", "country_code", "iso_code", "code_pays", "cod_pais")
COUNTRY_NAMES = ("country", "pays", "pais", "country_name", "nation")

# Country names that Natural Earth spells differently, in the languages of the field teams.
_COUNTRY_ALIASES = {
    "drc": "COD", "rdc": "COD", "rd congo": "COD", "dr congo": "COD", "congo-kinshasa": "COD",
    "democratic republic of the congo": "COD", "democratic republic of congo": "COD",
    "republique democratique du congo": "COD", "congo, dem. rep.": "COD", "congo-brazzaville": "COG",
    "republic of the congo": "COG", "republique du congo": "COG", "cote d'ivoire": "CIV", "ivory coast": "CIV",
    "brasil": "BRA", "bresil": "BRA", "peru": "PER", "perou": "PER", "colombie": "COL", "bolivie": "BOL",
    "equateur": "ECU", "guyane": "FRA", "french guiana": "FRA", "tanzanie": "TZA", "tanzania": "TZA",
    "ouganda": "UGA", "burkina": "BFA", "guinee": "GIN", "guinea": "GIN", "senegal": "SEN", "niger": "NER",
    "mali": "MLI", "ghana": "GHA", "centrafrique": "CAF", "central african republic": "CAF",
    "republique centrafricaine": "CAF", "south sudan": "SSD", "soudan du sud": "SSD", "suriname": "SUR",
    "venezuela": "VEN", "guyana": "GUY", "indonesie": "IDN", "philippines": "PHL", "mongolie": "MNG",
}  # fmt: skip


def countries_of(
    table: pd.DataFrame, orig: pd.DataFrame, kind: str, countries: gpd.GeoDataFrame | None, warnings: list[str]
) -> pd.Series:
    iso = pd.Series(pd.NA, index=table.index, dtype="string")
    if kind == "peru":
        return pd.Series("PER", index=table.index, dtype="string")
    if countries is None:
        countries = load_countries()
    known = set(countries["iso3"].astype("str"))
    iso_col = find_column(orig.columns, ISO3_NAMES)
    if iso_col is not None:
        codes = to_text(orig[iso_col]).str.upper()
        iso = codes.where(codes.isin(known)).astype("string")
    name_col = find_column(orig.columns, COUNTRY_NAMES)
    if name_col is not None and iso.isna().any():
        lookup = {vocab.fold_text(n): c for n, c in zip(countries["name"], countries["iso3"], strict=True)}
        lookup.update({vocab.fold_text(c): c for c in known})
        lookup.update({k: v for k, v in _COUNTRY_ALIASES.items() if v in known})
        names = to_text(orig[name_col]).map(vocab.fold_text)
        iso = iso.fillna(names.map(lookup).astype("string"))
    todo = iso.isna()
    if todo.any():
        geoms = gpd.GeoSeries(table.loc[todo, "geometry"].to_numpy(), index=table.index[todo], crs=CRS_WGS84)
        iso.loc[todo] = assign_country_iso3(geoms, countries).astype("string")
    return iso.astype("string")


def warn_swapped(
    table: pd.DataFrame, loc: Located, row_number: pd.Series, countries: gpd.GeoDataFrame | None, warnings: list[str]
) -> None:
    if loc.swapped_out_of_range:
        nums = sorted(row_number.loc[loc.swapped_out_of_range].tolist())
        warnings.append(
            f"{len(nums)} rows have a latitude beyond ±90 but a longitude within ±90: latitude and longitude look swapped "
            f"(rows {row_list(nums)}); they were rejected, swap the columns and reload"
        )
    outside = table["country_iso3"].isna() & (shapely.get_type_id(table["geometry"].to_numpy()) == 0)
    if not outside.any():
        return
    cand = table.loc[outside & table["lon"].between(-90, 90)]
    if cand.empty:
        return
    if countries is None:
        countries = load_countries()
    swapped = gpd.GeoDataFrame(
        geometry=shapely.points(cand["lat"].to_numpy(), cand["lon"].to_numpy()), index=cand.index, crs=CRS_WGS84
    )
    hit = gpd.sjoin(swapped, countries[["iso3", "geometry"]], how="inner", predicate="within")
    if len(hit):
        nums = sorted(row_number.loc[hit.index.unique()].tolist())
        warnings.append(
            f"{len(nums)} sites fall outside every country but would fall in one with latitude and longitude swapped "
            f"(rows {row_list(nums)}); check the coordinate columns"
        )
