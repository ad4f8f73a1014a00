"""Rollout Sidecar: local feature-flag evaluation, V1/V2 routing and staged rollouts over gRPC."""

__version__ = "0.1.0"
