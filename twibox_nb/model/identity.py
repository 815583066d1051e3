"""A metric's identity: what it measures, as a short hash (the store's and the cache's key).

A metric's identity is a hash of the parts of its spec that decide *which data* it measures: the
request (host, path, method, query parameters but ``PageSize``, headers, pagination), the value,
the dimension, the date and the custom expression. Its name, description, aggregation, favourable
trend, default range and interval, ``max_pages`` and any extra keys are presentation, so renaming,
re-describing or switching ``sum`` to ``average`` keeps the history, while changing what is fetched
(another filter, another value field) starts a new series. A calculated metric's identity hashes
its operation, scale and its inputs' definitions.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from .spec import Dynamic, MetricSpec

IGNORED_PARAMS = frozenset({"PageSize"})  # how many records per page, not which records


def definition(metric: Any) -> dict[str, Any]:
    """The parts of a metric (spec or calculated metric) that decide which data it measures."""
    inputs = getattr(metric, "inputs", None)
    if inputs is not None:
        return {"calculated": metric.op, "scale": float(metric.scale), "inputs": [definition(m) for m in inputs]}
    spec: MetricSpec = metric
    request = spec.request
    return {
        "request": {
            "method": request.method,
            "base_url": request.base_url,
            "path": request.path,
            "params": sorted([k, v] for k, v in request.params if k not in IGNORED_PARAMS),
            "headers": sorted([k.lower(), v] for k, v in request.headers),
            "pagination": request.pagination,
        },
        "value": spec.to_dict()["value"],
        "dimension": spec.to_dict()["dimension"],
        "date": spec.to_dict()["date"],
        "expression": spec.expression,
    }


def metric_identity(metric: Any) -> str:
    """A stable 16-hex-digit identity of what a metric measures (see the module docstring).

    >>> from twibox_nb import library
    >>> spec = library.get("Messages by status")
    >>> metric_identity(spec) == metric_identity(spec.replace(name="Renamed", aggregation="count"))
    True
    >>> metric_identity(spec) == metric_identity(spec.replace(dimension=None))
    False
    """
    text = json.dumps(definition(metric), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def is_dynamic(metric: Any) -> bool:
    return isinstance(getattr(metric, "date", None), Dynamic)
