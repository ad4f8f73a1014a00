"""Rollout Sidecar: local feature-flag evaluation, V1/V2 routing and staged rollouts over gRPC."""


def __getattr__(name: str) -> str:
    # ``__version__`` is the installed distribution's, so pyproject.toml is the one place it is written. It
    # is read on first use: importlib.metadata would add a fifth to the cost of `sidecar health`.
    if name != "__version__":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib.metadata import version

    return version("rollout-sidecar")
