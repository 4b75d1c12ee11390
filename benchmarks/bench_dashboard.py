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

``--baseline TREE`` measures instead what the server does for the user, through the callbacks themselves
(called as functions on a dataset built from the same synthetic facts), in this tree and in another
checkout (e.g. the base commit of a branch in a temporary worktree), each in a fresh subprocess that
imports its own tree, interleaved round by round (``--callbacks`` alone: this tree only):

    git worktree add --detach /tmp/base main
    python benchmarks/bench_dashboard.py --baseline /tmp/base --sizes 10000 100000 1000000

* filter -> redraw: a different country / risk-class filter each time (no memo answers for those rows):
  the map callback, the charts + table callback and the table's first block, each serialised as Dash
  does (plotly's JSON encoder); the server total is their sum; the mercury chart's callback (a Monte Carlo
  of the view, a request of its own where the tree has one) is timed apart, and "everything" adds it;
* weight change -> redraw: a different weight each time (no cache answers): the same three callbacks,
  the re-score included (in the first of them, as in the browser), and one site's detail;
* the map's payload for the whole data (camera fitted), a filtered view and zoom 7 at the median site.

Wall time and the process CPU time (steadier while other jobs share the machine).
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


# Runs inside the tree being measured (cwd = that tree): its own scoring, data caches, callbacks and figures.
# The callbacks are called as plain functions (as tests/dashboard/test_callbacks.py does), on a dataset
# built from the given facts; Dash serialises their outputs with plotly's JSON encoder, timed here too.
_CALLBACK_TIMER = r"""
import inspect, json, statistics, sys, tempfile, time
sys.path.insert(0, ".")
import flask
import geopandas as gpd
from plotly.io.json import to_json_plotly
from dash._callback_context import context_value
from dash._utils import AttributeDict
from dash.exceptions import PreventUpdate
from dashboard import callbacks as cb
from dashboard import data
from dashboard.data import Dataset
from dashboard.state import default_state
from dashboard.views import render_state
from scoring.pipeline import score_facts
from settings import Settings

facts = gpd.read_parquet(sys.argv[1])
repeats = int(sys.argv[2])
settings = Settings(cache_dir=tempfile.mkdtemp())
t0 = time.perf_counter()
dataset = Dataset(
    facts=facts, scored=score_facts(facts, data.risk_config(settings)), countries=None, protected_areas=None,
    sources=(), warnings=(), is_demo=False, n_rejected=0,
)
load_s = time.perf_counter() - t0
data.get_dataset_for = cb.get_dataset_for = lambda s, ws: dataset  # the server's data: these facts
server = flask.Flask("bench")
server.config["ASM_SETTINGS"] = settings
COUNTRIES = sorted(facts["country_iso3"].dropna().unique())
CLASSES = ["low", "moderate", "high", "very high"]

def size(out):
    return len(to_json_plotly(out))

def clock(fn):
    t = time.perf_counter()
    c = time.process_time()
    out = fn()
    return out, time.perf_counter() - t, time.process_time() - c

def redraw(state, site=None, view=None):
    # what a change of the render state asks of the server: the map, the charts and table, the first block
    t = {}
    context_value.set(AttributeDict(triggered_inputs=[], updated_props={}))
    m, t["map"], c1 = clock(lambda: size(cb.update_map(state, None, view, None)))
    _, t["charts_table"], c2 = clock(lambda: charts_and_table(state))
    _, t["table_block"], c3 = clock(lambda: size(cb.table_block({"startRow": 0, "endRow": 100}, state, None, None)))
    t["total"] = t["map"] + t["charts_table"] + t["table_block"]
    t["total_cpu"] = c1 + c2 + c3
    t["mercury"] = t["mercury_cpu"] = 0.0  # a tree whose charts callback draws the Monte Carlo chart itself
    if hasattr(cb, "update_mercury_chart"):  # its own request: the rest never waits for it
        _, t["mercury"], t["mercury_cpu"] = clock(lambda: mercury_chart(state))
    t["all"], t["all_cpu"] = t["total"] + t["mercury"], t["total_cpu"] + t["mercury_cpu"]
    if site is not None:
        _, t["detail"], _ = clock(lambda: size(cb.show_site(site, state, None)))
    t["map_mb"] = m / 1e6
    return t

DRAWN = [None]  # what the page's mercury chart shows (its store): a weight change leaves it alone
CHARTS = [None]  # the same for the other charts (a tree with the store)

def charts_and_table(state):
    if "drawn" not in inspect.signature(cb.update_charts_and_table).parameters:  # a tree without the store
        return size(cb.update_charts_and_table(state, None))
    out = cb.update_charts_and_table(state, None, CHARTS[0])
    CHARTS[0] = out[-1]
    return size(out)

def mercury_chart(state):
    try:
        out = cb.update_mercury_chart(state, None, DRAWN[0])
    except PreventUpdate:
        return 0
    DRAWN[0] = out[1]
    return size(out)

def filtered(i):
    # a different filter each time (as a user clicking through): no memo answers for these rows
    countries = [c for j, c in enumerate(COUNTRIES) if (i + 1) >> j & 1] or COUNTRIES[:1]
    return render_state({**default_state(), "countries": countries, "risk_classes": CLASSES[i % 3:]})

out = {"load_s": load_s}
with server.test_request_context():
    redraw(render_state(default_state()))  # warm-up: imports, JIT, the default frame
    site = str(dataset.scored["site_id"].iloc[len(facts) // 2])
    runs = [redraw(filtered(i)) for i in range(repeats)]
    out.update({"filter_" + k: statistics.median(r[k] for r in runs) for k in runs[0]})
    runs = [
        redraw(render_state({**default_state(), "weights": {"mercury": 0.5 + 0.05 * (i % 9), "protected_area": 0.9}}), site)
        for i in range(repeats)
    ]  # a different weight each time, as a slider moving: no cache can answer
    out.update({"weight_" + k: statistics.median(r[k] for r in runs) for k in runs[0]})
    world = redraw(render_state(default_state()))  # the whole data, the camera fitted to it
    out["map_mb_world"] = world["map_mb"]
    lon, lat = float(facts["lon"].median()), float(facts["lat"].median())
    close = redraw(render_state(default_state()), view=[lon, lat, 7.0])
    out["map_mb_zoom7"], out["map_s_zoom7"] = close["map_mb"], close["map"]
print(json.dumps(out))
"""

#: rows of the comparison: (key, label, unit)
_ROWS = (
    ("filter_map", "filter -> map callback", "ms"),
    ("filter_charts_table", "filter -> charts + table callback", "ms"),
    ("filter_table_block", "filter -> first table block", "ms"),
    ("filter_total", "**filter -> redraw, server total**", "ms"),
    ("filter_total_cpu", "filter -> redraw, process CPU", "ms"),
    ("filter_mercury", "filter -> mercury chart callback (Monte Carlo; its own request)", "ms"),
    ("filter_mercury_cpu", "filter -> mercury chart callback, process CPU", "ms"),
    ("filter_all", "filter -> everything, mercury chart included", "ms"),
    ("filter_all_cpu", "filter -> everything, process CPU", "ms"),
    ("weight_map", "weight -> map callback (incl. re-score)", "ms"),
    ("weight_charts_table", "weight -> charts + table callback", "ms"),
    ("weight_table_block", "weight -> first table block", "ms"),
    ("weight_total", "**weight -> redraw, server total**", "ms"),
    ("weight_total_cpu", "weight -> redraw, process CPU", "ms"),
    ("weight_mercury", "weight -> mercury chart callback (left alone: no release depends on weights)", "ms"),
    ("weight_all", "weight -> everything, mercury chart included", "ms"),
    ("weight_all_cpu", "weight -> everything, process CPU", "ms"),
    ("weight_detail", "weight -> site detail", "ms"),
    ("map_mb_world", "map payload, whole data", "MB"),
    ("filter_map_mb", "map payload, a filtered view", "MB"),
    ("map_mb_zoom7", "map payload, zoom 7 at the median site", "MB"),
    ("load_s", "dataset load (default score)", "s"),
)


def redraw_facts(n: int) -> gpd.GeoDataFrame:
    """The re-score benchmark's facts (both models' columns) plus what the map and the table show."""
    return model_facts(n)


def _timer_in(tree: Path, facts_path: Path, repeats: int) -> dict[str, float]:
    r = subprocess.run(
        [sys.executable, "-c", _CALLBACK_TIMER, str(facts_path), str(repeats)],
        cwd=tree, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if r.returncode != 0:
        raise SystemExit(f"callback timing in {tree} failed:\n{r.stderr[-3000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def _fmt(value: float, unit: str) -> str:
    return f"{value * 1e3:,.0f}" if unit == "ms" else f"{value:,.2f}"


def compare_callbacks(baseline: Path | None, sizes: list[int], repeats: int, rounds: int) -> None:
    """The filter and weight-change paths through the callbacks, in this tree (and ``baseline``, interleaved)."""
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            path = Path(tmp) / f"facts_{n}.parquet"
            redraw_facts(n).to_parquet(path)
            runs: dict[str, list[dict[str, float]]] = {"base": [], "this": []}
            for _ in range(rounds):
                if baseline is not None:
                    runs["base"].append(_timer_in(baseline, path, repeats))
                runs["this"].append(_timer_in(ROOT, path, repeats))
            print(f"\n{n:,} sites ({rounds} round(s) x {repeats} changes, medians; baseline {baseline or '-'})")
            print("| step | this tree | baseline | ratio |\n|---|---|---|---|")
            for key, label, unit in _ROWS:
                this = statistics.median(r[key] for r in runs["this"])
                if runs["base"] and key in runs["base"][0]:
                    base = statistics.median(r[key] for r in runs["base"])
                    ratio = f"{this / base:.2f}" if base else "-"
                    print(f"| {label} ({unit}) | {_fmt(this, unit)} | {_fmt(base, unit)} | {ratio} |")
                else:
                    print(f"| {label} ({unit}) | {_fmt(this, unit)} | - | - |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--baseline", type=Path, help="checkout to compare the callbacks with (interleaved)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (with --baseline or --callbacks)")
    parser.add_argument("--callbacks", action="store_true", help="the callbacks in this tree only")
    args = parser.parse_args()
    if args.baseline is not None or args.callbacks:
        compare_callbacks(args.baseline, args.sizes, args.repeat, args.rounds)
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
