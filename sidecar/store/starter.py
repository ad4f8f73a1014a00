"""Starter configurations for ``sidecar init``: commented files that load cleanly and start a daemon.

The files ship as package data (``sidecar/store/templates/``); a template is the list of files it is made of,
so the larger templates extend the smaller ones instead of repeating them.
"""

from __future__ import annotations

from importlib import resources

TEMPLATES: dict[str, tuple[str, ...]] = {
    "flags": ("flags.yaml",),
    "rollout": ("flags.yaml", "rollouts.yaml"),
    "full": ("flags.yaml", "rollouts.yaml", "experiments.yaml", "alerts.yaml"),
}
DESCRIPTIONS = {
    "flags": "feature flags only",
    "rollout": "flags and two V1 -> V2 rollouts",
    "full": "flags, rollouts, an A/B experiment and alert rules",
}


class UnknownTemplateError(ValueError):
    def __init__(self, name: str) -> None:
        super().__init__(f"unknown template {name!r}; accepted: {', '.join(TEMPLATES)}")


def template_files(name: str) -> dict[str, str]:
    """File name -> text of the template's files."""
    if name not in TEMPLATES:
        raise UnknownTemplateError(name)
    folder = resources.files(__package__ or "sidecar.store") / "templates"
    return {file: (folder / file).read_text(encoding="utf-8") for file in TEMPLATES[name]}
