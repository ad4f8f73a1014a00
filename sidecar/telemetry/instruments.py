"""Pre-created metric instruments and their cheap hot-path recorders.

The OpenTelemetry Python SDK spends several microseconds inside every synchronous ``Counter.add``
(attribute-set hashing, view matching, locks). The sidecar answers in well under a millisecond, so the
per-request counters are kept as plain integers in per-attribute-set cells and handed to the SDK
through *observable* counters at collection time: a request pays one nested dict lookup and an
integer increment. The exported data are ordinary monotonic cumulative sums, indistinguishable from
a synchronous counter's. ``evaluation_duration`` must go through the SDK histogram, so it records one
evaluation in ``evaluation_duration_sample_every`` (its distribution is unbiased, its ``count`` is
not the evaluation count: use ``flag_evaluations`` for that). Outcome durations are recorded exactly.
Every duration is in seconds (the OpenTelemetry unit ``s``), whatever unit the caller reported it in.

Attribute dictionaries are built once per distinct attribute set and cached. The number of cached
sets is bounded (``max_attribute_sets`` per instrument); beyond it, measurements are folded into one
``otel.metric.overflow=true`` series, like the SDK's own cardinality limit.

The recorders are meant for the daemon's event-loop thread; concurrent increments from several
threads could lose counts (never corrupt them).
"""

from __future__ import annotations

import logging
import os
import resource
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from opentelemetry.metrics import CallbackOptions, Meter, Observation
from opentelemetry.util.types import Attributes, AttributeValue

from sidecar.telemetry.histograms import FastHistogram, FastHistograms

__all__ = ["Metrics", "RolloutGauge"]

_log = logging.getLogger(__name__)

# Metric names (dots become underscores in Prometheus).
FLAG_EVALUATIONS = "sidecar.flag.evaluations"
EVALUATION_DURATION = "sidecar.flag.evaluation.duration"
ROUTE_DECISIONS = "sidecar.route.decisions"
OUTCOMES = "sidecar.rollout.outcomes"
OUTCOME_DURATION = "sidecar.rollout.outcome.duration"
ROLLOUT_PHASE = "sidecar.rollout.phase"
ROLLOUT_V2_PERCENT = "sidecar.rollout.v2_percent"
ROLLBACKS = "sidecar.rollout.rollbacks"
CONFIG_RELOADS = "sidecar.config.reloads"
CONFIG_REVISION = "sidecar.config.revision"
RPC_SERVER_CALL_DURATION = "rpc.server.call.duration"
PROCESS_MEMORY = "process.memory.usage"
PROCESS_CPU_TIME = "process.cpu.time"

# Attribute keys.
FLAG_KEY = "feature_flag.key"
FLAG_VARIANT = "feature_flag.result.variant"
FLAG_REASON = "feature_flag.result.reason"
ROLLOUT = "rollout.name"
VERSION = "rollout.version"
REASON = "rollout.reason"
RESULT = "rollout.result"
RELOAD_RESULT = "result"
CPU_MODE = "cpu.mode"
OVERFLOW: Mapping[str, AttributeValue] = {"otel.metric.overflow": True}

OUTCOME_RESULTS = ("success", "error", "fallback")

# Histogram bucket boundaries in seconds: evaluations take microseconds; outcomes are whole requests.
EVALUATION_BUCKETS_S = (
    0.000_005, 0.000_01, 0.000_025, 0.000_05, 0.000_1, 0.000_25, 0.000_5,
    0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1,
)  # fmt: skip
OUTCOME_BUCKETS_S = (
    0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75,
    1.0, 2.5, 5.0, 10.0,
)  # fmt: skip


# Whole RPCs: tens of microseconds for a cached evaluation up to seconds for a slow admin call.
RPC_BUCKETS_S = (
    0.000_025, 0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05,
    0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class RolloutGauge:
    """The current position of one rollout, as reported by the daemon's rollout-state callback."""

    rollout: str
    phase_index: int
    v2_percent: float


class _Cell:
    """One attribute set's running count, with its (shared, never mutated) attribute dicts."""

    __slots__ = ("attrs", "value")

    def __init__(self, attrs: Mapping[str, AttributeValue]) -> None:
        self.attrs = attrs
        self.value = 0


class _Table3:
    """Counts keyed by three strings, stored as nested dicts so a hit allocates nothing."""

    def __init__(self, keys: tuple[str, str, str], limit: int, normalise_last: bool = False) -> None:
        self.root: dict[str, dict[str, dict[str, _Cell]]] = {}
        self._keys = keys
        self._limit = limit
        self._normalise_last = normalise_last
        self._cells: list[_Cell] = []
        self._overflow = _Cell(OVERFLOW)

    def miss(self, a: str, b: str, c: str) -> _Cell:
        if len(self._cells) >= self._limit:
            return self._overflow
        last = c.lower() if self._normalise_last else c
        cell = _Cell({self._keys[0]: a, self._keys[1]: b, self._keys[2]: last})
        self.root.setdefault(a, {}).setdefault(b, {})[c] = cell
        self._cells.append(cell)
        return cell

    def observe(self, _options: CallbackOptions) -> Iterable[Observation]:
        cells = list(self._cells)
        out = [Observation(cell.value, cell.attrs) for cell in cells]
        if self._overflow.value:
            out.append(Observation(self._overflow.value, self._overflow.attrs))
        return out


class _Attrs2:
    """Cached attribute dicts keyed by two strings (for synchronous SDK instruments)."""

    def __init__(self, keys: tuple[str, str], limit: int) -> None:
        self.root: dict[str, dict[str, Mapping[str, AttributeValue]]] = {}
        self._keys = keys
        self._limit = limit
        self._size = 0

    def get(self, a: str, b: str) -> Mapping[str, AttributeValue]:
        try:
            return self.root[a][b]
        except KeyError:
            pass
        if self._size >= self._limit:
            return OVERFLOW
        attrs = {self._keys[0]: a, self._keys[1]: b}
        self.root.setdefault(a, {})[b] = attrs
        self._size += 1
        return attrs


def _rss_bytes() -> int | None:
    """Current resident set size (Linux /proc), else the peak RSS getrusage reports."""
    try:
        with open("/proc/self/statm", "rb") as f:
            resident_pages = int(f.read().split()[1])
        return resident_pages * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak if sys.platform == "darwin" else peak * 1024


class Metrics:
    """The sidecar's instruments. Record through the ``record_*`` methods (cheap, never raise).

    ``set_rollout_source`` and ``set_revision_source`` register the callbacks the observable gauges
    read at collection time (on the exporter's thread): they must be fast, thread-safe reads of
    state the daemon already keeps, and may be replaced at any time.
    """

    def __init__(
        self,
        meter: Meter,
        *,
        evaluation_duration_sample_every: int = 16,
        max_attribute_sets: int = 10_000,
        enabled: bool = True,
        histograms: FastHistograms | None = None,
    ) -> None:
        self._enabled = enabled
        self._sample_every = max(1, evaluation_duration_sample_every)
        self._countdown = 1  # record the very first evaluation's duration
        self._rollout_source: Callable[[], Iterable[RolloutGauge]] | None = None
        self._revision_source: Callable[[], int | None] | None = None

        self._evaluations = _Table3((FLAG_KEY, FLAG_VARIANT, FLAG_REASON), max_attribute_sets, True)
        self._routes = _Table3((ROLLOUT, VERSION, REASON), max_attribute_sets)
        self._outcomes = _Table3((ROLLOUT, VERSION, RESULT), max_attribute_sets)
        self._flag_attrs: dict[str, Mapping[str, AttributeValue]] = {}
        self._max_attribute_sets = max_attribute_sets
        self._rollout_version_attrs = _Attrs2((ROLLOUT, VERSION), max_attribute_sets)
        self._reload_attrs = {True: {RELOAD_RESULT: "ok"}, False: {RELOAD_RESULT: "error"}}

        self._create_request_instruments(meter)
        self._create_state_instruments(meter)
        # Recorded by the gRPC interceptor on every call, so it takes the cheap histogram path.
        self.rpc_call_duration: FastHistogram | None = None
        if histograms is not None and enabled:
            self.rpc_call_duration = histograms.create(
                RPC_SERVER_CALL_DURATION,
                "s",
                "Duration of incoming RPCs, by method and status code.",
                RPC_BUCKETS_S,
            )

    def _create_request_instruments(self, meter: Meter) -> None:
        """What every evaluation, route and outcome records."""
        self.flag_evaluations = meter.create_observable_counter(
            FLAG_EVALUATIONS,
            callbacks=[self._evaluations.observe],
            unit="{evaluation}",
            description="Flag evaluations by flag key, variant and reason.",
        )
        self.evaluation_duration = meter.create_histogram(
            EVALUATION_DURATION,
            unit="s",
            description=f"Time to evaluate one flag (one evaluation in {self._sample_every} is recorded).",
            explicit_bucket_boundaries_advisory=EVALUATION_BUCKETS_S,
        )
        self.route_decisions = meter.create_observable_counter(
            ROUTE_DECISIONS,
            callbacks=[self._routes.observe],
            unit="{decision}",
            description="V1/V2 routing decisions by rollout, version and reason.",
        )
        self.outcomes = meter.create_observable_counter(
            OUTCOMES,
            callbacks=[self._outcomes.observe],
            unit="{outcome}",
            description="Reported request outcomes by rollout, version and result (success|error|fallback).",
        )
        self.outcome_duration = meter.create_histogram(
            OUTCOME_DURATION,
            unit="s",
            description="Duration of the requests whose outcomes were reported, by rollout and version.",
            explicit_bucket_boundaries_advisory=OUTCOME_BUCKETS_S,
        )

    def _create_state_instruments(self, meter: Meter) -> None:
        """Gauges of rollout, configuration and process state, and the counters of rare events."""
        self.rollout_phase = meter.create_observable_gauge(
            ROLLOUT_PHASE,
            callbacks=[self._observe_phase],
            unit="{phase}",
            description="Index of each rollout's current phase.",
        )
        self.rollout_v2_percent = meter.create_observable_gauge(
            ROLLOUT_V2_PERCENT,
            callbacks=[self._observe_v2_percent],
            unit="%",
            description="Share of traffic each rollout currently routes to V2.",
        )
        self.rollbacks = meter.create_counter(
            ROLLBACKS, unit="{rollback}", description="Rollbacks by rollout and reason."
        )
        self.config_reloads = meter.create_counter(
            CONFIG_RELOADS, unit="{reload}", description="Configuration reloads by result (ok|error)."
        )
        self.config_revision = meter.create_observable_gauge(
            CONFIG_REVISION,
            callbacks=[self._observe_revision],
            unit="{revision}",
            description="Revision number of the configuration being served.",
        )
        self.process_memory = meter.create_observable_up_down_counter(
            PROCESS_MEMORY,
            callbacks=[self._observe_memory],
            unit="By",
            description="Resident set size of the daemon.",
        )
        self.process_cpu_time = meter.create_observable_counter(
            PROCESS_CPU_TIME,
            callbacks=[self._observe_cpu],
            unit="s",
            description="CPU time consumed by the daemon, by mode (user|system).",
        )

    # -- hot path ----------------------------------------------------------------------------------

    def record_evaluation(
        self, flag_key: str, variant: str, reason: str, duration_s: float | None = None
    ) -> None:
        """One flag evaluation. ``reason`` is reported lower-case (semconv values)."""
        if not self._enabled:
            return
        try:
            cell = self._evaluations.root[flag_key][variant][reason]
        except KeyError:
            cell = self._evaluations.miss(flag_key, variant, reason)
        cell.value += 1
        if duration_s is not None:
            self._countdown -= 1
            if self._countdown <= 0:
                self._countdown = self._sample_every
                self.evaluation_duration.record(duration_s, self._flag_key_attrs(flag_key))

    def record_route(self, rollout: str, version: str, reason: str) -> None:
        """One V1/V2 routing decision."""
        if not self._enabled:
            return
        try:
            cell = self._routes.root[rollout][version][reason]
        except KeyError:
            cell = self._routes.miss(rollout, version, reason)
        cell.value += 1

    def record_outcome(
        self, rollout: str, version: str, result: str, latency_ms: float | None = None
    ) -> None:
        """One reported request outcome; ``result`` is success, error or fallback.

        ``latency_ms`` is what callers report (milliseconds); it is recorded in seconds.
        """
        if not self._enabled:
            return
        try:
            cell = self._outcomes.root[rollout][version][result]
        except KeyError:
            cell = self._outcomes.miss(rollout, version, result)
        cell.value += 1
        if latency_ms is not None:
            attrs = self._rollout_version_attrs.get(rollout, version)
            self.outcome_duration.record(latency_ms / 1000.0, attrs)

    # -- rare events -------------------------------------------------------------------------------

    def record_rollback(self, rollout: str, reason: str) -> None:
        if self._enabled:
            self.rollbacks.add(1, {ROLLOUT: rollout, REASON: reason})

    def record_config_reload(self, ok: bool) -> None:
        if self._enabled:
            self.config_reloads.add(1, self._reload_attrs[bool(ok)])

    # -- gauge sources -----------------------------------------------------------------------------

    def set_rollout_source(self, source: Callable[[], Iterable[RolloutGauge]] | None) -> None:
        """Where the phase-index and V2-percent gauges read each rollout's position."""
        self._rollout_source = source

    def set_revision_source(self, source: Callable[[], int | None] | None) -> None:
        """Where the configuration-revision gauge reads the revision being served (None: none yet)."""
        self._revision_source = source

    # -- internals ---------------------------------------------------------------------------------

    def _flag_key_attrs(self, flag_key: str) -> Attributes:
        attrs = self._flag_attrs.get(flag_key)
        if attrs is None:
            if len(self._flag_attrs) >= self._max_attribute_sets:
                return OVERFLOW
            attrs = self._flag_attrs[flag_key] = {FLAG_KEY: flag_key}
        return attrs

    def _rollouts(self) -> list[RolloutGauge]:
        source = self._rollout_source
        if source is None:
            return []
        try:
            return list(source())
        except Exception:
            _log.exception("rollout-state callback failed")
            return []

    def _observe_phase(self, _options: CallbackOptions) -> Iterable[Observation]:
        return [Observation(r.phase_index, {ROLLOUT: r.rollout}) for r in self._rollouts()]

    def _observe_v2_percent(self, _options: CallbackOptions) -> Iterable[Observation]:
        return [Observation(r.v2_percent, {ROLLOUT: r.rollout}) for r in self._rollouts()]

    def _observe_revision(self, _options: CallbackOptions) -> Iterable[Observation]:
        source = self._revision_source
        if source is None:
            return []
        try:
            revision = source()
        except Exception:
            _log.exception("revision callback failed")
            return []
        return [] if revision is None else [Observation(revision)]

    def _observe_memory(self, _options: CallbackOptions) -> Iterable[Observation]:
        rss = _rss_bytes()
        return [] if rss is None else [Observation(rss)]

    def _observe_cpu(self, _options: CallbackOptions) -> Iterable[Observation]:
        times = os.times()
        return [Observation(times.user, {CPU_MODE: "user"}), Observation(times.system, {CPU_MODE: "system"})]
