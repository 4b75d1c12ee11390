"""Mercury totals of a filtered view (Monte Carlo, ``geo.uncertainty.mercury_totals``), remembered by what
they depend on: the view's sites and their mercury inputs, and the mercury part of the configuration.

A weight or decay change re-scores every site but changes no site's mercury estimate, so the
mercury-by-country chart would otherwise draw the same 1,000 Monte Carlo sums again on every slider
move (about 0.3 s on 100,000 sites). The key is a hash of the inputs themselves, not of an id, so two datasets or workspaces can never
share an entry by mistake. Hashing a view's inputs costs about 30 ms on 100,000 sites and 1.5 s on a
million, so a prepared frame (``dashboard.views.prepare_scored``) carries the digest of all its rows'
inputs in ``attrs`` (computed once per dataset), and a view of it is keyed by that digest and the
positions of its rows (a few milliseconds on a million).
Per process, bounded, and the same for every user (a memo of a pure function, not user state).
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict

import pandas as pd

from geo.risk import RiskConfig
from geo.summary import config_of
from geo.uncertainty import DrawInputs, draw_inputs, mercury_totals

#: the site columns the mercury estimate reads (geo.mercury.site_mercury), plus the id that seeds a
#: site's draws and the grouping key
MERCURY_INPUT_COLUMNS: tuple[str, ...] = (
    "site_id", "commodity", "commodities", "mercury_use", "amalgamation", "retort", "cyanidation", "processing",
    "gold_kg_per_yr", "workers", "area_km2",
)  # fmt: skip
#: the parts of the configuration the mercury estimate and its Monte Carlo read (not the weights, the decay,
#: the IUCN weights, the classes or the background sensitivity)
MERCURY_CONFIG_PARTS: tuple[str, ...] = ("version", "mercury", "footprint", "land_use", "uncertainty")
MAX_ENTRIES = 32
#: ``attrs`` key of a prepared frame's digest of every row's mercury inputs and country (see inputs_digest)
DIGEST_ATTR = "dashboard_mercury_inputs_digest"
#: the grouping columns the digest covers
DIGEST_GROUPS: tuple[str, ...] = ("country_iso3",)

_cache: OrderedDict[tuple, pd.DataFrame] = OrderedDict()
_lock = threading.Lock()
#: Monte Carlo inputs of every row of a prepared frame, by (its digest, the mercury configuration): a new view
#: takes its rows' entries instead of computing them (``site_mercury`` and the site-id hashes of 1M rows:
#: ~0.2-0.4 s); ~42 bytes a site
MAX_INPUTS = 4
_inputs: OrderedDict[tuple, DrawInputs] = OrderedDict()


def mercury_config_key(config: RiskConfig) -> str:
    """The mercury part of a configuration, as canonical JSON."""
    whole = config.to_dict()
    return json.dumps({k: whole[k] for k in MERCURY_CONFIG_PARTS}, sort_keys=True, separators=(",", ":"))


def _digest(frame: pd.DataFrame, by: str) -> tuple:
    cols = [c for c in (*MERCURY_INPUT_COLUMNS, by) if c in frame.columns]
    rows = pd.util.hash_pandas_object(frame[cols], index=False).to_numpy()
    return (tuple(cols), len(frame), hashlib.blake2b(rows.tobytes(), digest_size=16).hexdigest())


def inputs_digest(prepared: pd.DataFrame) -> str:
    """The digest of every row's mercury inputs and grouping columns, in order (for ``attrs[DIGEST_ATTR]``)."""
    return repr([_digest(prepared, by) for by in DIGEST_GROUPS])


def inputs_key(view: pd.DataFrame, by: str, *, row_column: str = "_row") -> tuple:
    """A digest of the view's rows (in order) over the mercury inputs and the grouping column.

    A view of a prepared frame (its ``attrs`` hold the digest of all the frame's rows, and
    ``row_column`` each row's position in it) is keyed by that digest and its rows' positions.
    """
    whole = view.attrs.get(DIGEST_ATTR)
    if whole is not None and by in DIGEST_GROUPS and row_column in view.columns:
        rows = view[row_column].to_numpy()
        return ("rows of", whole, by, len(view), hashlib.blake2b(rows.tobytes(), digest_size=16).hexdigest())
    return _digest(view, by)


def remember_draw_inputs(prepared: pd.DataFrame) -> None:
    """Compute the Monte Carlo inputs of every row of a prepared frame once (under the configuration it was
    scored with), for the views of it (:func:`grouped_mercury_totals`)."""
    config, whole = config_of(prepared), prepared.attrs.get(DIGEST_ATTR)
    if config is None or whole is None:
        return
    inputs = draw_inputs(prepared, config)
    with _lock:
        _inputs[(whole, mercury_config_key(config))] = inputs
        while len(_inputs) > MAX_INPUTS:
            _inputs.popitem(last=False)


def _view_inputs(view: pd.DataFrame, config: RiskConfig, row_column: str = "_row") -> DrawInputs | None:
    """The view's rows' entries of its prepared frame's remembered inputs (None when not remembered)."""
    whole = view.attrs.get(DIGEST_ATTR)
    if whole is None or row_column not in view.columns:
        return None
    with _lock:
        inputs = _inputs.get((whole, mercury_config_key(config)))
    return None if inputs is None else inputs.take(view[row_column].to_numpy())


def grouped_mercury_totals(view: pd.DataFrame, config: RiskConfig, by: str) -> pd.DataFrame:
    """``mercury_totals(view, config, by)``, from the memo when the same sites and mercury settings were seen."""
    key = (mercury_config_key(config), by, inputs_key(view, by))
    with _lock:
        hit = _cache.get(key)
        if hit is not None:
            _cache.move_to_end(key)
            return hit.copy()
    out = mercury_totals(view, config, by, inputs=_view_inputs(view, config))
    with _lock:
        _cache[key] = out
        while len(_cache) > MAX_ENTRIES:
            _cache.popitem(last=False)
    return out.copy()


def clear() -> None:
    """Forget every remembered total (tests)."""
    with _lock:
        _cache.clear()
        _inputs.clear()
