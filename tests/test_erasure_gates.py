"""Erasure gates, the candidate space, importance scores and the overlap check."""

from __future__ import annotations


import pytest
import torch
from transformers import BertConfig, BertModel

from bench.data import LabeledSet
from bench.meta.checks import check_disjoint
from bench.meta.gates import ErasureMask, GatedEncoder
from bench.meta.space import build_space, importance_scores
from bench.protocol import MetaTrainingData

HIDDEN, HEADS, LAYERS, INTERMEDIATE, BLOCKS = 32, 4, 3, 64, 4


def make_gated() -> GatedEncoder:
    config = BertConfig(
        vocab_size=50,
        hidden_size=HIDDEN,
        num_hidden_layers=LAYERS,
        num_attention_heads=HEADS,
        intermediate_size=INTERMEDIATE,
        max_position_embeddings=32,
        attn_implementation="eager",
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        encoder = BertModel(config).eval()
    return GatedEncoder(encoder, ffn_blocks=BLOCKS)


def make_batch() -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(1)
    input_ids = torch.randint(5, 50, (3, 7), generator=generator)
    attention_mask = torch.ones(3, 7, dtype=torch.long)
    attention_mask[1, 5:] = 0
    return {"input_ids": input_ids, "attention_mask": attention_mask, "token_type_ids": torch.zeros_like(input_ids)}


def randomise_(tensor: torch.Tensor) -> None:
    generator = torch.Generator().manual_seed(7)
    tensor.copy_(torch.randn(tensor.shape, generator=generator) * 3.0)


@torch.no_grad()
def test_intact_mask_matches_plain_encoder():
    gated = make_gated()
    batch = make_batch()
    reference = gated.encoder(**batch).last_hidden_state
    with gated.erased(ErasureMask.intact(gated.shape)):
        gated_output = gated.encode(batch)
    keep = batch["attention_mask"].bool()
    assert torch.allclose(gated_output[keep], reference[keep], atol=1e-6)


@torch.no_grad()
def test_erased_head_ignores_its_weights():
    gated = make_gated()
    batch = make_batch()
    mask = ErasureMask.intact(gated.shape)
    mask.heads[1, 2] = 0.0
    with gated.erased(mask):
        before = gated.encode(batch)
    attention = gated.layers[1].attention.self
    rows = slice(2 * gated.head_size, 3 * gated.head_size)
    for projection in (attention.query, attention.key, attention.value):
        randomise_(projection.weight[rows])
    with gated.erased(mask):
        after = gated.encode(batch)
    intact_after = gated.encode(batch)
    assert torch.equal(before, after)
    assert not torch.allclose(intact_after, after)


@torch.no_grad()
def test_erased_ffn_block_ignores_its_weights():
    gated = make_gated()
    batch = make_batch()
    mask = ErasureMask.intact(gated.shape)
    mask.ffn[0, 3] = 0.0
    with gated.erased(mask):
        before = gated.encode(batch)
    units = slice(3 * gated.shape.ffn_block_size, 4 * gated.shape.ffn_block_size)
    randomise_(gated.layers[0].intermediate.dense.weight[units])
    randomise_(gated.layers[0].output.dense.weight[:, units])
    with gated.erased(mask):
        after = gated.encode(batch)
    assert torch.equal(before, after)
    assert not torch.allclose(gated.encode(batch), after)


@torch.no_grad()
def test_erased_layer_ignores_its_weights():
    gated = make_gated()
    batch = make_batch()
    mask = ErasureMask.intact(gated.shape)
    mask.layers[2] = 0.0
    with gated.erased(mask):
        before = gated.encode(batch)
    for parameter in gated.layers[2].parameters():
        randomise_(parameter)
    with gated.erased(mask):
        after = gated.encode(batch)
    assert torch.equal(before, after)
    assert not torch.allclose(gated.encode(batch), after)


def test_fractional_layer_gate_interpolates():
    gated = make_gated()
    batch = make_batch()
    mask = ErasureMask.intact(gated.shape)
    mask.layers[:] = torch.tensor([1.0, 1.0, 0.5])
    with torch.no_grad():
        with gated.erased(mask):
            half = gated.encode(batch)
        additive = batch["attention_mask"][:, None, None, :].float()
        additive = (1.0 - additive) * torch.finfo(torch.float32).min
        below = gated(gated.embed(batch), additive, 0, 2)
        top = gated.layers[2](below, additive)
    assert torch.allclose(half, 0.5 * top + 0.5 * below, atol=1e-6)


def test_ffn_blocks_must_divide_intermediate():
    config = BertConfig(vocab_size=20, hidden_size=8, num_hidden_layers=1, num_attention_heads=2, intermediate_size=10)
    with pytest.raises(ValueError, match="not divisible"):
        GatedEncoder(BertModel(config), ffn_blocks=4)


def test_space_masks_respect_ratio():
    gated = make_gated()
    counts = gated.shape.unit_counts()
    scores = {kind: torch.arange(total, dtype=torch.float32) for kind, total in counts.items()}
    space = build_space(gated.shape, scores, num_candidates=8, ratios=[0.1, 0.25, 0.5], importance_share=0.5, seed=3)
    assert len(space) == 8
    assert space[0].name == "intact"
    assert space[0].mask.is_intact()
    assert len({c.name for c in space}) == 8
    for candidate in space[1:]:
        erased = candidate.mask.erased_counts()
        if candidate.family == "units":
            assert erased["heads"] == round(candidate.ratio * counts["heads"])
            assert erased["ffn"] == round(candidate.ratio * counts["ffn"])
            assert erased["layers"] == 0
        else:
            assert erased["layers"] == max(1, round(candidate.ratio * counts["layers"]))
            assert erased["heads"] == 0
            assert erased["ffn"] == 0


def test_space_importance_erases_least_important():
    gated = make_gated()
    counts = gated.shape.unit_counts()
    # Descending scores: the last flat indices are the least important.
    scores = {kind: torch.arange(total, 0, -1, dtype=torch.float32) for kind, total in counts.items()}
    space = build_space(gated.shape, scores, num_candidates=3, ratios=[0.25], importance_share=1.0, seed=0)
    names = [c.name for c in space]
    assert names == ["intact", "imp-r0.25", "imp-layers-r0.25"]
    heads = space[1].mask.heads.reshape(-1)
    erased_heads = round(0.25 * counts["heads"])
    assert torch.all(heads[-erased_heads:] == 0)
    assert torch.all(heads[:-erased_heads] == 1)
    assert space[2].mask.layers.tolist() == [1.0, 1.0, 0.0]


def test_space_names_are_stable():
    gated = make_gated()
    first = build_space(gated.shape, None, num_candidates=5, ratios=[0.1, 0.3], importance_share=0.5, seed=11)
    second = build_space(gated.shape, None, num_candidates=5, ratios=[0.1, 0.3], importance_share=0.5, seed=11)
    assert [c.name for c in first] == [c.name for c in second]
    assert first[1].name == "rand-r0.1-1"
    for a, b in zip(first, second):
        assert torch.equal(a.mask.heads, b.mask.heads)
        assert torch.equal(a.mask.ffn, b.mask.ffn)


def test_importance_scores_are_deterministic():
    gated = make_gated()
    for parameter in gated.parameters():
        parameter.requires_grad_(False)
    batch = make_batch()
    target = torch.randn(3, HIDDEN, generator=torch.Generator().manual_seed(2))

    def loss() -> torch.Tensor:
        return ((gated.encode(batch)[:, 0] - target) ** 2).mean()

    first = importance_scores(gated, [loss, loss])
    second = importance_scores(gated, [loss, loss])
    assert set(first) == {"heads", "ffn", "layers"}
    assert first["heads"].shape == (LAYERS, HEADS)
    assert first["ffn"].shape == (LAYERS, BLOCKS)
    for kind in first:
        assert torch.equal(first[kind], second[kind])
        assert bool((first[kind] >= 0).all())
    assert float(first["heads"].sum()) > 0.0


def labeled(names: tuple[str, ...]) -> LabeledSet:
    return LabeledSet(kind="classification", label_names=names, ids=("a", "b"), texts=("x", "y"), labels=(0, 1))


def test_check_disjoint_rejects_overlap():
    data = MetaTrainingData(tasks={"clinc150": labeled(("balance", "transfer"))}, validation={"hwu64": labeled(("alarm", "weather"))})
    check_disjoint(data, ["card_arrival", "top_up"])
    with pytest.raises(ValueError, match="'transfer' in tasks/clinc150"):
        check_disjoint(data, ["transfer", "top_up"])
    with pytest.raises(ValueError, match="'weather' in validation/hwu64"):
        check_disjoint(data, ["weather"])


def test_mask_round_trips_through_tensors():
    gated = make_gated()
    mask = ErasureMask.intact(gated.shape)
    mask.heads[0, 0] = 0.0
    copy = ErasureMask.from_tensors(mask.tensors())
    assert copy.erased_counts() == {"heads": 1, "ffn": 0, "layers": 0}
    assert copy.first_gated_layer() == 0
    assert ErasureMask.intact(gated.shape).first_gated_layer() == LAYERS
