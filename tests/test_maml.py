"""MAML meta-gradients against hand-computed references, and MAML determinism.

The reference model is a bias-free linear classifier, logits = W x, with
cross-entropy. One inner step gives W' = W - a (p_s - y_s) x_s^T, where
p_s = softmax(W x_s). The first-order meta-gradient is the query gradient at
W', g_q = (p_q' - y_q) x_q^T. The second-order one is (I - a H_s) g_q, where
the support Hessian acts on a matrix V as H_s[V] = (diag(p_s) - p_s p_s^T) V x_s x_s^T.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from baselines.maml import Maml, maml_query_loss
from bench.protocol import MethodContext
from test_method_conformance import meta_training_data, sentence_task, tiny_backbone  # noqa: F401  (fixture)

INNER_LR = 0.5


def linear_model() -> nn.Linear:
    model = nn.Linear(3, 2, bias=False)
    with torch.no_grad():
        model.weight.copy_(torch.tensor([[0.3, -0.2, 0.5], [-0.1, 0.4, 0.2]], dtype=torch.float64))
    return model.double()


def meta_gradient(x_support: torch.Tensor, x_query: torch.Tensor, first_order: bool) -> torch.Tensor:
    model = linear_model()
    support = (x_support.unsqueeze(0), torch.tensor([0]))
    query = (x_query.unsqueeze(0), torch.tensor([1]))
    loss, _ = maml_query_loss(model, ["weight"], support, query, inner_lr=INNER_LR, inner_steps=1, first_order=first_order)
    loss.backward()
    return model.weight.grad.clone()


def hand_gradients(x_support: torch.Tensor, x_query: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Return (first-order, second-order) meta-gradients from the closed forms in the module docstring."""
    weight = linear_model().weight.detach()
    y_support = torch.tensor([1.0, 0.0], dtype=torch.float64)
    y_query = torch.tensor([0.0, 1.0], dtype=torch.float64)
    p_support = torch.softmax(weight @ x_support, dim=0)
    adapted = weight - INNER_LR * torch.outer(p_support - y_support, x_support)
    p_query = torch.softmax(adapted @ x_query, dim=0)
    first = torch.outer(p_query - y_query, x_query)
    curvature = torch.diag(p_support) - torch.outer(p_support, p_support)
    second = first - INNER_LR * torch.outer(curvature @ (first @ x_support), x_support)
    return first, second


def test_first_order_matches_hand_computation() -> None:
    x_support = torch.tensor([1.0, 2.0, -1.0], dtype=torch.float64)
    x_query = torch.tensor([0.5, -1.0, 1.5], dtype=torch.float64)
    expected, _ = hand_gradients(x_support, x_query)
    torch.testing.assert_close(meta_gradient(x_support, x_query, first_order=True), expected)


def test_second_order_matches_hand_computation() -> None:
    x_support = torch.tensor([1.0, 2.0, -1.0], dtype=torch.float64)
    x_query = torch.tensor([0.5, -1.0, 1.5], dtype=torch.float64)
    first, second = hand_gradients(x_support, x_query)
    computed = meta_gradient(x_support, x_query, first_order=False)
    torch.testing.assert_close(computed, second)
    # The Hessian term is not negligible here, so the two orders must differ.
    assert (computed - first).abs().max().item() > 1e-3


def test_orders_agree_for_orthogonal_inputs() -> None:
    # The support loss reads only column 0 of W and the query gradient lives in column 1,
    # so H_s g_q = 0 and the second-order term vanishes exactly.
    x_support = torch.tensor([2.0, 0.0, 0.0], dtype=torch.float64)
    x_query = torch.tensor([0.0, 1.5, 0.0], dtype=torch.float64)
    first = meta_gradient(x_support, x_query, first_order=True)
    second = meta_gradient(x_support, x_query, first_order=False)
    torch.testing.assert_close(second, first)
    assert first.abs().sum().item() > 0.0


def tiny_context(backbone: str, workspace: Path) -> MethodContext:
    return MethodContext(
        backbone=backbone, cache_dir=workspace / "cache", output_dir=workspace / "output", root_seed=3, max_seq_length=32, meta_data=meta_training_data
    )


SETTINGS = {"ways": 3, "shots": 2, "queries": 2, "meta_episodes": 4, "meta_batch_size": 2, "test_steps": 3}


def test_meta_training_is_deterministic(tiny_backbone: str, tmp_path: Path) -> None:  # noqa: F811
    curves = [Maml(**{**Maml.defaults, **SETTINGS}).meta_train(tiny_context(tiny_backbone, tmp_path))["curve"] for _ in range(2)]
    assert len(curves[0]) == 4
    assert curves[0] == curves[1]


def test_first_order_flag_changes_meta_training(tiny_backbone: str, tmp_path: Path) -> None:  # noqa: F811
    losses = {}
    for first_order in (False, True):
        method = Maml(**{**Maml.defaults, **SETTINGS, "first_order": first_order})
        curve = method.meta_train(tiny_context(tiny_backbone, tmp_path))["curve"]
        losses[first_order] = [point["query_loss"] for point in curve]
    # The first meta-batch starts from the same weights, so its losses agree; later ones differ.
    assert losses[False][:2] == pytest.approx(losses[True][:2])
    assert losses[False][2:] != pytest.approx(losses[True][2:], rel=1e-9, abs=1e-12)


def test_head_rows_repeat_for_more_classes_than_ways(tiny_backbone: str, tmp_path: Path) -> None:  # noqa: F811
    method = Maml(**{**Maml.defaults, **SETTINGS, "ways": 2, "test_steps": 0})
    method.meta_train(tiny_context(tiny_backbone, tmp_path))
    predictor = method.adapt(sentence_task(2, 0), seed=1, context=tiny_context(tiny_backbone, tmp_path))
    head = predictor.params["head.weight"]
    assert head.shape[0] == 3
    torch.testing.assert_close(head[2], head[0])
