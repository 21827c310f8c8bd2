"""Cells of the run grid and the data each one receives.

The data of a cell depends on (root seed, task, k, split) only, never on the
method, so every method is compared on identical support and evaluation sets.
"""

from __future__ import annotations

from dataclasses import dataclass

from bench.data import LabeledSet, Task
from bench.profiles import Profile
from bench.records import CellId
from bench.sampling import episode, evaluation_sample, kshot_support, ner_support

PROTOCOLS = ("kshot", "episode", "ner-greedy")


@dataclass(frozen=True)
class CellData:
    protocol: str
    support: LabeledSet
    evaluation: LabeledSet


def choose_protocol(task: Task) -> str:
    """NER tasks use greedy sampling; class-split tasks use N-way episodes; others k-shot."""
    if task.kind == "ner":
        return "ner-greedy"
    if task.class_split is not None and "episode" in task.protocols:
        return "episode"
    return "kshot"


def build_cell_data(task: Task, cell: CellId, profile: Profile, root_seed: int) -> CellData:
    protocol = choose_protocol(task)
    if protocol == "ner-greedy":
        support = ner_support(task, cell.k, cell.split, root_seed)
        return CellData(protocol, support, evaluation_sample(task, profile.eval_size, root_seed))
    if protocol == "episode":
        support, query = episode(
            task, profile.episode_ways, cell.k, profile.episode_queries, cell.split, root_seed
        )
        return CellData(protocol, support, query)
    support = kshot_support(task, cell.k, cell.split, root_seed)
    return CellData(protocol, support, evaluation_sample(task, profile.eval_size, root_seed))
