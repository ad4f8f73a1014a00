"""Alerting: rules from the configuration directory, a pure engine that fires, escalates and resolves
alerts, and the metric arithmetic it needs. The daemon-side adapter is :mod:`sidecar.runtime.alerts`."""
