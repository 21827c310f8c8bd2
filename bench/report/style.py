"""Method order and colours shared by every table and figure.

A method keeps its colour across all figures of all reports: the known
methods have fixed entries, and any other name gets a colour picked by a
hash of the name (stable across processes, unlike Python's `hash`).
"""

from __future__ import annotations

import hashlib

PRIMARY_METHOD = "meta-erasure"
BASELINE_ORDER: tuple[str, ...] = ("finetune", "maml", "protonet", "logreg", "setfit")

# Matplotlib's tab10 colours for the known methods; ablations use shades of the
# primary method's family so they read as variants of it.
METHOD_COLOURS: dict[str, str] = {
    "meta-erasure": "#d62728",
    "meta-erasure-no-erasure": "#ff9896",
    "meta-erasure-random": "#8c564b",
    "meta-erasure-no-smlmt": "#e377c2",
    "finetune": "#1f77b4",
    "maml": "#ff7f0e",
    "protonet": "#2ca02c",
    "logreg": "#9467bd",
    "setfit": "#17becf",
}
_FALLBACK_PALETTE = ("#7f7f7f", "#bcbd22", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#3182bd")


def method_colour(method: str) -> str:
    """Return the hex colour of a method, the same in every figure."""
    if method in METHOD_COLOURS:
        return METHOD_COLOURS[method]
    digest = hashlib.sha256(method.encode("utf-8")).digest()
    return _FALLBACK_PALETTE[digest[0] % len(_FALLBACK_PALETTE)]


def is_ablation(method: str, primary: str) -> bool:
    """Ablations are named after the method they ablate: `<primary>-<variant>`."""
    return method.startswith(f"{primary}-")


def order_methods(methods: set[str] | list[str], primary: str) -> list[str]:
    """Sort methods as tables show them: primary, its ablations, known baselines, then the rest by name."""
    present = set(methods)

    def rank(method: str) -> tuple[int, int, str]:
        if method == primary:
            return (0, 0, method)
        if is_ablation(method, primary):
            return (1, 0, method)
        if method in BASELINE_ORDER:
            return (2, BASELINE_ORDER.index(method), method)
        return (3, 0, method)

    return sorted(present, key=rank)
