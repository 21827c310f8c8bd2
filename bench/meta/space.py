"""The candidate model space: the intact encoder plus erased variants.

Two erasure families exist. `units` erases round(rho * n) of the attention
heads and round(rho * n) of the FFN blocks, counted over all layers. `layers`
erases round(rho * L) whole layers (at least one). Importance candidates
erase the units whose gates have the smallest accumulated |dLoss/dgate|;
random candidates draw the erased units from a seeded generator.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from bench.meta.gates import ErasureMask, ErasureShape, GatedEncoder
from bench.seeding import derive_seed, numpy_rng

FAMILIES = ("units", "layers")


@dataclass(frozen=True)
class Candidate:
    """One model in the space: a stable name, how it was made, and its gates."""

    name: str
    origin: str  # "intact", "importance" or "random"
    family: str  # "intact", "units" or "layers"
    ratio: float
    mask: ErasureMask


def importance_scores(
    gated: GatedEncoder, batch_losses: Sequence[Callable[[], torch.Tensor]]
) -> dict[str, torch.Tensor]:
    """Accumulate |dLoss/dgate| at gates = 1 for every head, FFN block and layer.

    Each callable computes one batch loss with the encoder; it runs while the
    all-ones gates are active, so the gradient reaches them.
    """
    gates = ErasureMask.intact(gated.shape, requires_grad=True)
    totals = {kind: torch.zeros_like(tensor) for kind, tensor in gates.tensors().items()}
    with gated.erased(gates):
        for compute_loss in batch_losses:
            loss = compute_loss()
            grads = torch.autograd.grad(loss, list(gates.tensors().values()), allow_unused=True)
            for kind, grad in zip(totals, grads):
                if grad is not None:
                    totals[kind] += grad.detach().abs()
    return totals


def _erased_count(ratio: float, total: int, at_least_one: bool = False) -> int:
    count = int(round(ratio * total))
    return max(1, count) if at_least_one and ratio > 0 else count


def _mask_from_choice(shape: ErasureShape, family: str, ratio: float, order: dict[str, Sequence[int]]) -> ErasureMask:
    """Erase the first units of each kind in `order` (flat indices) in the counts the family and ratio give."""
    mask = ErasureMask.intact(shape)
    heads = mask.heads.reshape(-1).clone()
    ffn = mask.ffn.reshape(-1).clone()
    layers = mask.layers.clone()
    if family == "units":
        heads[list(order["heads"][: _erased_count(ratio, heads.numel())])] = 0.0
        ffn[list(order["ffn"][: _erased_count(ratio, ffn.numel())])] = 0.0
    elif family == "layers":
        layers[list(order["layers"][: _erased_count(ratio, layers.numel(), at_least_one=True)])] = 0.0
    else:
        raise ValueError(f"unknown erasure family {family!r}; expected one of {FAMILIES}")
    return ErasureMask(heads=heads.reshape(shape.num_layers, shape.num_heads), ffn=ffn.reshape(shape.num_layers, shape.ffn_blocks), layers=layers)


def _least_important_first(scores: dict[str, torch.Tensor]) -> dict[str, list[int]]:
    order: dict[str, list[int]] = {}
    for kind, tensor in scores.items():
        flat = tensor.reshape(-1).tolist()
        # Stable sort on (score, index) so equal scores erase the lower index first.
        order[kind] = sorted(range(len(flat)), key=lambda i: (flat[i], i))
    return order


def _same_mask(a: ErasureMask, b: ErasureMask) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a.tensors().values(), b.tensors().values()))


def build_space(
    shape: ErasureShape,
    importance: dict[str, torch.Tensor] | None,
    num_candidates: int,
    ratios: Sequence[float],
    importance_share: float,
    seed: int,
) -> list[Candidate]:
    """Build `num_candidates` distinct candidates: `intact` first, then importance, then random ones.

    round((M - 1) * importance_share) candidates come from importance
    (`imp-r0.2`, `imp-layers-r0.1`) when `importance` is given, the rest are
    random (`rand-r0.1-1`, `rand-layers-r0.3-3`). Names depend only on the
    arguments, so they are stable across runs.
    """
    if num_candidates < 1:
        raise ValueError(f"invalid num_candidates {num_candidates}; need at least 1 (the intact model)")
    if num_candidates > 1 and (not ratios or any(not 0.0 < r < 1.0 for r in ratios)):
        raise ValueError(f"invalid erasure ratios {list(ratios)}; give at least one ratio in (0, 1)")
    space = [Candidate("intact", "intact", "intact", 0.0, ErasureMask.intact(shape))]

    def add(candidate: Candidate) -> bool:
        if candidate.mask.is_intact() or any(_same_mask(candidate.mask, c.mask) for c in space):
            return False
        space.append(candidate)
        return True

    wanted_importance = int(round((num_candidates - 1) * importance_share)) if importance is not None else 0
    if importance is not None and wanted_importance > 0:
        order = _least_important_first(importance)
        for family in FAMILIES:
            for ratio in ratios:
                if len(space) - 1 >= wanted_importance:
                    break
                prefix = "imp" if family == "units" else "imp-layers"
                add(Candidate(f"{prefix}-r{ratio:g}", "importance", family, ratio, _mask_from_choice(shape, family, ratio, order)))

    counts = shape.unit_counts()
    draw = 0
    # Every third random candidate erases whole layers; the others erase heads and FFN blocks.
    while len(space) < num_candidates:
        draw += 1
        if draw > 100 * num_candidates:
            raise ValueError(
                f"could not draw {num_candidates} distinct candidates for an encoder with {counts}; "
                "lower num_candidates or use more erasure ratios"
            )
        family = "layers" if draw % 3 == 0 else "units"
        ratio = float(ratios[(draw - 1) % len(ratios)])
        rng = numpy_rng(derive_seed(seed, "random-candidate", draw))
        order = {kind: rng.permutation(total).tolist() for kind, total in counts.items()}
        prefix = "rand" if family == "units" else "rand-layers"
        add(Candidate(f"{prefix}-r{ratio:g}-{draw}", "random", family, ratio, _mask_from_choice(shape, family, ratio, order)))
    return space
