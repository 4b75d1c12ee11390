"""The dashboard's whole state as a URL query string, so a view can be shared or bookmarked.

``encode_state(dict) -> str`` writes only what differs from the defaults, in short
readable keys (``?c=COD,GHA&r=high,very+high&w=mercury:0.5``). ``decode_state(str) -> dict``
validates every value and never raises: anything it cannot use is dropped, the
default kept, and a sentence added to ``state["messages"]``.

Pure module: no dash, no pandas, no I/O.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode

from geo.vocab import DECAY_KEYS, MERCURY_USE, RISK_CLASSES, WEIGHT_KEYS

PA_MODES: tuple[str, ...] = ("any", "inside", "near", "far")
ECOSYSTEMS: tuple[str, ...] = ("rainforest", "reef", "arctic")
OVERLAYS: tuple[str, ...] = ("protected_areas", "rainforest", "reefs", "arctic", "countries", "mining")
SIZE_BY: tuple[str, ...] = ("none", "workers", "mercury")
MAX_DECAY_KM = 1000.0
MAX_LIST = 300  # more values than any real filter has: a guard against hostile URLs
MAX_QUERY_CHARS = 20_000
MAX_SELECTION_VERTICES = 100  # a map selection (lasso or box) travels as its polygon: at most ~2 kB of the link
MAX_AOI_KM = 500.0  # geo.aoi's largest buffer
# an area of interest by reference: a protected area of the data (pa:<id>), a file uploaded to the workspace
# (up:<content hash>), or a polygon drawn on the map, inline (draw:<lon,lat~...>, at most MAX_SELECTION_VERTICES)
AOI_KINDS: tuple[str, ...] = ("pa", "up", "draw")
_UPLOAD_REF = re.compile(r"^[0-9a-f]{16,64}$")

_ISO3 = re.compile(r"^[A-Z]{3}$")
_TOKEN = re.compile(r"^[A-Za-z0-9_ .\-]{1,80}$")
_SITE_ID = re.compile(r"^[^\x00-\x1f<>\"'`]{1,200}$")


def default_state() -> dict[str, Any]:
    """A fresh dict of defaults (callers may mutate it)."""
    return {
        "countries": [],
        "commodities": [],
        "risk_classes": list(RISK_CLASSES),
        "mercury_use": [],
        "pa_mode": "any",
        "pa_km": 10.0,
        "ecosystems": [],
        "eco_km": 10.0,
        "date_from": None,
        "date_to": None,
        "weights": {},
        "decay": {},
        "site": None,
        "view": None,
        "selection": None,
        "size_by": "workers",
        "overlays": ["countries", "mining"],
        "aoi": None,
        "aoi_km": 10.0,
        "messages": [],
    }


# short URL key -> state key
_KEYS = {
    "c": "countries",
    "m": "commodities",
    "r": "risk_classes",
    "hg": "mercury_use",
    "pa": "pa_mode",
    "pakm": "pa_km",
    "eco": "ecosystems",
    "ecokm": "eco_km",
    "from": "date_from",
    "to": "date_to",
    "w": "weights",
    "d": "decay",
    "site": "site",
    "v": "view",
    "sel": "selection",
    "size": "size_by",
    "ov": "overlays",
    "aoi": "aoi",
    "aoikm": "aoi_km",
}
_URL_KEY = {v: k for k, v in _KEYS.items()}


def _fmt_num(x: float) -> str:
    return f"{x:.6g}"


def _encode_value(key: str, value: Any) -> str:
    if key in ("countries", "commodities", "risk_classes", "mercury_use", "ecosystems", "overlays"):
        return ",".join(str(v) for v in value) or "none"
    if key in ("pa_km", "eco_km", "aoi_km"):
        return _fmt_num(float(value))
    if key == "weights":
        return ",".join(f"{k}:{_fmt_num(float(v))}" for k, v in sorted(value.items()))
    if key == "decay":
        return ",".join(f"{k}:{_fmt_num(float(v[0]))}-{_fmt_num(float(v[1]))}" for k, v in sorted(value.items()))
    if key == "view":
        lon, lat, zoom = value
        return f"{lon:.4f},{lat:.4f},{zoom:.2f}"
    if key == "selection":
        return "~".join(f"{lon:.4f},{lat:.4f}" for lon, lat in value)
    return str(value)


def encode_state(state: Mapping[str, Any]) -> str:
    """The query string (with a leading '?', or '' for the defaults) of the non-default parts of ``state``."""
    defaults = default_state()
    pairs: list[tuple[str, str]] = []
    for key, url_key in _URL_KEY.items():
        value = state.get(key, defaults[key])
        if value is None or value == defaults[key]:
            continue
        if isinstance(value, dict) and not value:
            continue
        pairs.append((url_key, _encode_value(key, value)))
    return "?" + urlencode(pairs, safe=",:~") if pairs else ""


def _split(text: str) -> list[str]:
    return [p.strip() for p in text.split(",") if p.strip()][:MAX_LIST]


def _number(text: str, lo: float, hi: float) -> float | None:
    try:
        x = float(text)
    except ValueError:
        return None
    if not math.isfinite(x) or x < lo or x > hi:
        return None
    return x


def _date(text: str) -> str | None:
    try:
        return dt.date.fromisoformat(text.strip()).isoformat()
    except ValueError:
        return None


def decode_state(query: str | None) -> dict[str, Any]:
    """The state in ``query`` (``'?a=b&...'`` or ``'a=b&...'``), validated; never raises.

    Unknown keys and invalid values are ignored with a message in ``state["messages"]``;
    the defaults stand in for them.
    """
    state = default_state()
    messages: list[str] = state["messages"]
    if not isinstance(query, str) or not query.strip("?"):
        return state
    if len(query) > MAX_QUERY_CHARS:
        messages.append(f"the link is too long ({len(query)} characters); the default view is shown")
        return state
    try:
        pairs = parse_qsl(query.lstrip("?"), keep_blank_values=False, max_num_fields=100)
    except ValueError:
        messages.append("the link's query string could not be read; the default view is shown")
        return state
    for url_key, raw in pairs:
        key = _KEYS.get(url_key)
        if key is None:
            messages.append(f"ignored unknown link parameter {url_key[:30]!r}")
            continue
        if key in ("countries", "commodities"):
            value, dropped = _decode_items(key, raw)
            if dropped:
                messages.append(f"ignored invalid {key} {', '.join(repr(d[:40]) for d in dropped[:10])}")
        else:
            value = _decode_value(key, raw)
        if value is None:
            messages.append(f"ignored invalid value for {url_key!r}: {raw[:60]!r}")
            continue
        state[key] = value
    if state["date_from"] and state["date_to"] and state["date_from"] > state["date_to"]:
        messages.append("the date range was reversed; it has been swapped")
        state["date_from"], state["date_to"] = state["date_to"], state["date_from"]
    return state


def _decode_items(key: str, raw: str) -> tuple[list[str] | None, list[str]]:
    """(valid items or None when none is, dropped items) of a country or commodity list."""
    items = _split(raw)
    if key == "countries":
        items = [v.upper() for v in items]
    pattern = _ISO3 if key == "countries" else _TOKEN
    valid = [v for v in items if pattern.match(v)]
    dropped = [v for v in items if not pattern.match(v)]
    return (valid or None), dropped if valid else []


def _decode_value(key: str, raw: str) -> Any:
    if key == "countries":
        vals = [v.upper() for v in _split(raw)]
        return vals if vals and all(_ISO3.match(v) for v in vals) else None
    if key == "commodities":
        vals = _split(raw)
        return vals if vals and all(_TOKEN.match(v) for v in vals) else None
    if key in ("risk_classes", "mercury_use", "ecosystems", "overlays"):
        allowed = {
            "risk_classes": RISK_CLASSES,
            "mercury_use": MERCURY_USE,
            "ecosystems": ECOSYSTEMS,
            "overlays": OVERLAYS,
        }[key]
        if raw.strip() == "none":
            return []
        vals = _split(raw)
        return [v for v in allowed if v in vals] if vals and all(v in allowed for v in vals) else None
    if key in ("pa_mode", "size_by"):
        return raw if raw in (PA_MODES if key == "pa_mode" else SIZE_BY) else None
    if key in ("pa_km", "eco_km"):
        return _number(raw, 0.0, MAX_DECAY_KM)
    if key == "aoi_km":
        return _number(raw, 0.0, MAX_AOI_KM)
    if key == "aoi":
        return aoi_reference(raw)
    if key in ("date_from", "date_to"):
        return _date(raw)
    if key == "weights":
        out: dict[str, float] = {}
        for part in _split(raw):
            name, _, num = part.partition(":")
            x = _number(num, 0.0, 1.0)
            if name not in WEIGHT_KEYS or x is None:
                return None
            out[name] = x
        return out or None
    if key == "decay":
        dec: dict[str, list[float]] = {}
        for part in _split(raw):
            name, _, rng = part.partition(":")
            near_s, _, outer_s = rng.partition("-")
            near, outer = _number(near_s, 0.0, MAX_DECAY_KM), _number(outer_s, 0.0, MAX_DECAY_KM)
            if name not in DECAY_KEYS or near is None or outer is None or near >= outer:
                return None
            dec[name] = [near, outer]
        return dec or None
    if key == "site":
        return raw if _SITE_ID.match(raw) else None
    if key == "view":
        parts = raw.split(",")
        if len(parts) != 3:
            return None
        lon, lat, zoom = _number(parts[0], -180, 180), _number(parts[1], -90, 90), _number(parts[2], 0, 22)
        return None if None in (lon, lat, zoom) else [lon, lat, zoom]
    if key == "selection":
        return _polygon(raw)
    return None


def _polygon(raw: str) -> list[list[float]] | None:
    """A map selection's polygon: 3 to MAX_SELECTION_VERTICES 'lon,lat' pairs joined by '~', else None."""
    pairs = raw.split("~")
    if not 3 <= len(pairs) <= MAX_SELECTION_VERTICES:
        return None
    out = []
    for pair in pairs:
        parts = pair.split(",")
        if len(parts) != 2:
            return None
        lon, lat = _number(parts[0], -540.0, 540.0), _number(parts[1], -90.0, 90.0)
        if lon is None or lat is None:
            return None
        out.append([lon, lat])
    return out


def aoi_reference(raw: object) -> str | None:
    """A valid AOI reference in its canonical form (``pa:<id>``, ``up:<hash>``, ``draw:<lon,lat~...>``), else None."""
    if not isinstance(raw, str):
        return None
    kind, _, rest = raw.partition(":")
    if kind == "pa":
        return raw if _SITE_ID.match(rest) else None
    if kind == "up":
        return raw if _UPLOAD_REF.match(rest) else None
    if kind == "draw":
        ring = _polygon(rest)
        return None if ring is None else "draw:" + _encode_value("selection", ring)
    return None


def aoi_polygon(reference: str) -> list[list[float]] | None:
    """The [lon, lat] vertices of a drawn AOI reference (``draw:...``), else None."""
    kind, _, rest = reference.partition(":") if isinstance(reference, str) else ("", "", "")
    return _polygon(rest) if kind == "draw" else None


def sanitise_state(state: Mapping[str, Any]) -> dict[str, Any]:
    """Round-trip ``state`` through the URL form: the same validation as a shared link."""
    return decode_state(encode_state(state))


__all__ = ["aoi_polygon", "aoi_reference", "decode_state", "default_state", "encode_state", "sanitise_state"]
