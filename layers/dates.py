"""Observation dates as written in field inventories: ISO, day-first, Excel serials, years, AMW layer years."""

from __future__ import annotations

import numpy as np
import pandas as pd


def parse_dates(values: pd.Series) -> pd.Series:
    """datetime64[ns] from ISO dates, day-first dates (31/12/2023, 31.12.2023), Excel dates, years (2019, 201900).

    Dates before 1800 or after 2200 (typos such as '0201-05-03') become NaT.
    """
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        out = values
        if getattr(out.dt, "tz", None) is not None:
            out = out.dt.tz_convert("UTC").dt.tz_localize(None)
        return out.where(out.dt.year.between(1800, 2200)).astype("datetime64[ns]")
    obj = values.astype("object")
    uniques = pd.unique(obj[obj.notna()].to_numpy())
    table: dict[object, pd.Timestamp] = {}
    text_keys: list[object] = []
    for u in uniques:
        if isinstance(u, pd.Timestamp | np.datetime64) or hasattr(u, "year"):
            ts = pd.Timestamp(u)
            table[u] = ts.tz_convert("UTC").tz_localize(None) if ts.tzinfo else ts
        elif isinstance(u, int | float | np.integer | np.floating) and not isinstance(u, bool):
            table[u] = _date_from_number(float(u))
        else:
            text_keys.append(u)
    if text_keys:
        text = pd.Series([str(t).strip() for t in text_keys], dtype="str")
        number = pd.to_numeric(text, errors="coerce")
        iso = pd.to_datetime(text.where(~text.str.fullmatch(r"\d+")), format="ISO8601", errors="coerce")
        rest = iso.isna() & number.isna()
        dayfirst = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns]")
        for fmt in (
            "%d/%m/%Y",
            "%d-%m-%Y",
            "%d.%m.%Y",
            "%d/%m/%y",
            "%d-%m-%y",
            "%d.%m.%y",
            "%d/%m/%Y %H:%M",
            "%d/%m/%Y %H:%M:%S",
        ):
            todo = rest & dayfirst.isna()
            if not todo.any():
                break
            dayfirst[todo] = pd.to_datetime(text[todo], format=fmt, errors="coerce")
        for i, key in enumerate(text_keys):
            if pd.notna(iso.iloc[i]):
                ts = pd.Timestamp(iso.iloc[i])
                table[key] = ts.tz_convert("UTC").tz_localize(None) if ts.tzinfo else ts
            elif pd.notna(number.iloc[i]):
                table[key] = _date_from_number(float(number.iloc[i]))
            else:
                table[key] = dayfirst.iloc[i]
    table = {k: (v if pd.notna(v) and 1800 <= v.year <= 2200 else pd.NaT) for k, v in table.items()}
    present = obj.notna()
    out = obj.where(present).map(table).where(present)
    return pd.to_datetime(out, errors="coerce").astype("datetime64[ns]")


def _date_from_number(v: float) -> pd.Timestamp:
    """A year (2019), an AMW layer year (201900 = 2019) or an Excel serial day number."""
    if not np.isfinite(v):
        return pd.NaT
    if 1900 <= v <= 2100 and v.is_integer():
        return pd.Timestamp(int(v), 1, 1)
    if 190000 <= v <= 210000 and v.is_integer() and v % 100 == 0:
        return pd.Timestamp(int(v // 100), 1, 1)
    if 20000 <= v <= 80000:  # Excel serial date (days since 1899-12-30), 1954–2119
        return pd.Timestamp("1899-12-30") + pd.Timedelta(days=v)
    return pd.NaT
