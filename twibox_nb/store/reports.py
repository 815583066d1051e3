"""What a store operation reports: a sync's report, a history's "fetch report", a stored series."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ..fetch.report import FetchReport
from ..fetch.report import _plural as plural
from ..model.dates import DateRange


@dataclass(frozen=True)
class SyncReport:
    """What one sync fetched and wrote (``inputs`` holds a calculated metric's input syncs)."""

    metric: str
    identity: str
    account_sid: str
    date_range: DateRange | None
    fetched_at: datetime
    stop_reason: str
    truncated: bool
    pages: int
    records: int
    points_written: int
    points_kept: int  # truncated syncs only: points not written because complete data was stored
    inputs: tuple[SyncReport, ...] = ()

    def __str__(self) -> str:
        where = "one reading" if self.date_range is None else str(self.date_range)
        state = "complete" if not self.truncated else f"TRUNCATED ({self.stop_reason}): values are incomplete"
        kept = f", {self.points_kept:,} kept from complete syncs" if self.points_kept else ""
        return (
            f"{self.metric}: {plural(self.points_written, 'point')} written{kept} from "
            f"{plural(self.records, 'record')}, {where}; {state}"
        )


@dataclass(frozen=True)
class StoreReport(FetchReport):
    """A history's "fetch report": the data came from the store, not from Twilio."""

    store: str = ""
    points: int = 0
    syncs: int = 0
    last_synced: datetime | None = None

    def summary(self) -> str:
        synced = f", last synced {self.last_synced:%Y-%m-%d %H:%M} UTC" if self.last_synced else ""
        text = (
            f"from the store {self.store}: {plural(self.points, 'point')} ({plural(self.records, 'record')}) "
            f"from {plural(self.syncs, 'sync')}{synced}"
        )
        if self.truncated:
            text += f"; some points come from truncated fetches ({self.stop_reason}): records are missing"
        return text


@dataclass(frozen=True)
class _Series:
    id: int
    identity: str
    account_sid: str
    is_sandbox: bool
    kind: str
    name: str
    spec: str
