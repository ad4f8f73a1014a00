"""Rollout definitions from configuration files and admin-API writes, validated with every problem located.

A configuration document may hold a top-level ``rollouts`` mapping (other top-level keys such as ``flags``
belong to other readers). Keys are camelCase like flagd's; every field is optional except each phase's
``percent``. Durations are seconds as a number, or strings such as ``"90s"``, ``"10m"``, ``"1h30m"``
(units ``ms``, ``s``, ``m``, ``h``, ``d``). Rates are fractions (``0.1`` = 10 %), percentages 0–100::

    rollouts:
      checkout-v2:                  # key: letters, digits, '.', '_' and '-'
        description: New pricing engine behind /checkout
        stickiness: userId          # context attribute keeping a unit on one version (default targetingKey)
        minLatencySamples: 200      # successful calls per version before p95s are compared (default 100)
        gates:                      # every phase's gates; a phase may override field by field.
          maxV2ErrorRate: 0.02      # Absent: maxV2ErrorRate 0.05, maxErrorRateIncrease 0.02,
          maxErrorRateIncrease: 0.01  # maxLatencyRatio 1.5. Present: only what is listed.
          maxLatencyRatio: 1.3
        phases:                     # absent: CANARY 1 % (10m), TESTING 10 % (30m), VALIDATION 50 % (1h),
          - name: CANARY            # FULL_ROLLOUT 100 % (see sidecar.rollout.model.default_phases)
            percent: 10
            minDuration: 15m        # soak at least this long (phase clock; pauses do not count)
            minSamples: 500         # V2 calls needed before advancing (default 100)
            maxDuration: 2h         # deadline: roll back if still short of data or failing a gate
          - name: QUARTER
            percent: 25
            minDuration: 30m
            minSamples: 2000
            maxDuration: 4h
            gates:
              maxLatencyIncreaseMs: 25   # added for this phase
              maxLatencyRatio: null      # inherited gate switched off for this phase
          - {name: HALF, percent: 50, minDuration: 1h, minSamples: 5000, maxDuration: 8h}
          - {name: FULL, percent: 100, minDuration: 10m}
        rollbackTriggers:           # immediate rollback; null switches one off. Defaults shown.
          maxErrorRate: 0.10        # V2 error-rate ceiling
          maxFallbackRate: 0.25     # V2 fallback-rate ceiling
          maxLatencyRatio: 2.0      # V2 p95 / V1 p95
          maxLatencyIncreaseMs: null  # V2 p95 − V1 p95
          consecutiveFailures: 20   # V2 failures in a row
          onCriticalAlert: true     # a firing critical alert naming this rollout
          minRequests: 50           # V2 calls in the phase before rate ceilings are judged
        breaker:                    # per-host circuit breaker on V2 calls. Defaults shown.
          enabled: true
          consecutiveFailures: 5
          errorRate: 0.5            # over the short window, with at least minRequests calls
          window: 10s
          minRequests: 20
          coolDown: 30s
          probePercent: 5           # share of the V2 split that probes while half-open
          probeSuccesses: 3

Rules: percentages increase strictly and the last is 100; a 100 % phase has no V1 traffic to compare with, so
it cannot set comparative gates (``maxErrorRateIncrease``, ``maxLatencyRatio``, ``maxLatencyIncreaseMs``) and
drops inherited ones; ``minDuration`` ≤ ``maxDuration``; unknown fields are errors.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import fields, replace
from typing import TYPE_CHECKING, Any, TypeVar

from sidecar.config.keys import KEY_RULE, is_key
from sidecar.config.located import LocatedDocument, PathKey
from sidecar.config.reader import ProblemCollector, key_name, number, text
from sidecar.rollout.assignment import BUCKETS_PER_PERCENT
from sidecar.rollout.model import (
    COMPARATIVE_GATES,
    DEFAULT_GATES,
    DEFAULT_MIN_LATENCY_SAMPLES,
    DEFAULT_MIN_SAMPLES,
    BreakerSettings,
    FieldKind,
    Gates,
    Phase,
    RollbackTriggers,
    RolloutDefinition,
    default_phases,
    without_comparative,
)

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

    _SectionT = TypeVar("_SectionT", bound=DataclassInstance)

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3_600.0, "d": 86_400.0}
_DEFINITION_FIELDS = (
    "description",
    "stickiness",
    "minLatencySamples",
    "gates",
    "phases",
    "rollbackTriggers",
    "breaker",
)
_PHASE_FIELDS = ("name", "percent", "minDuration", "minSamples", "maxDuration", "gates")


class _Invalid(ValueError):
    """A value that failed a check; the message completes "<path>: ..."."""


def parse_rollouts(doc: LocatedDocument) -> dict[str, RolloutDefinition]:
    """Every definition under ``rollouts`` in ``doc``; :class:`ConfigError` lists all problems with lines."""
    reader = _Reader(doc)
    definitions: dict[str, RolloutDefinition] = {}
    if not isinstance(doc.data, Mapping):
        reader.report((), "the document must be a mapping")
    elif (rollouts := doc.data.get("rollouts")) is not None:
        if isinstance(rollouts, Mapping):
            for key, raw in rollouts.items():
                definitions[str(key)] = reader.definition(str(key), raw)
        else:
            reader.report(("rollouts",), "must be a mapping of rollout key to definition")
    reader.raise_problems()
    return definitions


def rollout_from_mapping(key: str, mapping: Mapping[str, Any], source: str = "admin") -> RolloutDefinition:
    """One definition from an admin-API write, validated exactly like a file (problems carry no line)."""
    return parse_rollouts(LocatedDocument(source, {"rollouts": {key: mapping}}))[key]


def parse_duration(raw: object) -> float:
    """Seconds from a number or a string like ``"30s"``, ``"10m"``, ``"1h30m"``; ``ValueError`` otherwise."""
    if isinstance(raw, str):
        text = raw.strip()
        parts = _DURATION_PART.findall(text)
        if not parts or "".join(number + unit for number, unit in parts) != text:
            raise ValueError(f'invalid duration {raw!r}: use seconds or a string like "30s", "10m", "1h30m"')
        return sum(float(number) * _UNIT_SECONDS[unit] for number, unit in parts)
    seconds = number(raw)
    if seconds < 0:
        raise ValueError(f"duration must be >= 0, got {raw}")
    return seconds


class _Reader(ProblemCollector):
    """Walks one document's ``rollouts`` section, collecting problems instead of stopping at the first."""

    def definition(self, key: str, raw: object) -> RolloutDefinition:
        """The definition at ``rollouts.<key>``; only meaningful if no problem was recorded."""
        path: PathKey = ("rollouts", key)
        if not is_key(key):
            self.report(path, f"rollout key must be {KEY_RULE}")
        data = self.mapping(path, raw, _DEFINITION_FIELDS) or {}
        gates = self.section(path, data, "gates", Gates(), DEFAULT_GATES)
        phases_path = (*path, "phases")
        phases = (
            self.phases(phases_path, data["phases"], gates) if "phases" in data else default_phases(gates)
        )
        return RolloutDefinition(
            key=key,
            phases=phases,
            stickiness=self.value(path, data, "stickiness", text, "targetingKey"),
            triggers=self.section(path, data, "rollbackTriggers", RollbackTriggers(), RollbackTriggers()),
            breaker=self.section(path, data, "breaker", BreakerSettings(), BreakerSettings()),
            min_latency_samples=self.value(
                path, data, "minLatencySamples", _count, DEFAULT_MIN_LATENCY_SAMPLES
            ),
            source=self.doc.source,
            description=self.value(path, data, "description", _description, ""),
        )

    def section(
        self, parent_path: PathKey, parent: Mapping[str, Any], name: str, base: _SectionT, absent: _SectionT
    ) -> _SectionT:
        """``parent[name]``, a flat section read through its dataclass's field metadata over ``base``;
        ``absent`` when missing. ``null`` switches off a nullable field."""
        if name not in parent:
            return absent
        path = (*parent_path, name)
        specs = {f.metadata["yaml"]: f for f in fields(base)}
        data = self.mapping(path, parent[name], specs) or {}
        changes: dict[str, Any] = {}
        for yaml_name, spec in specs.items():
            if yaml_name in data and data[yaml_name] is None:
                if spec.metadata["nullable"]:
                    changes[spec.name] = None
                else:
                    self.report((*path, yaml_name), "must not be null")
                continue
            check = _KIND_CHECKS[spec.metadata["kind"]]
            changes[spec.name] = self.value(path, data, yaml_name, check, getattr(base, spec.name))
        return replace(base, **changes)

    def phases(self, path: PathKey, raw: object, gates: Gates) -> tuple[Phase, ...]:
        if not isinstance(raw, list) or not raw:
            self.report(path, "must be a non-empty list of phases")
            return ()
        parsed = [self.phase((*path, index), item, index, gates) for index, item in enumerate(raw)]
        phases = tuple(phase for phase in parsed if phase is not None)
        if len(phases) < len(parsed):
            return ()  # without every percentage, ordering checks would only add noise
        seen: set[str] = set()
        for index, phase in enumerate(phases):
            if phase.name in seen:
                self.report((*path, index, "name"), f"duplicate phase name {phase.name!r}")
            seen.add(phase.name)
            if index and phase.threshold <= phases[index - 1].threshold:
                previous = phases[index - 1].v2_percent
                self.report(
                    (*path, index, "percent"), f"must be greater than the previous phase's {previous:g}"
                )
        if phases[-1].v2_percent != 100:
            self.report((*path, len(phases) - 1, "percent"), "the last phase must be at 100")
        return phases

    def phase(self, path: PathKey, raw: object, index: int, rollout_gates: Gates) -> Phase | None:
        """The phase at ``path``, or None without a valid percentage (other problems are only recorded)."""
        data = self.mapping(path, raw, _PHASE_FIELDS) or {}
        if "percent" not in data:
            self.report(path, "percent is required")
        name = self.value(path, data, "name", key_name, f"STEP_{index + 1}")
        percent = self.value(path, data, "percent", _phase_percent, None)
        min_duration = self.value(path, data, "minDuration", parse_duration, 0.0)
        max_duration = self.value(path, data, "maxDuration", _optional_deadline, None)
        if max_duration is not None and min_duration > max_duration:
            self.report((*path, "maxDuration"), f"must not be shorter than minDuration ({min_duration:g}s)")
        min_samples = self.value(path, data, "minSamples", _sample_count, DEFAULT_MIN_SAMPLES)
        inherited = rollout_gates
        if percent == 100:
            inherited = without_comparative(rollout_gates)
            explicit = data.get("gates")
            for attr in sorted(COMPARATIVE_GATES):
                gate = _yaml_name(Gates, attr)
                if isinstance(explicit, Mapping) and explicit.get(gate) is not None:
                    self.report((*path, "gates", gate), "a 100% phase has no V1 traffic to compare with")
        gates = self.section(path, data, "gates", inherited, inherited)
        if percent is None:
            return None
        return Phase(name, percent, min_duration, min_samples, max_duration, gates)


def _yaml_name(cls: type[DataclassInstance], attr: str) -> str:
    return str(next(f.metadata["yaml"] for f in fields(cls) if f.name == attr))


def _whole(raw: object, minimum: int) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise _Invalid(f"must be a whole number, got {raw!r}")
    if raw < minimum:
        raise _Invalid(f"must be >= {minimum}, got {raw}")
    return raw


def _count(raw: object) -> int:
    return _whole(raw, 1)


def _sample_count(raw: object) -> int:
    return _whole(raw, 0)


def _rate(raw: object) -> float:
    value = number(raw)
    if not 0.0 <= value <= 1.0:
        raise _Invalid(f"must be a fraction between 0 and 1 (0.1 = 10%), got {raw}")
    return value


def _ratio(raw: object) -> float:
    value = number(raw)
    if value <= 0.0:
        raise _Invalid(f"must be > 0, got {raw}")
    return value


def _millis(raw: object) -> float:
    value = number(raw)
    if value < 0.0:
        raise _Invalid(f"must be >= 0 milliseconds, got {raw}")
    return value


def _positive_duration(raw: object) -> float:
    seconds = parse_duration(raw)
    if seconds <= 0.0:
        raise _Invalid(f"must be longer than 0, got {raw!r}")
    return seconds


def _optional_deadline(raw: object) -> float | None:
    return None if raw is None else _positive_duration(raw)


def _percent(raw: object) -> float:
    value = number(raw)
    if not 0.0 < value <= 100.0:
        raise _Invalid(f"must be in (0, 100], got {raw}")
    return value


def _phase_percent(raw: object) -> float:
    value = _percent(raw)
    buckets = value * BUCKETS_PER_PERCENT
    if abs(buckets - round(buckets)) > 1e-6:
        raise _Invalid(f"{raw} is finer than the 0.0001% assignment resolution")
    return value


def _flag(raw: object) -> bool:
    if not isinstance(raw, bool):
        raise _Invalid(f"must be true or false, got {raw!r}")
    return raw


def _description(raw: object) -> str:
    if not isinstance(raw, str):
        raise _Invalid("must be a string")
    return raw


_KIND_CHECKS: dict[FieldKind, Callable[[object], Any]] = {
    FieldKind.RATE: _rate,
    FieldKind.RATIO: _ratio,
    FieldKind.MILLIS: _millis,
    FieldKind.COUNT: _count,
    FieldKind.DURATION: _positive_duration,
    FieldKind.PERCENT: _percent,
    FieldKind.FLAG: _flag,
}
