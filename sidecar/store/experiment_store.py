"""SQLite persistence of experiment exposures, per-unit metric aggregates and user feedback.

Events are never stored one by one: each (experiment, metric, unit) row holds the unit's running sum and
event count, so an analysis reads one row per unit and metric however many events arrived. Each row also
holds the unit's arm, copied from its exposure when the row is written. A row written before its unit's
exposure has no arm yet; analysis first attributes such rows (found through a partial index, so the cost
follows their number), and what stays without an arm comes from units never exposed: counted, not analysed.
A unit's arm never changes once recorded, so the copies stay true.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from sidecar.experiments.feedback import FeedbackEntry
from sidecar.experiments.model import MetricAggregate, MetricKind
from sidecar.store.database import StateDatabase

SCHEMA = """
CREATE TABLE IF NOT EXISTS experiment_exposures (
    experiment TEXT NOT NULL,
    unit TEXT NOT NULL,
    variant TEXT NOT NULL,          -- the first arm served; the unit is analysed in it
    first_seen REAL NOT NULL,       -- unix seconds
    last_seen REAL NOT NULL,
    switched INTEGER NOT NULL DEFAULT 0,   -- 1 once the unit was also served another arm
    PRIMARY KEY (experiment, unit)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS experiment_exposures_by_unit ON experiment_exposures (unit);
CREATE TABLE IF NOT EXISTS experiment_unit_metrics (
    experiment TEXT NOT NULL,
    metric TEXT NOT NULL,
    unit TEXT NOT NULL,
    variant TEXT,                   -- the unit's arm; NULL while it has no exposure
    total REAL NOT NULL,            -- sum of the unit's event values
    events INTEGER NOT NULL,
    PRIMARY KEY (experiment, metric, unit)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS experiment_unit_metrics_unattributed
    ON experiment_unit_metrics (experiment, unit) WHERE variant IS NULL;
CREATE TABLE IF NOT EXISTS experiment_feedback (
    id INTEGER PRIMARY KEY,
    unit TEXT NOT NULL,
    experiment TEXT,                -- NULL: for every experiment the unit is exposed in
    rating INTEGER NOT NULL,
    text TEXT NOT NULL,
    category TEXT NOT NULL,
    ts REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS experiment_feedback_by_unit ON experiment_feedback (unit);
"""


@dataclass(frozen=True, slots=True)
class ExposureRow:
    experiment: str
    unit: str
    variant: str
    first_seen: float
    last_seen: float
    switched: bool


@dataclass(frozen=True, slots=True)
class FeedbackRow:
    unit: str
    experiment: str | None
    rating: int
    text: str
    category: str
    ts: float


# (experiment, metric, unit) -> [sum of values, events]
UnitSums = Mapping[tuple[str, str, str], Sequence[float]]


@dataclass(frozen=True, slots=True)
class StoredExperiment:
    """What an analysis needs, already attributed to arms."""

    exposures: Mapping[str, int]
    switched_units: int
    metrics: Mapping[str, Mapping[str, MetricAggregate]]
    unexposed_events: int
    feedback: tuple[FeedbackEntry, ...]
    unattributed_feedback: int


class ExperimentStore:
    def __init__(self, database: StateDatabase) -> None:
        self._db = database
        database.ensure_schema(SCHEMA)

    def save(
        self, exposures: Iterable[ExposureRow], unit_sums: UnitSums, feedback: Iterable[FeedbackRow]
    ) -> None:
        """Write a batch in one transaction. Exposures keep their first arm and widen their seen range;
        metric rows add to what the unit already had and take its arm (exposures are written first)."""
        with self._db.transaction() as conn:
            conn.executemany(
                "INSERT INTO experiment_exposures"
                " (experiment, unit, variant, first_seen, last_seen, switched) VALUES (?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (experiment, unit) DO UPDATE SET"
                " first_seen = min(first_seen, excluded.first_seen),"
                " last_seen = max(last_seen, excluded.last_seen),"
                " switched = switched OR excluded.switched OR variant <> excluded.variant",
                [(e.experiment, e.unit, e.variant, e.first_seen, e.last_seen, e.switched) for e in exposures],
            )
            conn.executemany(
                "INSERT INTO experiment_unit_metrics (experiment, metric, unit, variant, total, events)"
                " VALUES (?1, ?2, ?3,"
                " (SELECT variant FROM experiment_exposures WHERE experiment = ?1 AND unit = ?3), ?4, ?5)"
                " ON CONFLICT (experiment, metric, unit) DO UPDATE SET"
                " total = total + excluded.total, events = events + excluded.events,"
                " variant = COALESCE(variant, excluded.variant)",
                [
                    (exp, metric, unit, sums[0], int(sums[1]))
                    for (exp, metric, unit), sums in unit_sums.items()
                ],
            )
            conn.executemany(
                "INSERT INTO experiment_feedback (unit, experiment, rating, text, category, ts)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                [(f.unit, f.experiment, f.rating, f.text, f.category, f.ts) for f in feedback],
            )

    def arms_of(self, unit: str) -> dict[str, str]:
        """Experiment -> arm of every experiment the unit was exposed in."""
        with self._db.transaction() as conn:
            rows = conn.execute(
                "SELECT experiment, variant FROM experiment_exposures WHERE unit = ?", (unit,)
            ).fetchall()
        return dict(rows)

    def exposure_counts(self) -> dict[str, dict[str, int]]:
        """Experiment -> arm -> exposed units."""
        with self._db.transaction() as conn:
            rows = conn.execute(
                "SELECT experiment, variant, COUNT(*) FROM experiment_exposures GROUP BY experiment, variant"
            ).fetchall()
        counts: dict[str, dict[str, int]] = {}
        for experiment, variant, units in rows:
            counts.setdefault(experiment, {})[variant] = int(units)
        return counts

    def load(
        self, experiment: str, metrics: Mapping[str, MetricKind], window: tuple[float, float]
    ) -> StoredExperiment:
        """Exposures per arm, each tracked metric's per-unit aggregates per arm, the events of unexposed
        units, and the feedback given within ``window`` (``[start, stop)``) by exposed units."""
        with self._db.transaction() as conn:
            conn.execute(
                "UPDATE experiment_unit_metrics SET variant = (SELECT x.variant FROM experiment_exposures x"
                " WHERE x.experiment = experiment_unit_metrics.experiment"
                " AND x.unit = experiment_unit_metrics.unit)"
                " WHERE experiment = ? AND variant IS NULL",
                (experiment,),
            )
            exposures: dict[str, int] = {}
            switched = 0
            for variant, units, changed in conn.execute(
                "SELECT variant, COUNT(*), SUM(switched) FROM experiment_exposures"
                " WHERE experiment = ? GROUP BY variant",
                (experiment,),
            ):
                exposures[variant] = int(units)
                switched += int(changed)
            aggregates: dict[str, dict[str, MetricAggregate]] = {}
            unexposed = 0
            for name, kind in metrics.items():
                aggregates[name], unattributed_events = _metric(conn, experiment, name, kind)
                unexposed += unattributed_events
            feedback = conn.execute(
                "SELECT f.unit, x.variant, f.rating, f.text, f.category FROM experiment_feedback f"
                " JOIN experiment_exposures x ON x.experiment = ? AND x.unit = f.unit"
                " WHERE (f.experiment IS NULL OR f.experiment = ?) AND f.ts >= ? AND f.ts < ?"
                " ORDER BY f.id",
                (experiment, experiment, *window),
            ).fetchall()
            (unattributed,) = conn.execute(
                "SELECT COUNT(*) FROM experiment_feedback f WHERE f.experiment = ? AND NOT EXISTS"
                " (SELECT 1 FROM experiment_exposures x"
                " WHERE x.experiment = f.experiment AND x.unit = f.unit)",
                (experiment,),
            ).fetchone()
        return StoredExperiment(
            exposures=exposures,
            switched_units=switched,
            metrics=aggregates,
            unexposed_events=unexposed,
            feedback=tuple(
                FeedbackEntry(unit, variant, rating, text, category or None)
                for unit, variant, rating, text, category in feedback
            ),
            unattributed_feedback=int(unattributed),
        )


def _metric(
    conn: sqlite3.Connection, experiment: str, metric: str, kind: MetricKind
) -> tuple[dict[str, MetricAggregate], int]:
    """Per-arm aggregates of the per-unit values (the unit's sum, or for a binomial metric whether it had
    any non-zero event: converted), and the number of events of units without an arm."""
    aggregates: dict[str, MetricAggregate] = {}
    unattributed = 0
    for variant, n, total, total_sq, ones, events in conn.execute(
        "SELECT variant, COUNT(*), SUM(total), SUM(total * total), SUM(total <> 0), SUM(events)"
        " FROM experiment_unit_metrics WHERE experiment = ? AND metric = ? GROUP BY variant",
        (experiment, metric),
    ):
        if variant is None:
            unattributed = int(events)
        elif kind is MetricKind.BINOMIAL:
            aggregates[variant] = MetricAggregate.binomial(int(ones), int(n))
        else:
            aggregates[variant] = MetricAggregate(int(n), float(total), float(total_sq))
    return aggregates, unattributed
