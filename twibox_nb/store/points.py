"""What the metric store keeps of a fetch, and how it turns that back into rows.

The store keys a series by (identity, account SID) (:mod:`twibox_nb.model.identity`): the same
metric on another account (or on the sandbox's demo account) is another series, so demo data never
mixes with real data.

**Grain.** A dated metric is stored per UTC hour and dimension (the engine's finest interval, so
every interval re-aggregates from hours), as *partials* that re-aggregate exactly under every
aggregation: the number of records (``n_rows``), of non-null values (``n_values``), their sum,
minimum, maximum and latest non-null value. Sums, counts and averages (sum / n_values) of any
longer interval follow exactly (up to float rounding), and so do min, max and latest; because the
aggregation is not in the identity, it can change without losing history. A dynamic-date metric
is stored at the exact fetch time, one point per dimension per sync.

>>> import pandas as pd
>>> rows = pd.DataFrame({"date": pd.to_datetime(["2026-11-01T10:05Z", "2026-11-01T10:50Z",
...                                              "2026-11-01T11:00Z"], utc=True),
...                      "value": [2.0, None, 4.0], "dimension": pd.Categorical(["a", "a", "a"])})
>>> points = to_points(rows, dynamic=False)
>>> points["n_rows"].tolist(), points["n_values"].tolist(), points["value_sum"].tolist()
([2, 1], [1, 1], [2.0, 4.0])
>>> to_rows(points, "average")["value"].tolist()  # one row per record: the hour's mean, then nulls
[2.0, nan, 4.0]
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

PARTIALS = ("n_rows", "n_values", "value_sum", "value_min", "value_max", "value_latest")
POINT_COLUMNS = ("date", "dimension", *PARTIALS)
DATE_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"  # fixed width, so text order is time order in every database


def empty_points() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "date": pd.Series(dtype="datetime64[ns, UTC]"),
            "dimension": pd.Series(dtype=object),
            "n_rows": pd.Series(dtype="int64"),
            "n_values": pd.Series(dtype="int64"),
            **{name: pd.Series(dtype="float64") for name in PARTIALS[2:]},
        }
    )


def to_points(rows: pd.DataFrame, *, dynamic: bool) -> pd.DataFrame:
    """Per-record rows (``date``, ``value``, ``dimension``) → one point per (hour, dimension).

    A dynamic metric's rows all carry the fetch time, which is kept as it is (no hour bucket).
    """
    if rows.empty:
        return empty_points()
    ordered = rows.sort_values("date", kind="stable")  # the order the engine's "latest" uses
    dates = ordered["date"] if dynamic else ordered["date"].dt.floor("h")
    keys = [dates.rename("date"), ordered["dimension"].astype(object).rename("dimension")]
    grouped = ordered.groupby(keys, dropna=False, sort=True, observed=True)["value"]
    points = pd.DataFrame(
        {
            "n_rows": grouped.size(),
            "n_values": grouped.count(),
            "value_sum": grouped.sum(min_count=1),
            "value_min": grouped.min(),
            "value_max": grouped.max(),
            "value_latest": grouped.last(),  # last non-null, as the engine's "latest" falls back to
        }
    ).reset_index()
    points["dimension"] = points["dimension"].map(lambda v: None if pd.isna(v) else str(v))
    return points[list(POINT_COLUMNS)].astype({"n_rows": "int64", "n_values": "int64"})


def to_rows(points: pd.DataFrame, aggregation: str) -> pd.DataFrame:
    """Stored points → rows that the engine's ``aggregate``/``total`` turn into the same values a
    fetch of the records would give, under ``aggregation``.

    ``sum``, ``min``, ``max``, ``latest``: one row per point carrying that partial. ``count`` and
    ``average``: one row per record, ``n_values`` of them carrying the point's mean and the rest
    null, so counts, averages (and sums) of any longer interval come out exactly.
    """
    columns = {"date": pd.Series(dtype="datetime64[ns, UTC]"), "value": pd.Series(dtype="float64")}
    if points.empty:
        return pd.DataFrame({**columns, "dimension": pd.Series(dtype="category")})
    points = points.sort_values("date", kind="stable").reset_index(drop=True)
    if aggregation in ("count", "average"):
        n_rows = points["n_rows"].to_numpy(dtype="int64")
        n_values = points["n_values"].to_numpy(dtype="int64")
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = points["value_sum"].to_numpy(dtype="float64") / n_values
        which = np.repeat(np.arange(len(points)), n_rows)
        ordinal = np.arange(len(which)) - np.repeat(np.cumsum(n_rows) - n_rows, n_rows)
        frame = pd.DataFrame(
            {
                "date": points["date"].to_numpy()[which],
                "value": np.where(ordinal < n_values[which], mean[which], np.nan),
                "dimension": points["dimension"].to_numpy(dtype=object)[which],
            }
        )
        frame["date"] = pd.to_datetime(frame["date"], utc=True)
    else:
        partial = {"sum": "value_sum", "min": "value_min", "max": "value_max", "latest": "value_latest"}
        if aggregation not in partial:
            raise ValueError(f"unknown aggregation {aggregation!r}")
        frame = pd.DataFrame(
            {"date": points["date"], "value": points[partial[aggregation]].astype("float64"),
             "dimension": points["dimension"].astype(object)}
        )  # fmt: skip
    frame["dimension"] = frame["dimension"].astype("category")
    return frame[["date", "value", "dimension"]]


def format_dates(dates: pd.Series) -> list[str]:
    """UTC timestamps as the store's fixed-width text."""
    return pd.to_datetime(dates, utc=True).dt.strftime(DATE_FORMAT).tolist()


def format_moment(moment: Any) -> str:
    return pd.Timestamp(moment).tz_convert("UTC").strftime(DATE_FORMAT)


def parse_dates(texts: pd.Series) -> pd.Series:
    return pd.to_datetime(texts, format=DATE_FORMAT, utc=True)


def dimension_key(dimension: str | None) -> str:
    """The dimension as a non-null key (unique constraints treat NULLs as distinct): ``""`` for
    no dimension, ``"=" + value`` otherwise (so an empty-string dimension stays distinct)."""
    return "" if dimension is None else "=" + dimension
