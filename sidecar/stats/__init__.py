"""Pure statistics shared by the rollout engine (V1 vs V2 report, sequential error-rate gate) and the
experiment analysis. No I/O, clocks or global state; inputs are mergeable aggregates, never individual
events."""

from sidecar.stats.compare import VersionComparison, VersionSample, VersionSummary, compare_versions
from sidecar.stats.effect import cohens_d, cohens_h
from sidecar.stats.fixed import relative_lift, relative_lift_variance, two_proportion_z_test, welch_t_test
from sidecar.stats.histogram import (
    LATENCY_BUCKET_BOUNDS,
    LATENCY_BUCKET_COUNT,
    LATENCY_LAYOUT_VERSION,
    bucket_index,
    percentile_from_histogram,
)
from sidecar.stats.multiple import benjamini_hochberg, holm
from sidecar.stats.power import (
    achieved_power,
    power_from_standard_error,
    required_sample_size,
    sample_size_per_arm,
    two_proportion_power,
    two_sample_t_power,
)
from sidecar.stats.sequential import (
    SequentialResult,
    mixture_sprt,
    sequential_mean_difference,
    sequential_proportion_difference,
    tighten,
)
from sidecar.stats.srm import SrmResult, sample_ratio_mismatch
from sidecar.stats.summary import SummaryStats, TestResult

__all__ = [
    "LATENCY_BUCKET_BOUNDS",
    "LATENCY_BUCKET_COUNT",
    "LATENCY_LAYOUT_VERSION",
    "SequentialResult",
    "SrmResult",
    "SummaryStats",
    "TestResult",
    "VersionComparison",
    "VersionSample",
    "VersionSummary",
    "achieved_power",
    "benjamini_hochberg",
    "bucket_index",
    "cohens_d",
    "cohens_h",
    "compare_versions",
    "holm",
    "mixture_sprt",
    "percentile_from_histogram",
    "power_from_standard_error",
    "relative_lift",
    "relative_lift_variance",
    "required_sample_size",
    "sample_ratio_mismatch",
    "sample_size_per_arm",
    "sequential_mean_difference",
    "sequential_proportion_difference",
    "tighten",
    "two_proportion_power",
    "two_proportion_z_test",
    "two_sample_t_power",
    "welch_t_test",
]
