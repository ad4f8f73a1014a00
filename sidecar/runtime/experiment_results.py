"""An experiment's results from what the store holds: the pure analysis of its aggregates, the feedback
summary, and the notes about how the data was collected that qualify both."""

from __future__ import annotations

from dataclasses import replace

from sidecar.experiments.analysis import analyze_experiment
from sidecar.experiments.config import SATISFACTION, ExperimentConfig
from sidecar.experiments.feedback import ratings_to_metric, summarize_feedback
from sidecar.experiments.model import Correction, ExperimentData
from sidecar.experiments.results import ExperimentResults
from sidecar.store.experiment_store import StoredExperiment


def collection_notes(problems: tuple[str, ...], dropped_exposures: int) -> list[str]:
    """What the daemon knows about the experiment's data that the stored aggregates cannot show."""
    notes = [f"Configuration: {problem}." for problem in problems]
    if dropped_exposures:
        notes.append(
            f"{dropped_exposures} exposures were dropped since the daemon started because the "
            "exposure buffer was full; their units may be missing or count as unexposed."
        )
    return notes


def results_of(
    config: ExperimentConfig,
    stored: StoredExperiment,
    *,
    correction: Correction | None,
    notes: list[str],
    status: str,
) -> ExperimentResults:
    """Analyse the stored aggregates; ``notes`` and the store's own findings come before the analysis'
    warnings, because they qualify the rest."""
    metrics = dict(stored.metrics)
    if config.satisfaction is not None:
        metrics[SATISFACTION] = ratings_to_metric(stored.feedback)
    report = analyze_experiment(
        config.definition(correction), ExperimentData(stored.exposures, metrics, stored.unexposed_events)
    )
    notes = list(notes)
    if stored.switched_units:
        notes.append(
            f"{stored.switched_units} units were served more than one arm (did the flag's split change "
            "during the experiment?); each is analysed in the arm it saw first."
        )
    if stored.unattributed_feedback:
        notes.append(
            f"{stored.unattributed_feedback} feedback entries named this experiment but came from units "
            "never exposed to it; they are excluded."
        )
    exposures = {arm: stored.exposures.get(arm, 0) for arm in config.arms}
    return ExperimentResults(
        config,
        status,
        replace(report, warnings=(*notes, *report.warnings)),
        summarize_feedback(stored.feedback, exposures=exposures),
    )
