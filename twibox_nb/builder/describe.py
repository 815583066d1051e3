"""Step 6 of the builder, "Describe metric": naming, describing and saving, without any UI.

:class:`DescribeStep` is the part of :class:`~twibox_nb.builder.state.BuilderState` that names the
metric (after its endpoint, value and dimension until the analyst names it), checks the described
fields as the spec checks them, writes the spec file, and gives the lines that fetch the metric
headlessly.

The file name follows the metric's name until the analyst types one (or the metric was saved, or
opened from a file): from then on it stays theirs.

>>> from twibox_nb.builder.state import BuilderState
>>> state = BuilderState(); state.choose_endpoint("Calls")
>>> state.save_path
'calls.json'
>>> state.describe(name="Call minutes"); state.save_path
'call_minutes.json'
>>> state.set_save_path("metrics/minutes.json"); state.describe(name="Minutes"); state.save_path
'metrics/minutes.json'
>>> state.set_unit("minutes"); state.value_label
'Minutes (minutes)'
>>> state.set_unit("USD"); state.spec.unit
'USD'
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .._exceptions import ChoiceError, SpecError
from ..fetch.connection import Connection
from ..model.secrets import check_saveable
from ..model.spec import Count, Field, MetricSpec
from ..model.units import check_unit, guess_unit, unit_title
from . import preview as previews

__all__ = ["DESCRIBED", "DescribeStep"]

#: What step 6 may change, with :meth:`DescribeStep.describe`.
DESCRIBED = ("name", "description", "aggregation", "favourable_trend", "date_range", "interval")


class DescribeStep:
    """Step 6's methods of :class:`~twibox_nb.builder.state.BuilderState`, which sets these attributes;
    ``spec`` is the state's, ``endpoint`` the request step's."""

    conn: Connection | None
    path: str
    preview_range: str
    value: Field | Count | None
    dimension: Field | None
    first_page: Any
    name: str | None
    later: dict[str, Any]
    saved_path: str | None
    _saved_spec: MetricSpec | None
    #: The file name the analyst typed (or the file saved to or opened from); None: it follows the name.
    _chosen_save_path: str | None = None

    # --- step 6: describe, save, copy as code -------------------------------------------------
    @property
    def default_name(self) -> str:
        """The name until the analyst gives one: the endpoint's, with the value and the dimension."""
        endpoint = self.endpoint
        base = (
            endpoint.name if endpoint else (self.path.rstrip("/").rsplit("/", 1)[-1].removesuffix(".json") or "Metric")
        )
        if isinstance(self.value, Field):
            base = f"{base}: {self.value.path}"
        return f"{base} by {self.dimension.path}" if self.dimension is not None else base

    def describe(self, **changes: Any) -> None:
        """Set the name, description, aggregation, favourable trend, default range or interval.

        Each is checked as the spec checks it; a refused value raises :class:`ChoiceError` and
        nothing changes.
        """
        unknown = set(changes) - set(DESCRIBED)
        if unknown:
            raise ChoiceError("describe", f"{sorted(unknown)[0]!r} is not described here: use {', '.join(DESCRIBED)}")
        if "name" in changes and isinstance(changes["name"], str):
            changes["name"] = changes["name"].strip()
        try:
            self.spec.replace(**changes)
        except SpecError as exc:
            raise ChoiceError("describe", f"{exc.field.replace('_', ' ')}: {exc.detail}") from None
        for key, value in changes.items():
            if key == "name":
                self.name = value
            else:
                self.later[key] = value

    # --- the unit and the value's label ------------------------------------------------------------
    @property
    def unit(self) -> str | None:
        """What the value counts in ("minutes", "USD"): as the analyst set it (or the file opened said),
        else as the value's field suggests (:attr:`guessed_unit`)."""
        return self.later["unit"] if "unit" in self.later else self.guessed_unit

    def set_unit(self, unit: str | None) -> None:
        """Set (or clear, with None or "") the unit of the value: it formats the value and titles its axis
        (see :mod:`twibox_nb.model.units`: count, percent, seconds, minutes, segments, a currency code …)."""
        try:
            self.later["unit"] = check_unit("unit", unit)
        except SpecError as exc:
            raise ChoiceError("describe", f"unit: {exc.detail}") from None

    @property
    def guessed_unit(self) -> str | None:
        """The unit the value's field suggests (price: the record's currency; duration: seconds; a count: count).

        None once the expression is customised: it may turn the field into something else (seconds into
        minutes), so only the analyst can say what it is then."""
        if self.value is None or self.later.get("expression"):
            return None
        field = self.value.path if isinstance(self.value, Field) else None
        records = self.first_page.records if self.first_page is not None else []
        return guess_unit(field, records[0] if records else None, aggregation=str(self.later.get("aggregation", "sum")))

    @property
    def value_label(self) -> str:
        """The value's label (the chart's axis title, the table's header): the metric's name, with
        the unit when one is set; never the raw field, which a customised expression may transform."""
        return unit_title(self.name or self.default_name, self.unit)

    # --- where the file goes ---------------------------------------------------------------------
    @property
    def save_path(self) -> str:
        """Where Save writes: the path the analyst typed (or saved to, or opened), else one from the name."""
        return self._chosen_save_path or self.default_save_path

    @property
    def save_path_follows_name(self) -> bool:
        return self._chosen_save_path is None

    def set_save_path(self, path: str | os.PathLike | None) -> None:
        """Keep ``path`` as the file to save to; empty (or the name's own file name) follows the name again."""
        text = os.fspath(path).strip() if path is not None else ""
        self._chosen_save_path = text if text and text != self.default_save_path else None

    @property
    def default_save_path(self) -> str:
        """A file name from the metric's name (``messages_by_status.json``)."""
        slug = "".join(c if c.isalnum() else "_" for c in self.spec.name.lower()).strip("_")
        while "__" in slug:
            slug = slug.replace("__", "_")
        return f"{slug or 'metric'}.json"

    def save(self, path: str | None = None) -> str:
        """Write the spec file (atomically; its folder is created) and return where it went.

        ``path`` (default :attr:`save_path`) is kept: saving again writes the same file.
        """
        target = (path if path is not None else self.save_path).strip()
        if not target:
            raise ChoiceError("describe", "type where to save the metric file (e.g. metrics/my_metric.json)")
        spec = self.spec
        try:  # never the connection's own secret (or any credential) under any name, in any value
            check_saveable(spec.to_dict(), (self.conn.secret.reveal(),) if self.conn is not None else ())
        except SpecError as exc:
            raise ChoiceError("describe", f"{exc.field}: {exc.detail}") from None
        try:
            Path(target).parent.mkdir(parents=True, exist_ok=True)
            written = spec.save(target)
        except OSError as exc:
            raise ChoiceError("describe", f"cannot write {target}: {exc.strerror or exc}") from None
        self.saved_path, self._saved_spec = str(written), spec
        self._chosen_save_path = target  # saved there: a rename now renames the metric, not the file
        return str(written)

    def copy_as_code(self) -> str:
        """The few lines that fetch this metric headlessly over the preview range (no credential in them).

        They load the saved file when the metric was saved as it stands, else hold its JSON.
        """
        spec = self.spec
        saved = self.saved_path if self._saved_spec == spec else None
        sandbox = bool(self.conn is not None and self.conn.is_sandbox)
        return previews.copy_as_code(spec, sandbox=sandbox, date_range=self.preview_range, path=saved)
