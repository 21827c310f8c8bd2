"""Meta-trained MAML and ProtoNet weights are cached on disk and reused."""

from __future__ import annotations

import pytest
import torch

from bench.methods import build_method
from bench.protocol import MethodContext
from test_method_conformance import FAST_SETTINGS, meta_training_data, tiny_backbone  # noqa: F401


@pytest.mark.parametrize("name", ["maml", "protonet"])
def test_second_meta_train_reuses_cache(name, tiny_backbone, tmp_path):  # noqa: F811
    def context() -> MethodContext:
        return MethodContext(
            backbone=tiny_backbone, cache_dir=tmp_path / "cache", output_dir=tmp_path / "out",
            root_seed=7, max_seq_length=32, meta_data=meta_training_data,
        )

    first = build_method(name, FAST_SETTINGS[name])
    first_facts = first.meta_train(context())
    second = build_method(name, FAST_SETTINGS[name])
    second_facts = second.meta_train(context())

    assert first_facts["reused_cache"] is False
    assert second_facts["reused_cache"] is True
    assert second_facts["curve"] == first_facts["curve"]
    entries = list((tmp_path / "cache" / "meta" / name).iterdir())
    assert len(entries) == 1
    model_one = first._model if name == "maml" else first._encoder
    model_two = second._model if name == "maml" else second._encoder
    for (key, a), (_, b) in zip(model_one.state_dict().items(), model_two.state_dict().items(), strict=True):
        assert torch.equal(a, b), key


def test_other_hyperparameters_use_another_entry(tiny_backbone, tmp_path):  # noqa: F811
    context = MethodContext(
        backbone=tiny_backbone, cache_dir=tmp_path / "cache", output_dir=tmp_path / "out",
        root_seed=7, max_seq_length=32, meta_data=meta_training_data,
    )
    build_method("protonet", FAST_SETTINGS["protonet"]).meta_train(context)
    facts = build_method("protonet", {**FAST_SETTINGS["protonet"], "meta_episodes": 3}).meta_train(context)
    assert facts["reused_cache"] is False
    assert len(list((tmp_path / "cache" / "meta" / "protonet").iterdir())) == 2
