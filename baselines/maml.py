"""Plain MAML (Finn et al., ICML 2017) on the pretrained encoder with an N-way head.

Meta-training: the N-way head is part of the learned initialisation. For each
episode (labels permuted by the sampler), `inner_steps` SGD steps with a fixed
`inner_lr` adapt the top `adapt_layers` encoder layers and the head on the
support set. The query loss of the adapted weights is backpropagated into the
initialisation, through the inner loop (second order) or not (`first_order`).
Parameters outside the adapted set keep their pretrained values, which saves
most of the backward pass when only top layers adapt.

The inner loop is functional (`torch.func.functional_call` on a dict of fast
weights), so no module is copied per episode.

Evaluation with C classes: the head for class c starts from row c mod N of
the meta-learned N-way head. Because the sampler permutes labels every
episode, the rows are exchangeable, so any assignment is as good as another.
When C > N, rows repeat; the tied rows still receive different gradients
because their classes have different support examples.

NER: episodes are sentence-level, so the token head cannot be meta-learned
with the same tag set. At test time a fresh token head (seeded normal
initialisation, std 0.02) sits on the meta-learned encoder, and the inner
loop fine-tunes it with the adapted layers for `ner_steps` steps at `ner_lr`.
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar

import torch
from torch import nn
from torch.func import functional_call

from baselines._episodic import curve_point, episode_sampler, freeze_except, trainable_parameter_names
from baselines.finetune import HeadPredictor
from bench.backbone import load_encoder, load_tokenizer
from bench.data import LabeledSet
from bench.encoding import batches, encode_labeled
from bench.methods import METHODS
from bench.models import EncoderWithHead, classification_loss
from bench.protocol import Method, MethodContext, Predictor
from bench.seeding import numpy_rng, torch_generator
from bench.weights_cache import cache_entry, load_entry, restore, save_entry, trainable_tensors

logger = logging.getLogger(__name__)

Params = dict[str, torch.Tensor]


def adapt_parameters(
    model: nn.Module,
    params: Params,
    inputs: Any,
    labels: torch.Tensor,
    *,
    lr: float,
    steps: int,
    first_order: bool,
    differentiable: bool = True,
) -> Params:
    """Run `steps` SGD steps on `params` (fast weights) and return the adapted weights.

    `model(inputs)` is evaluated with `params` substituted for its parameters
    of the same name. With `differentiable`, the result stays a function of
    the initial `params`: second order keeps the graph of each gradient,
    `first_order` treats gradients as constants (FOMAML). Without it, every
    step is detached, as for test-time fine-tuning.
    """
    fast = dict(params)
    for _ in range(steps):
        loss = classification_loss(functional_call(model, fast, (inputs,)), labels)
        create_graph = differentiable and not first_order
        grads = torch.autograd.grad(loss, list(fast.values()), create_graph=create_graph)
        if differentiable:
            fast = {name: value - lr * grad for (name, value), grad in zip(fast.items(), grads)}
        else:
            fast = {
                name: (value - lr * grad).detach().requires_grad_() for (name, value), grad in zip(fast.items(), grads)
            }
    return fast


def maml_query_loss(
    model: nn.Module,
    adapted_names: list[str],
    support: tuple[Any, torch.Tensor],
    query: tuple[Any, torch.Tensor],
    *,
    inner_lr: float,
    inner_steps: int,
    first_order: bool,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Adapt the named parameters on the support set; return (query loss, query logits).

    The loss is differentiable with respect to the model's own parameters,
    which are the MAML initialisation.
    """
    named = dict(model.named_parameters())
    initial = {name: named[name] for name in adapted_names}
    fast = adapt_parameters(model, initial, support[0], support[1], lr=inner_lr, steps=inner_steps, first_order=first_order)
    logits = functional_call(model, fast, (query[0],))
    return classification_loss(logits, query[1]), logits


def meta_update(
    model: nn.Module,
    adapted_names: list[str],
    optimizer: torch.optim.Optimizer,
    episodes: list[tuple[tuple[Any, torch.Tensor], tuple[Any, torch.Tensor]]],
    *,
    inner_lr: float,
    inner_steps: int,
    first_order: bool,
) -> list[tuple[float, float]]:
    """Take one outer step on the mean query loss of a meta-batch of encoded (support, query) episodes.

    Returns the post-adaptation query loss and accuracy of each episode.
    """
    optimizer.zero_grad()
    results = []
    for support, query in episodes:
        loss, logits = maml_query_loss(model, adapted_names, support, query, inner_lr=inner_lr, inner_steps=inner_steps, first_order=first_order)
        # Backpropagating per episode frees each episode's graph before the next one is built.
        (loss / len(episodes)).backward()
        results.append((loss.item(), (logits.argmax(-1) == query[1]).float().mean().item()))
    optimizer.step()
    return results


class FunctionalPredictor(HeadPredictor):
    """Predictions of a shared model evaluated with a predictor-specific set of weights."""

    def __init__(self, model: EncoderWithHead, params: Params, tokenizer, max_length: int, batch_size: int, info: dict[str, Any]) -> None:
        super().__init__(model, tokenizer, max_length, batch_size, info)
        self.params = {name: value.detach() for name, value in params.items()}

    def logits(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return functional_call(self.model, self.params, (batch,))

    @torch.no_grad()
    def loss(self, data: LabeledSet) -> float:
        return functional_loss(self.model, self.params, self.tokenizer, data, self.max_length, self.batch_size)


def functional_loss(model: nn.Module, params: Params, tokenizer, data: LabeledSet, max_length: int, batch_size: int) -> float:
    """Mean cross-entropy of `model` with `params` substituted, weighted by examples per batch."""
    total, count = 0.0, 0
    with torch.no_grad():
        for chunk in batches(len(data), batch_size):
            batch, labels = encode_labeled(tokenizer, data.subset(chunk), max_length)
            total += classification_loss(functional_call(model, params, (batch,)), labels).item() * len(chunk)
            count += len(chunk)
    return total / max(count, 1)


@METHODS.register("maml")
class Maml(Method):
    """Plain MAML: meta-learned initialisation of the top encoder layers and an N-way head."""

    name = "maml"
    defaults: ClassVar[dict[str, Any]] = {
        # Episodes: the same sampler and seed as the meta-learner.
        "ways": 5,
        "shots": 4,
        "queries": 4,
        "smlmt_share": 0.3,
        "meta_max_seq_length": 64,
        "meta_episodes": 100,
        "meta_batch_size": 2,
        "meta_lr": 3e-5,
        "meta_head_lr": 1e-3,
        # Inner loop: plain SGD with a fixed learning rate.
        "inner_lr": 1.0,
        "inner_steps": 1,
        "first_order": False,
        # Top encoder layers adapted in the inner loop (and meta-learned), or "all" with embeddings.
        "adapt_layers": 1,
        # Test time: more inner-loop steps on the support set.
        "test_steps": 20,
        "test_lr": 0.3,
        "ner_steps": 50,
        "ner_lr": 0.3,
        "batch_size": 32,
        "eval_batch_size": 64,
        "log_every": 20,
    }

    def __init__(self, **hyperparameters: Any) -> None:
        super().__init__(**hyperparameters)
        self._model: EncoderWithHead | None = None
        self._adapted: list[str] = []

    def build_model(self, context: MethodContext) -> EncoderWithHead:
        """Load the encoder, attach a zero N-way head and freeze what the inner loop does not adapt."""
        hp = self.hyperparameters
        with torch.random.fork_rng(devices=[]):  # nn.Linear initialises from the global generator
            model = EncoderWithHead(load_encoder(context.backbone, context.backbone_revision), hp["ways"], token_level=False, dropout=0.0)
        with torch.no_grad():
            # A zero head starts every episode from uniform predictions, whatever the label permutation.
            model.head.weight.zero_()
            model.head.bias.zero_()
        # Evaluation mode turns off dropout, so inner-loop gradients do not depend on global random state.
        model.eval()
        self._adapted = trainable_parameter_names(model, hp["adapt_layers"])
        freeze_except(model, self._adapted)
        return model

    def meta_optimizer(self, model: EncoderWithHead) -> torch.optim.Adam:
        """Adam over the meta-learned parameters, with its own learning rate for the head."""
        hp = self.hyperparameters
        head = [model.head.weight, model.head.bias]
        body = [p for name, p in model.named_parameters() if p.requires_grad and not name.startswith("head.")]
        return torch.optim.Adam([{"params": body, "lr": hp["meta_lr"]}, {"params": head, "lr": hp["meta_head_lr"]}])

    def meta_train(self, context: MethodContext) -> dict[str, Any]:
        hp = self.hyperparameters
        tokenizer = load_tokenizer(context.backbone, context.backbone_revision)
        model = self.build_model(context)
        entry = cache_entry(context, self.name, hp)
        cached = load_entry(entry)
        if cached is not None:
            logger.info("maml: reusing cached meta-training from %s", entry)
            restore(model, cached[0])
            self._model = model
            return {**cached[1], "reused_cache": True}
        sampler = episode_sampler(context, hp["ways"], hp["shots"], hp["queries"], hp["smlmt_share"])
        optimizer = self.meta_optimizer(model)

        curve: list[dict[str, Any]] = []
        episode = 0
        while episode < hp["meta_episodes"]:
            group = min(hp["meta_batch_size"], hp["meta_episodes"] - episode)
            encoded = []
            for index in range(episode, episode + group):
                sampled = sampler.sample(index)
                encoded.append(
                    (
                        encode_labeled(tokenizer, sampled.support, hp["meta_max_seq_length"]),
                        encode_labeled(tokenizer, sampled.query, hp["meta_max_seq_length"]),
                    )
                )
            results = meta_update(model, self._adapted, optimizer, encoded, inner_lr=hp["inner_lr"], inner_steps=hp["inner_steps"], first_order=hp["first_order"])
            for loss, accuracy in results:
                curve.append(curve_point(episode, loss, accuracy))
                episode += 1
                if episode % hp["log_every"] == 0:
                    logger.info("maml episode %d: query loss %.4f, query accuracy %.3f", episode, loss, accuracy)
        self._model = model
        facts = {
            "curve": curve,
            "episodes": episode,
            "adapted_parameters": sum(dict(model.named_parameters())[name].numel() for name in self._adapted),
            "first_order": hp["first_order"],
        }
        save_entry(entry, trainable_tensors(model), facts)
        return {**facts, "reused_cache": False}

    def adapt(self, support: LabeledSet, seed: int, context: MethodContext) -> Predictor:
        if self._model is None:
            raise RuntimeError("maml: call meta_train(context) before adapt(); the runner does this once per run")
        hp = self.hyperparameters
        tokenizer = load_tokenizer(context.backbone, context.backbone_revision)
        named = dict(self._model.named_parameters())
        params = {name: named[name].detach().clone() for name in self._adapted}

        if support.is_ner:
            model = EncoderWithHead(self._model.encoder, 1, token_level=True, dropout=0.0).eval()
            generator = torch_generator(seed)
            hidden = self._model.encoder.config.hidden_size
            params["head.weight"] = torch.randn(support.num_labels, hidden, generator=generator) * 0.02
            params["head.bias"] = torch.zeros(support.num_labels)
            steps, lr = hp["ner_steps"], hp["ner_lr"]
        else:
            model = self._model
            rows = torch.arange(support.num_labels) % hp["ways"]
            params["head.weight"] = params["head.weight"][rows]
            params["head.bias"] = params["head.bias"][rows]
            steps, lr = hp["test_steps"], hp["test_lr"]

        initial = functional_loss(model, params, tokenizer, support, context.max_seq_length, hp["eval_batch_size"])
        params = {name: value.requires_grad_() for name, value in params.items()}
        order_rng = numpy_rng(seed)
        order: list[int] = []
        for _ in range(steps):
            # Mini-batches cycle through seeded permutations of the support set; one batch if it fits.
            if len(order) < min(hp["batch_size"], len(support)):
                order += order_rng.permutation(len(support)).tolist()
            chunk, order = order[: hp["batch_size"]], order[hp["batch_size"] :]
            inputs, labels = encode_labeled(tokenizer, support.subset(chunk), context.max_seq_length)
            params = adapt_parameters(model, params, inputs, labels, lr=lr, steps=1, first_order=True, differentiable=False)

        info = {"initial_support_loss": initial, "test_steps": steps, "test_lr": lr}
        return FunctionalPredictor(model, params, tokenizer, context.max_seq_length, hp["eval_batch_size"], info)
