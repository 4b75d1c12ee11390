"""Dashboard benchmark: server time of a filter change and of the map figure, and payload bytes per view.

    python benchmarks/bench_dashboard.py [--sizes 10000 100000] [--repeat 5]

Synthetic scored frames (tests/dashboard/synthetic.py: the output contract, fictional
values). Every figure is compared with a NAMED BASELINE measured in the same run:

* map baseline "lists + per-point hover text": the same Scattermap traces built from
  Python lists with one hover string per point (``text=...``, ``hoverinfo='text'``);
* filter baseline "string columns": the same filter on plain string columns instead of
  the categoricals that ``views.prepare_scored`` makes;
* table baseline "all rows to the browser": every filtered row serialised as grid rowData,
  against one 100-row block of the infinite row model the dashboard uses.

Medians of ``--repeat`` runs, on whatever machine runs it (numbers in docs/performance.md).

``--baseline TREE`` measures instead the whole server path of a weight change, in this tree and in
another checkout (e.g. the asm-risk-model 1.0 commit in a temporary worktree), each in a fresh
subprocess that imports its own tree, interleaved round by round on the same synthetic facts:

    git worktree add --detach /tmp/base 7cd8df0
    python benchmarks/bench_dashboard.py --baseline /tmp/base --sizes 10000 100000

The path is what the callbacks do after a slider moves: re-score the facts with the new weights and
prepare the frame (the tree's ``dashboard.data.rescore`` when it has one, else
``prepare_scored(score_facts(...))`` as its ``get_scored`` did), filter, build and serialise the
map, the five charts and the table's first block, and open one site's detail record. Wall time per
step, and the process CPU time of the whole path (steadier while other jobs share the machine).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import geopandas as gpd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import plotly.graph_objects as go  # noqa: E402
import plotly.io as pio  # noqa: E402

from benchmarks.synthetic_scored import model_facts, synthetic_scored  # noqa: E402
from dashboard.data import rescore  # noqa: E402
from dashboard.figures import CHART_NAMES, RISK_COLOURS, RISK_ORDER, make_chart_figure, make_map_figure  # noqa: E402
from dashboard.state import default_state  # noqa: E402
from dashboard.views import filter_view, prepare_scored, table_page, table_rows  # noqa: E402
from layers.risk_config import load_risk_config  # noqa: E402
from scoring.pipeline import score_facts  # noqa: E402


def _median_s(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def baseline_map(view) -> go.Figure:
    """The naive figure: Python lists and one hover string per point."""
    fig = go.Figure()
    for cls in RISK_ORDER:
        part = view[view["risk_class"].astype(str) == cls]
        text = [
            f"<b>{n}</b><br>{c}<br>risk {r:.0f}/100 ({cls})<br>nearest protected area: {p}<br>distance: {d:.1f} km"
            for n, c, r, p, d in zip(part["name"], part["commodity"], part["risk_0_100"], part["nearest_protected_area"], part["dist_protected_area_km"], strict=True)
        ]  # fmt: skip
        fig.add_trace(
            go.Scattermap(
                lon=part["lon"].tolist(), lat=part["lat"].tolist(), mode="markers", name=cls,
                marker={"size": 7, "color": RISK_COLOURS[cls]}, text=text, hoverinfo="text",
                customdata=part["site_id"].tolist(),
            )
        )  # fmt: skip
    fig.update_layout(map={"style": "white-bg", "zoom": 1})
    return fig


def run(n: int, repeat: int) -> dict:
    raw = synthetic_scored(n, seed=42, geometry=False)
    prepared = prepare_scored(raw)
    plain = raw.copy()
    for col in ("country_iso3", "commodity", "risk_class", "mercury_use"):
        plain[col] = plain[col].astype(str)
    state = {
        **default_state(),
        "countries": ["COD", "GHA", "PER", "BRA"],
        "risk_classes": ["moderate", "high", "very high"],
        "mercury_use": ["yes", "unknown"],
    }
    out: dict[str, float] = {"n": n}
    out["filter_categorical_ms"] = 1e3 * _median_s(lambda: filter_view(prepared, state), repeat)
    out["filter_string_baseline_ms"] = 1e3 * _median_s(lambda: filter_view(plain, state), repeat)
    view = filter_view(prepared, state)
    out["view_rows"] = len(view)
    full = filter_view(prepared, default_state())

    # the map: build + serialise (what the server does for the figure output)
    out["map_build_ms"] = 1e3 * _median_s(lambda: make_map_figure(full, size_by="workers"), repeat)
    fig = make_map_figure(full, size_by="workers")
    out["map_json_ms"] = 1e3 * _median_s(lambda: pio.to_json(fig, validate=False), repeat)
    out["map_payload_mb"] = len(pio.to_json(fig, validate=False)) / 1e6
    base_repeat = max(1, repeat // 2)
    out["map_baseline_build_ms"] = 1e3 * _median_s(lambda: baseline_map(full), base_repeat)
    base = baseline_map(full)
    out["map_baseline_json_ms"] = 1e3 * _median_s(lambda: pio.to_json(base, validate=False), base_repeat)
    out["map_baseline_payload_mb"] = len(pio.to_json(base, validate=False)) / 1e6

    # the rest of a filter change: five charts, count, first table block (the filter callback's work)
    def charts_and_table():
        v = filter_view(prepared, state)
        figs = [make_chart_figure(name, v) for name in CHART_NAMES]
        page = table_page(v, {"startRow": 0, "endRow": 100})
        return figs, page

    out["filter_callback_ms"] = 1e3 * _median_s(
        lambda: [pio.to_json(f, validate=False) for f in charts_and_table()[0]], repeat
    )
    figs, page = charts_and_table()
    out["charts_payload_kb"] = sum(len(pio.to_json(f, validate=False)) for f in figs) / 1e3
    out["table_block_ms"] = 1e3 * _median_s(
        lambda: json.dumps(table_page(view, {"startRow": 0, "endRow": 100})), repeat
    )
    out["table_block_kb"] = len(json.dumps(page)) / 1e3
    out["table_all_rows_ms"] = 1e3 * _median_s(lambda: json.dumps(table_rows(view)), base_repeat)
    out["table_all_rows_mb"] = len(json.dumps(table_rows(view))) / 1e6

    # re-scoring with new weights as the dashboard does (never proximity; the explanation sentence left for
    # the rows shown), and with the sentence for every row (what the CLI writes)
    facts = synthetic_scored(n, seed=42)
    config = load_risk_config(None, {"weights": {"mercury": 0.5}})
    out["rescore_ms"] = 1e3 * _median_s(lambda: rescore(facts, config), max(1, repeat // 2))
    out["rescore_with_sentences_ms"] = 1e3 * _median_s(
        lambda: prepare_scored(score_facts(facts, config)), max(1, repeat // 2)
    )
    return out


# Runs inside the tree being measured (cwd = that tree): its own scoring, views and figures.
_REDRAW_TIMER = r"""
import json, statistics, sys, time
sys.path.insert(0, ".")
import geopandas as gpd
import plotly.io as pio
try:
    from scoring.pipeline import score_facts
except ImportError:  # before the scoring package
    from layers.pipeline import score_facts
try:
    from layers.risk_config import default_risk_config
except ImportError:  # asm-risk-model 1.x kept the loader in geo.risk
    from geo.risk import default_risk_config
from dashboard import views
from dashboard.figures import CHART_NAMES, make_chart_figure, make_dashboard_map
from dashboard.state import default_state
try:
    from dashboard.data import rescore
except ImportError:  # the tree's get_scored: score (with the explanation sentence) and prepare
    def rescore(facts, config):
        return views.prepare_scored(score_facts(facts, config))
try:
    from dashboard.views import site_detail_record as detail_record
except ImportError:
    def detail_record(scored, site_id, config):
        return views.site_record(scored, site_id)

facts = gpd.read_parquet(sys.argv[1])
repeats = int(sys.argv[2])
cfg = default_risk_config()
state = views.render_state(default_state())

def charts(view, config):
    out = []
    for name in CHART_NAMES:
        try:
            fig = make_chart_figure(name, view, class_bounds=config.class_thresholds, config=config)
        except TypeError:  # charts that take no configuration
            fig = make_chart_figure(name, view, class_bounds=config.class_thresholds)
        out.append(pio.to_json(fig, validate=False))
    return out

def redraw(config):
    t = {}
    c0 = time.process_time()
    t0 = time.perf_counter()
    scored = rescore(facts, config)
    t["rescore"] = time.perf_counter() - t0
    t1 = time.perf_counter()
    view = views.filter_view(scored, state)
    fig = make_dashboard_map(view, all_sites=scored, countries=None, overlay_frames={}, state=state)
    pio.to_json(fig, validate=False)
    t["map"] = time.perf_counter() - t1
    t1 = time.perf_counter()
    charts(view, config)
    t["charts"] = time.perf_counter() - t1
    t1 = time.perf_counter()
    try:  # the callback's block: with the configuration (explanations and cell texts of those rows) where taken
        block = views.table_page(view, {"startRow": 0, "endRow": 100}, None, config)
    except TypeError:
        block = views.table_page(view, {"startRow": 0, "endRow": 100})
    json.dumps(block, default=str)
    t["table_block"] = time.perf_counter() - t1
    t1 = time.perf_counter()
    detail_record(scored, str(scored["site_id"].iloc[len(scored) // 2]), config)
    t["detail"] = time.perf_counter() - t1
    t["total"] = time.perf_counter() - t0
    t["total_cpu"] = time.process_time() - c0  # steadier than wall time on a shared machine
    return t

redraw(cfg)  # warm-up: imports, JIT, caches
runs = []
for i in range(repeats):  # a different weight each time, as a slider moving: no cache can answer
    runs.append(redraw(cfg.with_overrides({"weights.mercury": 0.5 + 0.05 * (i % 9), "weights.protected_area": 0.9})))
print(json.dumps({k: statistics.median(r[k] for r in runs) for k in runs[0]}))
"""


def redraw_facts(n: int) -> gpd.GeoDataFrame:
    """The re-score benchmark's facts (both models' columns) plus what the map and the table show."""
    return model_facts(n)


def _redraw_in(tree: Path, facts_path: Path, repeats: int) -> dict[str, float]:
    r = subprocess.run(
        [sys.executable, "-c", _REDRAW_TIMER, str(facts_path), str(repeats)],
        cwd=tree, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if r.returncode != 0:
        raise SystemExit(f"redraw timing in {tree} failed:\n{r.stderr[-3000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def compare_redraw(baseline: Path, sizes: list[int], repeats: int, rounds: int) -> None:
    """The weight-change path in this tree and in ``baseline``, interleaved; medians over rounds, and the ratio."""
    keys = ("rescore", "map", "charts", "table_block", "detail", "total", "total_cpu")
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            path = Path(tmp) / f"facts_{n}.parquet"
            redraw_facts(n).to_parquet(path)
            runs: dict[str, list[dict[str, float]]] = {"base": [], "this": []}
            for _ in range(rounds):
                runs["base"].append(_redraw_in(baseline, path, repeats))
                runs["this"].append(_redraw_in(ROOT, path, repeats))
            print(f"\nweight change -> redraw, {n:,} sites ({rounds} interleaved rounds x {repeats} changes, medians)")
            print("| step | this tree ms | baseline ms | ratio |\n|---|---|---|---|")
            for key in keys:
                this = statistics.median(r[key] for r in runs["this"])
                base = statistics.median(r[key] for r in runs["base"])
                print(
                    f"| {key} | {this * 1e3:,.1f} | {base * 1e3:,.1f} | {this / base if base else float('nan'):.2f} |"
                )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--baseline", type=Path, help="checkout to compare the weight-change path with")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (with --baseline)")
    args = parser.parse_args()
    if args.baseline is not None:
        compare_redraw(args.baseline, args.sizes, args.repeat, args.rounds)
        return 0
    rows = [run(n, args.repeat) for n in args.sizes]
    keys = list(rows[0])
    print("| metric | " + " | ".join(f"{r['n']:,} sites" for r in rows) + " |")
    print("|---|" + "---|" * len(rows))
    for k in keys[1:]:
        print(f"| {k} | " + " | ".join(f"{r[k]:,.1f}" if isinstance(r[k], float) else f"{r[k]:,}" for r in rows) + " |")
    for r in rows:
        print(
            f"\n{r['n']:,} sites: map build+serialise {r['map_build_ms'] + r['map_json_ms']:.0f} ms vs baseline "
            f"{r['map_baseline_build_ms'] + r['map_baseline_json_ms']:.0f} ms "
            f"(x{(r['map_baseline_build_ms'] + r['map_baseline_json_ms']) / (r['map_build_ms'] + r['map_json_ms']):.1f}); "
            f"payload {r['map_payload_mb']:.2f} MB vs {r['map_baseline_payload_mb']:.2f} MB "
            f"(x{r['map_baseline_payload_mb'] / r['map_payload_mb']:.1f}); filter x{r['filter_string_baseline_ms'] / r['filter_categorical_ms']:.1f}; "
            f"table block {r['table_block_kb']:.0f} kB vs all rows {r['table_all_rows_mb']:.1f} MB"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
