"""Pure statistics shared by the rollout engine (V1 vs V2 report, sequential error-rate gate) and the
experiment analysis. No I/O, clocks or global state; inputs are mergeable aggregates, never individual
events.

Import from the module that answers the question (:mod:`~sidecar.stats.summary`, :mod:`~sidecar.stats.fixed`,
:mod:`~sidecar.stats.sequential`, :mod:`~sidecar.stats.power`, :mod:`~sidecar.stats.srm`, ...): only the
tests and power calculations need scipy, and a package that re-exported them all would load it for anyone
who merely wants :class:`~sidecar.stats.summary.SummaryStats`.
"""
