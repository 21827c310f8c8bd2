"""The seeded shuffle that chose the frozen class splits in the built-in specs.

The lists in the YAML files are the source of truth; this function documents
how they were drawn and a test checks that they still match it.
"""

from __future__ import annotations

from bench.seeding import derive_seed, numpy_rng

CLASS_SPLIT_ROOT_SEED = 20240601
FRACTIONS = (0.6, 0.2, 0.2)


def propose_class_split(task: str, labels: list[str]) -> tuple[list[str], list[str], list[str]]:
    """Shuffle the sorted labels with a seed derived from the task name; cut 60/20/20.

    Returns (meta_train, meta_val, meta_test), each sorted. meta_val gets
    round(0.2 * n) classes and meta_test the rest after meta_train.
    """
    ordered = sorted(labels)
    rng = numpy_rng(derive_seed(CLASS_SPLIT_ROOT_SEED, "class-split", task))
    shuffled = [ordered[i] for i in rng.permutation(len(ordered))]
    n_train = round(FRACTIONS[0] * len(ordered))
    n_val = round(FRACTIONS[1] * len(ordered))
    return (
        sorted(shuffled[:n_train]),
        sorted(shuffled[n_train : n_train + n_val]),
        sorted(shuffled[n_train + n_val :]),
    )
