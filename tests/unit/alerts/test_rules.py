"""Alert rule parsing: every field, defaults, and located (file:line) problems."""

from __future__ import annotations

import pytest

from sidecar.alerts.model import ALL_ROLLOUTS, Comparison, Metric, MetricRef, Severity
from sidecar.alerts.rules import DEFAULT_INTERVAL_S, DEFAULT_MIN_REQUESTS, DEFAULT_WINDOW_S, parse_alerts
from sidecar.config.located import parse_text
from sidecar.errors import ConfigError
from sidecar.rollout.model import Version
from sidecar.store.sections import ALERT
from sidecar.store.sources import compile_document

FULL = """\
alerts:
  checkout-errors:
    description: V1 of checkout fails
    metric: error_rate
    version: v1
    rollout: checkout-v2
    comparison: ">="
    thresholds: {warning: 0.02, critical: 0.1}
    window: 1m
    interval: 500ms
    for: 30s
    webhooks: ["http://127.0.0.1:9000/hook", "https://hooks.example.com/x?token=1", "http://[::1]/a"]
  memory:
    metric: memory_rss_mb
    thresholds: {info: 100}
  gate:
    metric: gate:max_v2_error_rate
    comparison: "<"
    thresholds: {info: 0.9, error: 0.5}
"""


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as raised:
        parse_alerts(parse_text(text, "alerts.yaml", "yaml"))
    return [str(problem) for problem in raised.value.problems]


def test_full_rule_and_defaults() -> None:
    rules = parse_alerts(parse_text(FULL, "alerts.yaml", "yaml"))
    checkout = rules["checkout-errors"]
    assert checkout.metric == MetricRef(Metric.ERROR_RATE, Version.V1)
    assert (checkout.rollout, checkout.comparison) == ("checkout-v2", Comparison.GE)
    assert checkout.thresholds == ((Severity.WARNING, 0.02), (Severity.CRITICAL, 0.1))
    assert (checkout.window_s, checkout.interval_s, checkout.for_s) == (60.0, 0.5, 30.0)
    assert checkout.description == "V1 of checkout fails"
    assert len(checkout.webhooks) == 3
    assert checkout.source == "alerts.yaml"
    memory = rules["memory"]
    assert (memory.rollout, memory.comparison, memory.for_s) == (None, Comparison.GT, 0.0)
    assert (memory.window_s, memory.interval_s) == (DEFAULT_WINDOW_S, DEFAULT_INTERVAL_S)
    gate = rules["gate"]
    assert (gate.metric, gate.rollout) == (MetricRef(Metric.GATE, gate="max_v2_error_rate"), ALL_ROLLOUTS)
    assert str(gate.metric) == "gate:max_v2_error_rate"


def test_every_problem_is_reported_with_its_line() -> None:
    text = """\
alerts:
  bad:
    metric: eror_rate
    thresholds: {warning: 0.5, critical: 0.1}
    window: 0s
    interval: 10ms
    webhooks:
      - http://192.0.2.10/hook
      - "ftp://a"
      - "https://user:pw@example.com/"
  daemon:
    metric: reload_failures
    rollout: svc
    version: V1
    thresholds: {severe: 3}
    comparison: "!="
    colour: red
  no-metric:
    description: 3
"""
    assert problems(text) == [
        "alerts.yaml:3: alerts.bad.metric: unknown metric 'eror_rate' (did you mean 'error_rate'?)",
        "alerts.yaml:4: alerts.bad.thresholds.critical: must be above the warning threshold 0.5: "
        "with '>' a more severe level needs a worse value",
        "alerts.yaml:5: alerts.bad.window: must be longer than 0, got '0s'",
        "alerts.yaml:6: alerts.bad.interval: must be at least 100ms, got '10ms'",
        "alerts.yaml:8: alerts.bad.webhooks[0]: plain http:// is allowed only to a loopback address; "
        "use https://",
        "alerts.yaml:9: alerts.bad.webhooks[1]: must be an http:// or https:// URL, got 'ftp://a'",
        "alerts.yaml:10: alerts.bad.webhooks[2]: credentials in the URL are not supported; "
        "put a token in the path or query",
        "alerts.yaml:13: alerts.daemon.rollout: reload_failures is daemon-wide; it takes no rollout",
        "alerts.yaml:14: alerts.daemon.version: only error_rate, fallback_rate, p95_latency_ms "
        "take a version",
        "alerts.yaml:15: alerts.daemon.thresholds.severe: unknown field 'severe'; "
        "known fields: info, warning, error, critical",
        "alerts.yaml:16: alerts.daemon.comparison: must be one of '>', '>=', '<', '<=', got '!='",
        "alerts.yaml:17: alerts.daemon.colour: unknown field 'colour' (did you mean 'rollout'?)",
        "alerts.yaml:18: alerts.no-metric: metric is required; one of error_rate, fallback_rate, "
        "p95_latency_ms, evaluation_errors, reload_failures, memory_rss_mb, gate:min_v2_success_rate, "
        "gate:max_v2_error_rate, gate:max_error_rate_increase, gate:max_latency_ratio, "
        "gate:max_latency_increase_ms, gate:max_fallback_rate",
        "alerts.yaml:18: alerts.no-metric: thresholds is required, e.g. {warning: 0.05, critical: 0.2}",
        "alerts.yaml:19: alerts.no-metric.description: must be a string",
    ]


@pytest.mark.parametrize(
    ("field", "message"),
    [
        ("metric: gate:maxV2ErrorRate", "unknown gate 'maxV2ErrorRate' (did you mean 'max_v2_error_rate'?)"),
        ("metric: error_rate\n    version: V3", "version: must be V1 or V2, got 'V3'"),
        ("metric: error_rate\n    rollout: 'bad key!'", 'rollout: must be a rollout key or "*"'),
        ("metric: error_rate\n    for: soon", "for: invalid duration 'soon'"),
        ("metric: error_rate\n    webhooks: []", "webhooks: must be a list of 1 to 10 URLs"),
    ],
)
def test_single_field_problems(field: str, message: str) -> None:
    text = f"alerts:\n  r:\n    {field}\n    thresholds: {{warning: 1}}\n"
    (problem,) = problems(text)
    assert message in problem
    assert problem.startswith("alerts.yaml:")


def test_thresholds_fall_with_severity_for_less_than() -> None:
    text = (
        "alerts:\n  r:\n    metric: error_rate\n    comparison: '<'\n"
        "    thresholds: {info: 0.1, error: 0.2}\n"
    )
    (problem,) = problems(text)
    assert "alerts.yaml:5: alerts.r.thresholds.error: must be below the info threshold 0.1" in problem


def test_alerts_is_a_configuration_section() -> None:
    content = compile_document(parse_text(FULL, "alerts.yaml", "yaml"))
    assert set(content.of(ALERT)) == {"checkout-errors", "memory", "gate"}
    with pytest.raises(ConfigError) as raised:
        compile_document(parse_text("alerts: [1, 2]\n", "x.yaml", "yaml"))
    (problem,) = raised.value.problems
    assert str(problem) == "x.yaml:1: alerts: must be a mapping of rule name to rule"


def test_outcome_rules_need_min_requests_calls() -> None:
    text = (
        "alerts:\n"
        "  default:\n    metric: p95_latency_ms\n    thresholds: {warning: 500}\n"
        "  explicit:\n    metric: error_rate\n    minRequests: 1\n    thresholds: {warning: 0.5}\n"
    )
    rules = parse_alerts(parse_text(text, "alerts.yaml", "yaml"))
    assert rules["default"].min_requests == DEFAULT_MIN_REQUESTS == 20
    assert rules["explicit"].min_requests == 1


@pytest.mark.parametrize("raw", ["0", "-5", "2.5", "'20'", "true"])
def test_min_requests_is_a_positive_whole_number(raw: str) -> None:
    text = (
        f"alerts:\n  r:\n    metric: fallback_rate\n    minRequests: {raw}\n    thresholds: {{warning: 1}}\n"
    )
    (problem,) = problems(text)
    assert problem.startswith(
        "alerts.yaml:4: alerts.r.minRequests: must be a whole number of calls, 1 or more, got "
    )


@pytest.mark.parametrize("metric", ["gate:max_v2_error_rate", "evaluation_errors", "memory_rss_mb"])
def test_only_outcome_metrics_take_min_requests(metric: str) -> None:
    text = f"alerts:\n  r:\n    metric: {metric}\n    minRequests: 50\n    thresholds: {{warning: 1}}\n"
    assert problems(text) == [
        "alerts.yaml:4: alerts.r.minRequests: only error_rate, fallback_rate, p95_latency_ms take "
        "minRequests (the calls in the window an outcome metric needs)"
    ]
