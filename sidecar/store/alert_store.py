"""SQLite persistence of alerts (one row per episode, firing → resolved, rewritten whole on every change) and
of the acknowledgements the group shares (one row each, immutable but for which local alert it covers)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from sidecar.alerts.acks import ACK_SKEW_S, Acknowledgement
from sidecar.alerts.model import Alert, AlertKey, AlertStatus, Severity
from sidecar.hlc import HybridLogicalClock
from sidecar.store.database import AuditDraft, StateDatabase, insert_audit

SCHEMA = """
CREATE TABLE IF NOT EXISTS alerts (
    id TEXT PRIMARY KEY,
    rule TEXT NOT NULL,
    rollout TEXT NOT NULL,      -- "" for a daemon-wide metric
    metric TEXT NOT NULL,
    description TEXT NOT NULL,
    severity TEXT NOT NULL,     -- info | warning | error | critical
    status TEXT NOT NULL,       -- firing | resolved
    fired_at REAL NOT NULL,
    resolved_at REAL,
    value REAL NOT NULL,
    threshold REAL NOT NULL,
    ack_by TEXT,
    ack_at REAL,
    ack_note TEXT,
    version TEXT NOT NULL       -- HLC timestamp of the last change
);
CREATE INDEX IF NOT EXISTS alerts_by_status ON alerts (status, fired_at DESC);
CREATE INDEX IF NOT EXISTS alerts_by_time ON alerts (fired_at DESC);
CREATE INDEX IF NOT EXISTS alerts_by_instance ON alerts (rule, rollout, fired_at);
CREATE TABLE IF NOT EXISTS alert_acks (
    alert_id TEXT PRIMARY KEY,  -- the alert acknowledged where the acknowledgement was made
    rule TEXT NOT NULL,
    rollout TEXT NOT NULL,
    at REAL NOT NULL,
    by TEXT NOT NULL,
    note TEXT NOT NULL,
    version TEXT NOT NULL,      -- HLC timestamp of the acknowledgement
    covers TEXT                 -- the local alert it covers; NULL while none does (yet)
);
CREATE INDEX IF NOT EXISTS alert_acks_by_time ON alert_acks (at);
"""
_ACK_COLUMNS = "alert_id, rule, rollout, at, by, note, version"
_COLUMNS = (
    "id, rule, rollout, metric, description, severity, status, fired_at, resolved_at, value, threshold,"
    " ack_by, ack_at, ack_note, version"
)


class AlertStore:
    def __init__(self, database: StateDatabase, hlc: HybridLogicalClock) -> None:
        self._db = database
        self._hlc = hlc
        database.ensure_schema(SCHEMA)

    def save(
        self,
        alerts: Iterable[Alert],
        audits: Iterable[AuditDraft],
        acks: Iterable[tuple[Acknowledgement, str | None]] = (),
    ) -> list[Alert]:
        """Write alerts (with a new version each), audit entries and acknowledgements (with the local alert
        each covers, if any) in one transaction; return the alerts."""
        saved: list[Alert] = []
        with self._db.transaction() as conn:
            conn.executemany(
                f"INSERT INTO alert_acks ({_ACK_COLUMNS}, covers) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (alert_id) DO UPDATE SET covers = COALESCE(alert_acks.covers, excluded.covers)",
                [(*_ack_row(ack), covers) for ack, covers in acks],
            )
            for alert in alerts:
                stored = replace(alert, version=self._hlc.now().encode())
                conn.execute(
                    f"INSERT OR REPLACE INTO alerts ({_COLUMNS}) VALUES ({', '.join('?' * 15)})",
                    _row(stored),
                )
                saved.append(stored)
            for audit in audits:
                insert_audit(conn, audit, before=None, after=None, version=self._hlc.now().encode())
        return saved

    def get(self, alert_id: str) -> Alert | None:
        with self._db.transaction() as conn:
            row = conn.execute(f"SELECT {_COLUMNS} FROM alerts WHERE id = ?", (alert_id,)).fetchone()
        return _alert(row) if row else None

    def episodes(self, key: AlertKey, at: float) -> list[Alert]:
        """The episodes of one alert instance an acknowledgement made at ``at`` may cover."""
        with self._db.transaction() as conn:
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM alerts WHERE rule = ? AND rollout = ? AND fired_at <= ?"
                " AND (resolved_at IS NULL OR resolved_at >= ?)",
                (*key, at + ACK_SKEW_S, at - ACK_SKEW_S),
            ).fetchall()
        return [_alert(row) for row in rows]

    def acks_since(self, since: float, *, uncovered_only: bool = False) -> list[Acknowledgement]:
        """Acknowledgements made at or after ``since``; optionally only those no local alert carries yet."""
        query = f"SELECT {_ACK_COLUMNS} FROM alert_acks WHERE at >= ?"
        if uncovered_only:
            query += " AND covers IS NULL"
        with self._db.transaction() as conn:
            rows = conn.execute(query, (since,)).fetchall()
        return [Acknowledgement(*row) for row in rows]

    def read_acks(self, alert_ids: Iterable[str]) -> list[Acknowledgement]:
        with self._db.transaction() as conn:
            rows = [
                conn.execute(f"SELECT {_ACK_COLUMNS} FROM alert_acks WHERE alert_id = ?", (i,)).fetchone()
                for i in alert_ids
            ]
        return [Acknowledgement(*row) for row in rows if row is not None]

    def load_firing(self) -> list[Alert]:
        return self.find(firing_only=True, rollout=None, limit=None)

    def find(self, *, firing_only: bool, rollout: str | None, limit: int | None) -> list[Alert]:
        """Alerts newest first, optionally only firing ones and only one rollout's."""
        conditions = {"status = ?": AlertStatus.FIRING.value if firing_only else None, "rollout = ?": rollout}
        wanted = {clause: value for clause, value in conditions.items() if value is not None}
        query = f"SELECT {_COLUMNS} FROM alerts"
        if wanted:
            query += " WHERE " + " AND ".join(wanted)
        query += " ORDER BY fired_at DESC, id"
        params: list[Any] = list(wanted.values())
        if limit is not None:
            query += " LIMIT ?"
            params.append(limit)
        with self._db.transaction() as conn:
            rows = conn.execute(query, params).fetchall()
        return [_alert(row) for row in rows]


def _row(alert: Alert) -> tuple[Any, ...]:
    return (
        alert.id,
        alert.rule,
        alert.rollout,
        alert.metric,
        alert.description,
        alert.severity.value,
        alert.status.value,
        alert.fired_at,
        alert.resolved_at,
        alert.value,
        alert.threshold,
        alert.ack_by,
        alert.ack_at,
        alert.ack_note,
        alert.version,
    )


def _ack_row(ack: Acknowledgement) -> tuple[Any, ...]:
    return (ack.alert_id, ack.rule, ack.rollout, ack.at, ack.by, ack.note, ack.version)


def _alert(row: tuple[Any, ...]) -> Alert:
    return Alert(
        id=row[0],
        rule=row[1],
        rollout=row[2],
        metric=row[3],
        description=row[4],
        severity=Severity(row[5]),
        status=AlertStatus(row[6]),
        fired_at=row[7],
        resolved_at=row[8],
        value=row[9],
        threshold=row[10],
        ack_by=row[11],
        ack_at=row[12],
        ack_note=row[13],
        version=row[14],
    )
