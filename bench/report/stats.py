"""Summary statistics per (task, k, method, metric) and paired comparisons against one method.

Splits are the unit of resampling: the support sets differ between splits, and
that is the variation a reader wants the interval to cover. When records also
vary a training seed inside a split, the seeds are averaged first and their
spread is reported on its own, so the two sources of variance stay apart.
Every bootstrap draws from a generator seeded with `derive_seed(seed, ...)`,
so the same records and seed always give the same numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as scipy_stats

from bench.report.scores import split_scores
from bench.seeding import derive_seed, numpy_rng

DEFAULT_BOOTSTRAP_SAMPLES = 10_000
DEFAULT_STATS_SEED = 0
CONFIDENCE = 0.95
# Two split scores closer than this count as a tie; metrics are ratios of counts,
# so a real difference is far larger.
TIE_TOLERANCE = 1e-9


@dataclass(frozen=True)
class Summary:
    task: str
    k: int
    method: str
    metric: str
    mean: float
    # Sample standard deviation (ddof=1) of split scores; NaN with one split.
    sd_split: float
    # Mean within-split standard deviation over training seeds; None with one seed per split.
    sd_seed: float | None
    ci_low: float
    ci_high: float
    n_splits: int
    seeds_per_split: int


@dataclass(frozen=True)
class Comparison:
    """The primary method against one baseline on the splits both have."""

    task: str
    k: int
    metric: str
    primary: str
    baseline: str
    n_pairs: int
    # Mean of (primary - baseline) over paired splits.
    mean_difference: float
    p_bootstrap: float
    p_wilcoxon: float
    wins: int
    ties: int
    losses: int


def bootstrap_ci(values: np.ndarray, rng: np.random.Generator, samples: int) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean; a single value gives a zero-width interval."""
    if len(values) == 1:
        return float(values[0]), float(values[0])
    indices = rng.integers(0, len(values), size=(samples, len(values)))
    means = values[indices].mean(axis=1)
    alpha = (1.0 - CONFIDENCE) / 2.0
    low, high = np.quantile(means, [alpha, 1.0 - alpha])
    return float(low), float(high)


def paired_bootstrap_p(differences: np.ndarray, rng: np.random.Generator, samples: int) -> float:
    """Two-sided p-value of a zero mean difference.

    The differences are centred to impose the null hypothesis, resampled, and the
    p-value is the share of resampled means at least as far from zero as the
    observed one (with the +1 correction, so it is never 0). Identical scores give 1.
    """
    observed = abs(float(differences.mean()))
    centred = differences - differences.mean()
    indices = rng.integers(0, len(differences), size=(samples, len(differences)))
    resampled = np.abs(centred[indices].mean(axis=1))
    extreme = int(np.count_nonzero(resampled >= observed - TIE_TOLERANCE))
    return min(1.0, (extreme + 1) / (samples + 1))


def wilcoxon_p(differences: np.ndarray) -> float:
    """Two-sided Wilcoxon signed-rank p-value; 1.0 when every difference is a tie."""
    nonzero = differences[np.abs(differences) > TIE_TOLERANCE]
    if len(nonzero) == 0:
        return 1.0
    # zero_method="wilcox" drops ties, the usual choice; with few splits the exact
    # distribution is used, whose smallest p-value is 2 / 2**n (0.25 for n = 3).
    result = scipy_stats.wilcoxon(nonzero, zero_method="wilcox", alternative="two-sided")
    return float(result.pvalue)


def summarize(
    frame: pd.DataFrame,
    *,
    seed: int = DEFAULT_STATS_SEED,
    samples: int = DEFAULT_BOOTSTRAP_SAMPLES,
) -> list[Summary]:
    """Summarise a scores frame (see `bench.report.scores.scores_frame`) per (task, k, method, metric)."""
    summaries = []
    for (task, k, method, metric), group in frame.groupby(["task", "k", "method", "metric"], sort=True):
        per_split = group.groupby("split")["value"]
        split_means = per_split.mean().to_numpy(dtype=float)
        seed_counts = per_split.size()
        seeds_per_split = int(seed_counts.max())
        sd_seed = None
        if seeds_per_split > 1:
            within = per_split.std(ddof=1).dropna()
            sd_seed = float(within.mean()) if len(within) else None

        rng = numpy_rng(derive_seed(seed, "bootstrap-ci", task, k, method, metric))
        low, high = bootstrap_ci(split_means, rng, samples)
        summaries.append(
            Summary(
                task=str(task),
                k=int(k),
                method=str(method),
                metric=str(metric),
                mean=float(split_means.mean()),
                sd_split=float(np.std(split_means, ddof=1)) if len(split_means) > 1 else math.nan,
                sd_seed=sd_seed,
                ci_low=low,
                ci_high=high,
                n_splits=len(split_means),
                seeds_per_split=seeds_per_split,
            )
        )
    return summaries


def compare(
    frame: pd.DataFrame,
    primary: str,
    *,
    seed: int = DEFAULT_STATS_SEED,
    samples: int = DEFAULT_BOOTSTRAP_SAMPLES,
) -> list[Comparison]:
    """Compare `primary` with every other method on identical splits, per (task, k, metric).

    Splits that only one of the two methods has are left out of the pair. A
    (task, k, metric) where the primary method has no scores yields nothing.
    """
    by_split = split_scores(frame)
    comparisons = []
    for (task, k, metric), group in by_split.groupby(["task", "k", "metric"], sort=True):
        table = group.pivot(index="split", columns="method", values="value")
        if primary not in table.columns:
            continue
        for baseline in sorted(c for c in table.columns if c != primary):
            paired = table[[primary, baseline]].dropna()
            if paired.empty:
                continue
            differences = (paired[primary] - paired[baseline]).to_numpy(dtype=float)
            rng = numpy_rng(derive_seed(seed, "paired-bootstrap", task, k, metric, primary, baseline))
            comparisons.append(
                Comparison(
                    task=str(task),
                    k=int(k),
                    metric=str(metric),
                    primary=primary,
                    baseline=str(baseline),
                    n_pairs=len(differences),
                    mean_difference=float(differences.mean()),
                    p_bootstrap=paired_bootstrap_p(differences, rng, samples),
                    p_wilcoxon=wilcoxon_p(differences),
                    wins=int(np.count_nonzero(differences > TIE_TOLERANCE)),
                    ties=int(np.count_nonzero(np.abs(differences) <= TIE_TOLERANCE)),
                    losses=int(np.count_nonzero(differences < -TIE_TOLERANCE)),
                )
            )
    return comparisons


def summaries_frame(summaries: list[Summary]) -> pd.DataFrame:
    return pd.DataFrame([s.__dict__ for s in summaries])


def comparisons_frame(comparisons: list[Comparison]) -> pd.DataFrame:
    return pd.DataFrame([c.__dict__ for c in comparisons])
