"""Meta-learning over a model space made by erasure, and its ablations.

`meta-erasure` meta-trains the top encoder layers, per-tensor learning rates
and a prototype head over candidate models made by erasing heads, FFN blocks
and layers, then picks a candidate per task by cross-validation inside the
support set. Ablations: `meta-erasure-no-erasure` (intact model only),
`meta-erasure-random` (a random candidate, same meta-training cache as the
full method) and `meta-erasure-no-smlmt` (labeled meta-training tasks only).
"""

from __future__ import annotations

import logging
import time
from typing import Any, ClassVar

from bench.backbone import load_encoder, load_tokenizer, resolve_backbone
from bench.data import LabeledSet
from bench.meta.gates import GatedEncoder
from bench.meta.selection import ErasurePredictor, adapt_candidate, make_folds, prepare_support, select_candidate
from bench.meta.space import Candidate
from bench.meta.training import MetaState, MetaTrainingConfig, cache_key, load_state, meta_train, save_state
from bench.methods import METHODS
from bench.protocol import Method, MethodContext, Predictor
from bench.seeding import derive_seed, numpy_rng

logger = logging.getLogger(__name__)

SELECTIONS = ("cv", "random")


class MetaErasure(Method):
    """Meta-learned initialisation and learning rates over erased candidate models, with per-task selection."""

    name = "meta-erasure"
    defaults: ClassVar[dict[str, Any]] = {
        # Model space.
        "ffn_blocks": 8,  # FFN intermediate units are erased in this many equal blocks per layer
        "num_candidates": 8,
        "erasure_ratios": [0.1, 0.2, 0.3],
        "importance_share": 0.5,  # share of the non-intact candidates chosen by gate-gradient importance
        "importance_episodes": 8,
        # Meta-training.
        "adapted_layers": 2,  # top encoder layers adapted in the inner loop (plus the head)
        "ways": 5,
        "shots": 4,
        "queries": 4,
        "smlmt_share": 0.3,
        "meta_episodes": 1000,
        "inner_steps": 3,
        "second_order": False,
        "outer_lr": 3e-5,
        "lr_outer_lr": 1e-3,  # Adam learning rate of the log learning rates and the log logit scale
        "inner_lr_init": 1e-3,
        "head_lr_init": 1e-2,
        "validate_every": 100,
        "validation_episodes": 20,
        "meta_max_seq_length": 64,
        # Fine-tuning on a new task.
        "selection": "cv",  # "cv" (cross-validation in the support set) or "random"
        "cv_folds": 3,
        "adapt_steps": 3,
        "selection_adapts_body": True,  # False: cross-validation adapts the head only (faster)
        "eval_batch_size": 64,
    }

    # Settings that define an ablation; they override profile settings so the ablation matches its name.
    ablation: ClassVar[dict[str, Any]] = {}

    def __init__(self, **hyperparameters: Any) -> None:
        super().__init__(**{**hyperparameters, **self.ablation})
        if self._hyperparameters["selection"] not in SELECTIONS:
            raise ValueError(f"invalid selection {self._hyperparameters['selection']!r}; use one of {SELECTIONS}")
        self._gated: GatedEncoder | None = None
        self._tokenizer = None
        self._state: MetaState | None = None

    def meta_train(self, context: MethodContext) -> dict[str, Any]:
        if context.meta_data is None:
            raise ValueError(f"method {self.name!r} needs meta-training data; the runner passed no meta_data loader")
        config = MetaTrainingConfig.from_hyperparameters(self._hyperparameters)
        data = context.meta_data()
        seed = derive_seed(context.root_seed, "meta-erasure")
        backbone_path = resolve_backbone(context.backbone)
        key = cache_key(config, backbone_path, context.backbone_revision, data, seed)
        directory = context.cache_dir / "meta" / key

        self._tokenizer = load_tokenizer(context.backbone, context.backbone_revision)
        self._gated = GatedEncoder(load_encoder(context.backbone, context.backbone_revision), config.ffn_blocks).eval()
        for parameter in self._gated.parameters():
            parameter.requires_grad_(False)

        reused = directory.is_dir()
        if reused:
            logger.info("reusing cached meta-training from %s", directory)
            self._state = load_state(directory)
        else:
            started = time.perf_counter()
            self._state = meta_train(self._gated, self._tokenizer, data, config, seed)
            save_state(self._state, directory)
            logger.info("meta-training took %.1f s; stored in %s", time.perf_counter() - started, directory)
        candidates = {
            c.name: {"origin": c.origin, "family": c.family, "ratio": c.ratio, "erased": c.mask.erased_counts()}
            for c in self._state.candidates
        }
        return {
            "curve": self._state.summary["curve"],
            "validation": self._state.summary["validation"],
            "best_episode": self._state.summary["best_episode"],
            "candidates": candidates,
            "cache_key": key,
            "reused_cache": reused,
        }

    def adapt(self, support: LabeledSet, seed: int, context: MethodContext) -> Predictor:
        if self._state is None:
            self.meta_train(context)
        hp = self._hyperparameters
        gated, state, tokenizer = self._gated, self._state, self._tokenizer
        cell = prepare_support(tokenizer, support, context.max_seq_length)

        started = time.perf_counter()
        scores: dict[str, float] = {}
        chosen: Candidate
        if hp["selection"] == "random":
            rng = numpy_rng(derive_seed(seed, "random-candidate"))
            chosen = state.candidates[int(rng.integers(len(state.candidates)))]
        elif len(state.candidates) == 1:
            chosen = state.candidates[0]
        else:
            folds = make_folds(support, hp["cv_folds"], derive_seed(seed, "folds"))
            if folds:
                chosen, scores, _ = select_candidate(
                    gated, state, cell, state.candidates, folds, hp["adapt_steps"], hp["selection_adapts_body"]
                )
            else:
                logger.warning("support set of %d examples cannot be split into folds; using the intact candidate", len(support))
                chosen = state.candidates[0]
        selected = time.perf_counter()
        adapted = adapt_candidate(gated, state, cell, chosen, hp["adapt_steps"])
        logger.debug(
            "%s: chose %s (selection %.2f s, adaptation %.2f s)",
            self.name, chosen.name, selected - started, time.perf_counter() - selected,
        )
        # Loss of the meta-learned start (prototype head, no inner step), for the record and the conformance test.
        start = adapt_candidate(gated, state, cell, chosen, 0)
        initial_loss = ErasurePredictor(
            gated, tokenizer, state, chosen, start, context.max_seq_length, hp["eval_batch_size"], {}
        ).loss(support)
        info = {"chosen_candidate": chosen.name, "candidate_scores": scores, "initial_support_loss": initial_loss}
        return ErasurePredictor(gated, tokenizer, state, chosen, adapted, context.max_seq_length, hp["eval_batch_size"], info)


@METHODS.register("meta-erasure")
class MetaErasureFull(MetaErasure):
    """The full method: importance and random candidates, SMLMT tasks, cross-validated selection."""

    name = "meta-erasure"


@METHODS.register("meta-erasure-no-erasure")
class MetaErasureNoErasure(MetaErasure):
    """Ablation: the space contains the intact model only, so nothing is erased or selected."""

    name = "meta-erasure-no-erasure"
    ablation: ClassVar[dict[str, Any]] = {"num_candidates": 1}
    defaults: ClassVar[dict[str, Any]] = {**MetaErasure.defaults, **ablation}


@METHODS.register("meta-erasure-random")
class MetaErasureRandom(MetaErasure):
    """Ablation: a seeded random candidate per cell instead of cross-validated selection."""

    name = "meta-erasure-random"
    ablation: ClassVar[dict[str, Any]] = {"selection": "random"}
    defaults: ClassVar[dict[str, Any]] = {**MetaErasure.defaults, **ablation}


@METHODS.register("meta-erasure-no-smlmt")
class MetaErasureNoSmlmt(MetaErasure):
    """Ablation: meta-training on labeled tasks only, without SMLMT tasks."""

    name = "meta-erasure-no-smlmt"
    ablation: ClassVar[dict[str, Any]] = {"smlmt_share": 0.0}
    defaults: ClassVar[dict[str, Any]] = {**MetaErasure.defaults, **ablation}
