"""The Amazon Mining Watch figures of docs/data.md: mining inside the 144 protected areas by year, and
our cumulative figure against Earth Genome's published ``mining_affected_area_ha`` for the 10 largest.

Reads ``../shared/data/amazon_mining_watch`` (or ``--data-dir``) and prints Markdown tables.

Usage::

    .venv/bin/python scripts/amw_mining_by_year.py
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import geopandas as gpd  # noqa: E402
import pandas as pd  # noqa: E402

from geo.change import compute_mining_change  # noqa: E402
from layers.mining import load_mining  # noqa: E402
from scoring.pipeline import zip_limits  # noqa: E402
from settings import Settings  # noqa: E402


def _markdown(frame: pd.DataFrame) -> str:
    cols = list(frame.columns)
    lines = [
        "| " + " | ".join(cols) + " |",
        "|" + "|".join("---:" if frame[c].dtype.kind in "if" else "---" for c in cols) + "|",
    ]
    for _, row in frame.iterrows():
        cells = [
            f"{v:,.0f}" if isinstance(v, float) and abs(v) >= 100 else f"{v:,.2f}" if isinstance(v, float) else str(v)
            for v in row
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", type=Path, default=ROOT.parent / "shared" / "data" / "amazon_mining_watch")
    a = ap.parse_args()
    foot = load_mining(
        zip_limits=zip_limits(Settings()), paths=sorted(a.data_dir.glob("mining_20*00_simplified.geojson"))
    ).data
    # Earth Genome's own file and ids: their figure is per `id` (PEnan_0 groups several Peruvian areas)
    pas = gpd.read_file(a.data_dir / "protected_areas_impacts.geojson")
    pas["label"] = pas.groupby("id")["name_field"].transform("first")

    # 1. by year, inside any of the protected areas (their union: overlapping PAs count once), by country
    by_country = pas.dissolve(by="country", as_index=False)
    everything = pas.dissolve().assign(country="all 144 protected areas")
    targets = pd.concat([by_country, everything], ignore_index=True)[["country", "geometry"]]
    targets = gpd.GeoDataFrame(targets, geometry="geometry", crs=pas.crs)
    yearly = compute_mining_change(
        foot, targets, id_column="country", name_column="country", kind="country", include_empty=True
    )
    new = yearly.pivot_table(index="target_id", columns="year", values="mining_km2", sort=False)
    cum = yearly.pivot_table(index="target_id", columns="year", values="mining_km2_cumulative", sort=False)
    print("### New mining footprint inside the protected areas, km² (union of the PAs)\n")
    print(_markdown(new.reset_index().rename(columns={"target_id": "country"}).rename(columns=str)))
    print("\n### Cumulative footprint inside the protected areas, km²\n")
    print(_markdown(cum.reset_index().rename(columns={"target_id": "country"}).rename(columns=str)))

    # 2. per Earth Genome id: our cumulative 2024 against their mining_affected_area_ha
    per = compute_mining_change(
        foot, pas, id_column="id", name_column="label", share_column="mined_km2", include_empty=True
    )
    eg = pas.groupby("id").agg(eg_ha=("mining_affected_area_ha", "first"), country=("country", "first"))
    last = per[per["year"] == per["year"].max()].set_index("target_id")
    up_to_2023 = per[per["year"] == 2023].set_index("target_id")["mining_km2_cumulative"]
    table = eg.join(last[["target_name", "mining_km2_cumulative", "mined_km2_cumulative"]])
    table["to_2023_ha"] = up_to_2023 * 100
    table = table.sort_values("eg_ha", ascending=False)
    out = pd.DataFrame(
        {
            "id": table.index,
            "protected area": table["target_name"].to_numpy(),
            "country": table["country"].to_numpy(),
            "Earth Genome mining_affected_area_ha": table["eg_ha"].to_numpy(),
            "ours 2018-2024, ha": (table["mining_km2_cumulative"] * 100).to_numpy(),
            "ratio": (table["mining_km2_cumulative"] * 100 / table["eg_ha"]).to_numpy(),
            "ours 2018-2023, ha": table["to_2023_ha"].to_numpy(),
            "ratio 2018-2023": (table["to_2023_ha"] / table["eg_ha"]).to_numpy(),
            "Mined area (ha) apportioned": (table["mined_km2_cumulative"] * 100).to_numpy(),
        }
    )
    print("\n### The 10 largest by Earth Genome's figure\n")
    print(_markdown(out.head(10)))
    totals = out.drop(columns=["id", "protected area"]).groupby("country").sum(numeric_only=True)
    totals["ratio"] = totals["ours 2018-2024, ha"] / totals["Earth Genome mining_affected_area_ha"]
    totals["ratio 2018-2023"] = totals["ours 2018-2023, ha"] / totals["Earth Genome mining_affected_area_ha"]
    print("\n### All 144 by country (sums over Earth Genome's ids)\n")
    print(_markdown(totals.reset_index()))


if __name__ == "__main__":
    main()
