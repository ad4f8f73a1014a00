"""Alert rules from configuration files, validated with every problem located (file:line).

A configuration document may hold a top-level ``alerts`` mapping of rule name to rule::

    alerts:
      checkout-v2-errors:             # name: letters, digits, '.', '_' and '-'
        description: V2 of checkout is failing
        metric: error_rate            # see below
        version: V2                   # outcome metrics only: whose outcomes (default V2)
        rollout: checkout-v2          # per-rollout metrics: a rollout key, or "*" for every rollout (default)
        comparison: ">"               # ">" (default), ">=", "<" or "<="
        thresholds:                   # any of info, warning, error, critical; worse in the comparison's
          warning: 0.02               # direction as severity rises
          critical: 0.10
        window: 1m                    # outcome metrics and evaluation_errors look this far back (default 5m)
        interval: 10s                 # evaluated this often (default 30s, at least 100ms)
        for: 30s                      # a threshold must stay crossed this long before it fires (default 0)
        minRequests: 50               # outcome metrics: fewer calls in the window is no data (default 20)
        webhooks:                     # each event is POSTed as JSON; plain http:// to loopback only
          - https://hooks.example.com/sidecar

Metrics: ``error_rate``, ``fallback_rate`` (fractions) and ``p95_latency_ms`` of one version's reported
outcomes over the window; ``gate:<gate>`` — the value a rollout gate had at the policy's last decision, e.g.
``gate:max_v2_error_rate``; and daemon-wide ``evaluation_errors`` (REASON_ERROR evaluations over the window),
``reload_failures`` (configuration sources currently failing to load) and ``memory_rss_mb``.
"""

from __future__ import annotations

import difflib
import ipaddress
import math
from collections.abc import Mapping
from dataclasses import fields, replace
from typing import Any
from urllib.parse import urlsplit

from sidecar.alerts.model import (
    ALL_ROLLOUTS,
    GATE_PREFIX,
    OUTCOME_METRICS,
    ROLLOUT_METRICS,
    AlertRule,
    Comparison,
    Metric,
    MetricRef,
    Severity,
)

# The rollout parser's reader collects located problems and reports unknown fields with suggestions.
from sidecar.config.keys import KEY_RULE, is_key
from sidecar.config.located import LocatedDocument, PathKey
from sidecar.config.reader import ProblemCollector
from sidecar.rollout.model import Gates, Version
from sidecar.rollout.parse import parse_duration

SECTION = "alerts"
DEFAULT_WINDOW_S = 300.0
DEFAULT_INTERVAL_S = 30.0
# Below this many calls in the window an outcome metric has no data: a rate over a handful of calls is noise.
DEFAULT_MIN_REQUESTS = 20
MIN_INTERVAL_S = 0.1
MAX_WEBHOOKS = 10
GATE_NAMES = tuple(f.name for f in fields(Gates))
_RULE_FIELDS = (
    "description",
    "metric",
    "version",
    "rollout",
    "comparison",
    "thresholds",
    "window",
    "interval",
    "for",
    "minRequests",
    "webhooks",
)
_PLAIN_METRICS = tuple(m.value for m in Metric if m is not Metric.GATE)
_METRIC_NAMES = _PLAIN_METRICS + tuple(GATE_PREFIX + name for name in GATE_NAMES)


def parse_alerts(doc: LocatedDocument) -> dict[str, AlertRule]:
    """Every rule under ``alerts`` in ``doc``; :class:`ConfigError` lists all problems with their lines."""
    reader = ProblemCollector(doc)
    rules: dict[str, AlertRule] = {}
    section = doc.data.get(SECTION) if isinstance(doc.data, Mapping) else None
    if section is None:
        return rules
    if not isinstance(section, Mapping):
        reader.report((SECTION,), "must be a mapping of rule name to rule")
    else:
        for name, raw in section.items():
            rule = _rule(reader, str(name), raw)
            if rule is not None:
                rules[str(name)] = rule
    reader.raise_problems()
    return rules


def _rule(reader: ProblemCollector, name: str, raw: object) -> AlertRule | None:
    """The rule at ``alerts.<name>``, or None when it is too broken to build (problems are recorded)."""
    path: PathKey = (SECTION, name)
    if not is_key(name):
        reader.report(path, f"rule name must be {KEY_RULE}")
    data = reader.mapping(path, raw, _RULE_FIELDS) or {}
    if "metric" not in data:
        reader.report(path, f"metric is required; one of {', '.join(_METRIC_NAMES)}")
    if "thresholds" not in data:
        reader.report(path, "thresholds is required, e.g. {warning: 0.05, critical: 0.2}")
    metric: MetricRef | None = reader.value(path, data, "metric", _metric, None)
    kind = metric.metric if metric is not None else None
    version = Version.V2
    min_requests = 1
    if kind in OUTCOME_METRICS:
        version = reader.value(path, data, "version", _version, Version.V2)
        min_requests = reader.value(path, data, "minRequests", _positive_int, DEFAULT_MIN_REQUESTS)
    elif kind is not None:
        outcome_names = ", ".join(sorted(OUTCOME_METRICS))
        if "version" in data:
            reader.report((*path, "version"), f"only {outcome_names} take a version")
        if "minRequests" in data:
            reader.report(
                (*path, "minRequests"),
                f"only {outcome_names} take minRequests (the calls in the window an outcome metric needs)",
            )
    rollout: str | None = None
    if kind in ROLLOUT_METRICS:
        rollout = reader.value(path, data, "rollout", _rollout, ALL_ROLLOUTS)
    elif kind is not None and "rollout" in data:
        reader.report((*path, "rollout"), f"{kind} is daemon-wide; it takes no rollout")
    comparison = reader.value(path, data, "comparison", _comparison, Comparison.GT)
    # Every field is checked even when the metric is unusable, so one pass reports every problem.
    thresholds = _thresholds(reader, (*path, "thresholds"), data.get("thresholds"), comparison)
    window_s = reader.value(path, data, "window", _positive_duration, DEFAULT_WINDOW_S)
    interval_s = reader.value(path, data, "interval", _interval, DEFAULT_INTERVAL_S)
    for_s = reader.value(path, data, "for", parse_duration, 0.0)
    description = reader.value(path, data, "description", _description, "")
    webhooks = _webhooks(reader, (*path, "webhooks"), data.get("webhooks"))
    if metric is None:
        return None
    return AlertRule(
        name=name,
        metric=replace(metric, version=version),
        comparison=comparison,
        thresholds=thresholds,
        rollout=rollout,
        window_s=window_s,
        interval_s=interval_s,
        for_s=for_s,
        min_requests=min_requests,
        description=description,
        webhooks=webhooks,
        source=reader.doc.source,
    )


def _thresholds(
    reader: ProblemCollector, path: PathKey, raw: object, comparison: Comparison
) -> tuple[tuple[Severity, float], ...]:
    if raw is None:
        return ()
    data = reader.mapping(path, raw, [s.value for s in Severity]) or {}
    if not data:
        reader.report(path, "needs at least one of info, warning, error, critical")
    parsed: list[tuple[Severity, float]] = []
    for severity in Severity:
        value = reader.value(path, data, severity.value, _number, None)
        if value is None:
            continue
        if parsed:
            below, limit = parsed[-1]
            if (value <= limit) if comparison.upward else (value >= limit):
                direction = "above" if comparison.upward else "below"
                reader.report(
                    (*path, severity.value),
                    f"must be {direction} the {below.value} threshold {limit:g}: with {comparison.value!r} "
                    "a more severe level needs a worse value",
                )
        parsed.append((severity, value))
    return tuple(parsed)


def _metric(raw: object) -> MetricRef:
    text = raw if isinstance(raw, str) else ""
    if text.startswith(GATE_PREFIX):
        gate = text.removeprefix(GATE_PREFIX)
        if gate in GATE_NAMES:
            return MetricRef(Metric.GATE, gate=gate)
        raise ValueError(f"unknown gate {gate!r}{_suggest(gate, GATE_NAMES)}; gates: {', '.join(GATE_NAMES)}")
    if text in _PLAIN_METRICS:
        return MetricRef(Metric(text))
    hint = _suggest(text, _METRIC_NAMES) or f"; one of {', '.join(_PLAIN_METRICS)} or gate:<gate name>"
    raise ValueError(f"unknown metric {raw!r}{hint}")


def _comparison(raw: object) -> Comparison:
    if isinstance(raw, str) and raw in Comparison._value2member_map_:
        return Comparison(raw)
    raise ValueError(f"must be one of {', '.join(repr(c.value) for c in Comparison)}, got {raw!r}")


def _suggest(text: str, names: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(text, names, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _version(raw: object) -> Version:
    if isinstance(raw, str) and raw.upper() in Version.__members__:
        return Version[raw.upper()]
    raise ValueError(f"must be V1 or V2, got {raw!r}")


def _rollout(raw: object) -> str:
    if raw == ALL_ROLLOUTS or is_key(raw):
        return str(raw)
    raise ValueError(f'must be a rollout key or "*" for every rollout, got {raw!r}')


def _number(raw: object) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not math.isfinite(raw):
        raise ValueError(f"must be a number, got {raw!r}")
    return float(raw)


def _positive_int(raw: object) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int) or raw < 1:
        raise ValueError(f"must be a whole number of calls, 1 or more, got {raw!r}")
    return raw


def _positive_duration(raw: object) -> float:
    seconds = parse_duration(raw)
    if seconds <= 0.0:
        raise ValueError(f"must be longer than 0, got {raw!r}")
    return seconds


def _interval(raw: object) -> float:
    seconds = parse_duration(raw)
    if seconds < MIN_INTERVAL_S:
        raise ValueError(f"must be at least {MIN_INTERVAL_S * 1000:.0f}ms, got {raw!r}")
    return seconds


def _description(raw: object) -> str:
    if not isinstance(raw, str):
        raise ValueError("must be a string")
    return raw


def _webhooks(reader: ProblemCollector, path: PathKey, raw: object) -> tuple[str, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_WEBHOOKS:
        reader.report(path, f"must be a list of 1 to {MAX_WEBHOOKS} URLs")
        return ()
    urls: list[str] = []
    for index, url in enumerate(raw):
        try:
            urls.append(_webhook(url))
        except ValueError as exc:
            reader.report((*path, index), str(exc))
    return tuple(urls)


def _webhook(raw: Any) -> str:
    if not isinstance(raw, str):
        raise ValueError(f"must be a URL string, got {raw!r}")
    try:
        parts = urlsplit(raw)
        host = parts.hostname
        _ = parts.port  # raises ValueError on a malformed port
    except ValueError as exc:
        raise ValueError(f"is not a valid URL: {exc}") from None
    if parts.scheme not in ("http", "https") or not host:
        raise ValueError(f"must be an http:// or https:// URL, got {raw!r}")
    if parts.username is not None or parts.password is not None:
        raise ValueError("credentials in the URL are not supported; put a token in the path or query")
    if parts.scheme == "http" and not _is_loopback(host):
        raise ValueError("plain http:// is allowed only to a loopback address; use https://")
    return raw


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
