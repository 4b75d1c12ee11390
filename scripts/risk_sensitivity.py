"""One-at-a-time sensitivity of the risk ranking to every weight and decay setting (issue #11).

    .venv/bin/python scripts/risk_sensitivity.py            # demo + Amazon Mining Watch, writes docs/risk-sensitivity.md
    .venv/bin/python scripts/risk_sensitivity.py --no-write # print only

Each weight (config/risk.toml [weights], [combine]) and each decay setting ([decay.*]: near_km,
near_value, outer_km) is moved by -50 % and +50 % (weights and near_value capped at 1; a decay
that would invert near/outer is skipped), everything else at its default. The facts are
computed once per dataset (scoring.pipeline); every variant is a re-score. Against the default
ranking each variant reports Kendall's tau-b of risk_0_100 over all sites, the overlap of the
top decile and of the top 100 (share of the default's top-n still in the variant's top-n).

Datasets: the built-in demo scenario, and a real open one from ../shared/data: the Amazon Mining
Watch 2024 mining polygons (Earth Genome, CC BY 4.0) with the protected areas that overlap
detected mining (protected_areas_impacts.geojson) as protected areas, the Amazon limit
(Amazon_ACA.geojson) as rainforest, Natural Earth 10m reefs and 10m rivers as water.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
from pathlib import Path

import pandas as pd
from scipy.stats import kendalltau

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from geo.risk import score_sites  # noqa: E402
from geo.vocab import DECAY_KEYS, WEIGHT_KEYS  # noqa: E402
from layers.risk_config import default_risk_config  # noqa: E402
from scoring.pipeline import LayerSources, compute_facts, load_scenario  # noqa: E402
from settings import Settings  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
OUT = ROOT / "docs" / "risk-sensitivity.md"
TOP_N = 100
MOVES = (-0.5, 0.5)


def datasets(shared: Path) -> dict[str, LayerSources]:
    out = {"demo (synthetic)": LayerSources()}
    amw, ne = shared / "amazon_mining_watch", shared / "natural_earth"
    if (amw / "mining_202400_simplified.geojson").exists() and (ne / "ne_10m_reefs.json").exists():
        out["Amazon Mining Watch 2024 polygons"] = LayerSources(
            sites=amw / "mining_202400_simplified.geojson",
            protected_areas=amw / "protected_areas_impacts.geojson",
            rainforest=amw / "Amazon_ACA.geojson",
            reefs=ne / "ne_10m_reefs.json",
            water=ne / "ne_10m_rivers_lake_centerlines.json",
        )
    return out


def variants(cfg) -> list[tuple[str, dict]]:
    """(label, overrides) for every parameter moved by each of MOVES."""
    d = cfg.to_dict()
    out = []
    params = [(f"weights.{k}", d["weights"][k], 1.0) for k in WEIGHT_KEYS]
    params.append(("combine.background_sensitivity", d["combine"]["background_sensitivity"], 1.0))
    for r in DECAY_KEYS:
        for key in ("near_km", "near_value", "outer_km"):
            params.append((f"decay.{r}.{key}", d["decay"][r][key], 1.0 if key == "near_value" else None))
    for key, value, cap in params:
        for move in MOVES:
            new = value * (1.0 + move)
            if cap is not None:
                new = min(new, cap)
            if new == value:
                continue
            over = {key: new}
            if key.startswith("decay."):
                r = key.split(".")[1]
                near = new if key.endswith("near_km") else d["decay"][r]["near_km"]
                outer = new if key.endswith("outer_km") else d["decay"][r]["outer_km"]
                if not outer > near:
                    continue
            out.append((f"{key} {move:+.0%}", over))
    return out


def compare(base: pd.Series, other: pd.Series) -> tuple[float, float, float]:
    tau = kendalltau(base.to_numpy(), other.to_numpy()).statistic
    n10 = max(1, len(base) // 10)

    def top(s: pd.Series, n: int) -> set:
        return set(s.sort_values(ascending=False, kind="stable").index[:n])

    n100 = min(TOP_N, len(base))
    decile = len(top(base, n10) & top(other, n10)) / n10
    hundred = len(top(base, n100) & top(other, n100)) / n100
    return float(tau), decile, hundred


def run(name: str, sources: LayerSources, cache: Path) -> tuple[pd.DataFrame, int]:
    settings = Settings(cache_dir=cache)
    facts = compute_facts(load_scenario(sources, settings), settings)
    cfg = default_risk_config()
    base = score_sites(facts, cfg, explain=False)["risk_0_100"].reset_index(drop=True)
    rows = []
    for label, over in variants(cfg):
        other = score_sites(facts, cfg.with_overrides(over), explain=False)["risk_0_100"].reset_index(drop=True)
        tau, decile, hundred = compare(base, other)
        rows.append({"dataset": name, "parameter": label, "kendall_tau": tau, "top_decile": decile, "top_100": hundred})
    print(f"{name}: {len(facts):,} sites, {len(rows)} variants", file=sys.stderr)
    return pd.DataFrame(rows), len(facts)


def to_markdown(table: pd.DataFrame, n_sites: dict[str, int]) -> str:
    lines = [
        "# Risk model sensitivity (one at a time, ±50 %)",
        "",
        f"Generated by `scripts/risk_sensitivity.py` on {dt.date.today().isoformat()} with the defaults of",
        "`config/risk.toml` (asm-risk-model 2.0). Each row moves one parameter by -50 % or +50 % (weights",
        "and `near_value` capped at 1) and compares the ranking of `risk_0_100` with the default one:",
        "Kendall's tau-b over all sites, and the share of the default top decile / top 100 still in the",
        "variant's. Rows where the top 100 keeps less than 80 % are in **bold**.",
        "",
    ]
    for name, part in table.groupby("dataset", sort=False):
        lines += [
            f"## {name} ({n_sites[name]:,} sites)",
            "",
            "| parameter | Kendall tau | top decile | top 100 |",
            "|---|---|---|---|",
        ]
        for _, r in part.iterrows():
            cells = [r["parameter"], f"{r['kendall_tau']:.3f}", f"{r['top_decile']:.0%}", f"{r['top_100']:.0%}"]
            if r["top_100"] < 0.8:
                cells = [f"**{c}**" for c in cells]
            lines.append("| " + " | ".join(cells) + " |")
        moved = part.loc[part["top_100"] < 0.8, "parameter"].tolist()
        lines += ["", "Parameters that move the top 100 by more than 20 %: " + (", ".join(moved) or "none") + ".", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shared", type=Path, default=SHARED, help="the shared data folder (default: %(default)s)")
    parser.add_argument("--no-write", action="store_true", help=f"print only, do not write {OUT.name}")
    args = parser.parse_args(argv)
    tables, n_sites = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, sources in datasets(args.shared).items():
            part, n_sites[name] = run(name, sources, Path(tmp))
            tables.append(part)
    table = pd.concat(tables, ignore_index=True)
    text = to_markdown(table, n_sites)
    print(text)
    if not args.no_write:
        OUT.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
