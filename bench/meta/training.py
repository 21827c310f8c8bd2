"""Episodic meta-pretraining over the erasure model space, cached on disk.

Each episode draws a task (labeled or SMLMT) and a candidate, adapts the
candidate on the support set with `inner_loop` and updates the initial
adapted tensors, the per-tensor learning rates and the logit scale with Adam
on the query loss. Meta-validation episodes every `validate_every` episodes
select the checkpoint that is stored.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from torch.nn import functional as F
from tqdm.auto import tqdm

from bench.encoding import mean_pool
from bench.meta.episodes import Episode, EpisodeSampler
from bench.meta.gates import ErasureMask, GatedEncoder
from bench.meta.learner import (
    HEAD_BIAS,
    HEAD_WEIGHT,
    encode_lower,
    inner_loop,
    prototype_head,
    query_outputs,
)
from bench.meta.space import Candidate, build_space, importance_scores
from bench.protocol import MetaTrainingData
from bench.seeding import derive_seed, numpy_rng

logger = logging.getLogger(__name__)

# Bump when a change to this package changes what meta-training produces, so old caches are not reused.
CODE_VERSION = "meta-erasure-1"
STATE_FILE = "state.safetensors"
SUMMARY_FILE = "summary.json"


@dataclass(frozen=True)
class MetaTrainingConfig:
    """Every setting that changes the meta-trained state (and so the cache key)."""

    ffn_blocks: int
    adapted_layers: int
    num_candidates: int
    erasure_ratios: tuple[float, ...]
    importance_share: float
    importance_episodes: int
    ways: int
    shots: int
    queries: int
    smlmt_share: float
    meta_episodes: int
    inner_steps: int
    second_order: bool
    outer_lr: float
    lr_outer_lr: float
    inner_lr_init: float
    head_lr_init: float
    validate_every: int
    validation_episodes: int
    meta_max_seq_length: int

    @classmethod
    def from_hyperparameters(cls, hyperparameters: dict[str, Any]) -> MetaTrainingConfig:
        values = {field.name: hyperparameters[field.name] for field in dataclasses.fields(cls)}
        values["erasure_ratios"] = tuple(float(r) for r in values["erasure_ratios"])
        return cls(**values)


@dataclass
class MetaState:
    """The meta-learned state that `adapt` starts from."""

    body: dict[str, torch.Tensor]
    log_lrs: dict[str, torch.Tensor]
    log_scale: torch.Tensor
    candidates: list[Candidate]
    start_layer: int
    summary: dict[str, Any]


def start_layer(gated: GatedEncoder, adapted_layers: int) -> int:
    num_layers = gated.shape.num_layers
    if not 0 <= adapted_layers <= num_layers:
        raise ValueError(f"invalid adapted_layers {adapted_layers}; the encoder has {num_layers} layers")
    return num_layers - adapted_layers


def adapted_parameter_names(gated: GatedEncoder, first: int) -> list[str]:
    prefixes = tuple(f"encoder.encoder.layer.{i}." for i in range(first, gated.shape.num_layers))
    return [name for name, _ in gated.named_parameters() if name.startswith(prefixes)]


def data_fingerprint(data: MetaTrainingData) -> str:
    """Hash the data's file checksums and its content.

    Content is hashed too because the same files can yield other data when
    the filtering code changes (for example which evaluation texts are
    excluded), and a cache must never be reused for different data.
    """
    digest = hashlib.sha256()
    digest.update(json.dumps(data.checksums, sort_keys=True).encode())
    for group in (data.tasks, data.validation, data.ner_tasks):
        for name in sorted(group):
            labeled = group[name]
            digest.update(json.dumps([name, labeled.label_names, labeled.ids, labeled.texts, labeled.labels, labeled.tokens, labeled.tags]).encode())
    digest.update(json.dumps(data.unlabeled).encode())
    return digest.hexdigest()


def cache_key(config: MetaTrainingConfig, backbone: str, revision: str | None, data: MetaTrainingData, seed: int) -> str:
    payload = {
        "config": dataclasses.asdict(config),
        "backbone": backbone,
        "revision": revision,
        "data": data_fingerprint(data),
        "seed": seed,
        "code": CODE_VERSION,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def encode_episode(gated: GatedEncoder, tokenizer, episode: Episode, max_length: int) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    """Tokenise support then query rows into one padded batch; return it with the labels."""
    support, query = episode.support, episode.query
    texts = list(support.texts) + list(query.texts)
    pairs = None
    if support.text_pairs is not None and query.text_pairs is not None:
        pairs = list(support.text_pairs) + list(query.text_pairs)
    batch = tokenizer(texts, pairs, padding=True, truncation=True, max_length=max_length, return_tensors="pt")
    labels = torch.tensor(list(support.labels) + list(query.labels), dtype=torch.long)
    return batch, labels


def _episode_loss_for_importance(gated: GatedEncoder, tokenizer, episode: Episode, max_length: int):
    """Prototype-classifier query loss of the whole encoder, for gate-gradient importance."""

    def compute() -> torch.Tensor:
        batch, labels = encode_episode(gated, tokenizer, episode, max_length)
        feats = mean_pool(gated.encode(batch), batch["attention_mask"])
        count = len(episode.support)
        weight, bias = prototype_head(feats[:count], labels[:count], len(episode.support.label_names))
        return F.cross_entropy(feats[count:] @ weight.T + bias, labels[count:])

    return compute


def build_candidates(
    gated: GatedEncoder, tokenizer, data: MetaTrainingData, config: MetaTrainingConfig, seed: int
) -> list[Candidate]:
    importance = None
    if config.num_candidates > 1 and config.importance_share > 0 and config.importance_episodes > 0:
        sampler = EpisodeSampler(
            data, config.ways, config.shots, config.queries, config.smlmt_share, derive_seed(seed, "importance")
        )
        losses = [
            _episode_loss_for_importance(gated, tokenizer, sampler.sample(i), config.meta_max_seq_length)
            for i in range(config.importance_episodes)
        ]
        importance = importance_scores(gated, losses)
    return build_space(
        gated.shape, importance, config.num_candidates, config.erasure_ratios, config.importance_share, derive_seed(seed, "space")
    )


def _run_episode(
    gated: GatedEncoder,
    tokenizer,
    episode: Episode,
    candidate: Candidate,
    body: dict[str, torch.Tensor],
    log_lrs: dict[str, torch.Tensor],
    log_scale: torch.Tensor,
    config: MetaTrainingConfig,
    first: int,
    keep_graph: bool,
) -> tuple[torch.Tensor, float]:
    """Return (query loss, query accuracy) of one episode after the inner loop."""
    batch, labels = encode_episode(gated, tokenizer, episode, config.meta_max_seq_length)
    count = len(episode.support)
    with gated.erased(candidate.mask):
        lower = encode_lower(gated, batch, labels, token_level=False, start=first)
        support = lower.rows(list(range(count)))
        query = lower.rows(list(range(count, len(labels))))
        adapted = inner_loop(
            gated,
            dict(body),
            log_lrs,
            log_scale,
            support,
            len(episode.support.label_names),
            first,
            config.inner_steps,
            second_order=config.second_order,
            keep_graph=keep_graph,
        )
        with torch.set_grad_enabled(keep_graph):
            query_logits, query_labels = query_outputs(gated, adapted, log_scale, query, first)
            loss = F.cross_entropy(query_logits, query_labels)
    accuracy = float((query_logits.argmax(-1) == query_labels).float().mean())
    return loss, accuracy


def _validate(
    gated: GatedEncoder,
    tokenizer,
    sampler: EpisodeSampler | None,
    candidates: list[Candidate],
    state: tuple[dict[str, torch.Tensor], dict[str, torch.Tensor], torch.Tensor],
    config: MetaTrainingConfig,
    first: int,
    seed: int,
) -> tuple[float, float]:
    """Return mean (query loss, query accuracy) over the fixed meta-validation episodes."""
    body, log_lrs, log_scale = state
    losses, accuracies = [], []
    for index in range(config.validation_episodes):
        rng = numpy_rng(derive_seed(seed, "validation-candidate", index))
        candidate = candidates[int(rng.integers(len(candidates)))]
        loss, accuracy = _run_episode(
            gated, tokenizer, sampler.sample(index), candidate, body, log_lrs, log_scale, config, first, keep_graph=False
        )
        losses.append(float(loss))
        accuracies.append(accuracy)
    return sum(losses) / len(losses), sum(accuracies) / len(accuracies)


def _snapshot(body, log_lrs, log_scale) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor], torch.Tensor]:
    return (
        {name: tensor.detach().clone() for name, tensor in body.items()},
        {name: tensor.detach().clone() for name, tensor in log_lrs.items()},
        log_scale.detach().clone(),
    )


def meta_train(
    gated: GatedEncoder, tokenizer, data: MetaTrainingData, config: MetaTrainingConfig, seed: int
) -> MetaState:
    """Build the candidate space and meta-train; return the state chosen by meta-validation."""
    first = start_layer(gated, config.adapted_layers)
    for parameter in gated.parameters():
        parameter.requires_grad_(False)
    gated.eval()  # no dropout: episodes are deterministic functions of the seed

    candidates = build_candidates(gated, tokenizer, data, config, seed)
    logger.info("candidate space: %s", ", ".join(c.name for c in candidates))

    names = adapted_parameter_names(gated, first)
    parameters = dict(gated.named_parameters())
    body = {name: parameters[name].detach().clone().requires_grad_(True) for name in names}
    log_lrs = {name: torch.tensor(float(torch.log(torch.tensor(config.inner_lr_init))), requires_grad=True) for name in names}
    for name in (HEAD_WEIGHT, HEAD_BIAS):
        log_lrs[name] = torch.tensor(float(torch.log(torch.tensor(config.head_lr_init))), requires_grad=True)
    log_scale = torch.zeros((), requires_grad=True)
    optimizer = torch.optim.Adam(
        [
            {"params": list(body.values()), "lr": config.outer_lr},
            {"params": [*log_lrs.values(), log_scale], "lr": config.lr_outer_lr},
        ]
    )

    sampler = EpisodeSampler(data, config.ways, config.shots, config.queries, config.smlmt_share, derive_seed(seed, "train"))
    validation_sampler = None
    if config.validation_episodes > 0 and data.validation:
        try:
            validation_sampler = EpisodeSampler(
                data, config.ways, config.shots, config.queries, 0.0, derive_seed(seed, "validation"), split="validation"
            )
        except ValueError as error:
            logger.warning("meta-validation disabled, so the last checkpoint is kept: %s", error)

    curve: list[dict[str, float]] = []
    validation: list[dict[str, float]] = []
    best = _snapshot(body, log_lrs, log_scale)
    best_accuracy, best_episode = float("-inf"), 0

    def validate(episode: int) -> None:
        nonlocal best, best_accuracy, best_episode
        if validation_sampler is None:
            return
        loss, accuracy = _validate(gated, tokenizer, validation_sampler, candidates, (body, log_lrs, log_scale), config, first, seed)
        validation.append({"episode": episode, "query_loss": loss, "query_accuracy": accuracy})
        if accuracy > best_accuracy:
            best, best_accuracy, best_episode = _snapshot(body, log_lrs, log_scale), accuracy, episode

    validate(0)
    progress = tqdm(range(1, config.meta_episodes + 1), desc="meta-training", unit="episode", disable=None)
    for index in progress:
        rng = numpy_rng(derive_seed(seed, "episode-candidate", index))
        candidate = candidates[int(rng.integers(len(candidates)))]
        episode = sampler.sample(index)
        loss, accuracy = _run_episode(gated, tokenizer, episode, candidate, body, log_lrs, log_scale, config, first, keep_graph=True)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        curve.append({"episode": index, "query_loss": loss.item(), "query_accuracy": accuracy, "source": episode.source, "candidate": candidate.name})
        progress.set_postfix(loss=f"{loss.item():.3f}")
        if config.validate_every > 0 and index % config.validate_every == 0:
            validate(index)
    if validation_sampler is None:
        best, best_episode = _snapshot(body, log_lrs, log_scale), config.meta_episodes
    elif config.validate_every <= 0 or config.meta_episodes % config.validate_every != 0:
        validate(config.meta_episodes)

    summary = {"curve": curve, "validation": validation, "best_episode": best_episode}
    best_body, best_lrs, best_scale = best
    return MetaState(best_body, best_lrs, best_scale, candidates, first, summary)


def save_state(state: MetaState, directory: Path) -> None:
    """Write the state atomically: into a temporary directory that is then renamed."""
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=directory.name + ".", dir=directory.parent))
    tensors: dict[str, torch.Tensor] = {"log_scale": state.log_scale.reshape(1)}
    tensors.update({f"body/{name}": tensor.contiguous() for name, tensor in state.body.items()})
    tensors.update({f"log_lr/{name}": tensor.reshape(1) for name, tensor in state.log_lrs.items()})
    for candidate in state.candidates:
        for kind, tensor in candidate.mask.tensors().items():
            tensors[f"mask/{candidate.name}/{kind}"] = tensor.contiguous()
    save_file(tensors, str(staging / STATE_FILE))
    candidates = [
        {"name": c.name, "origin": c.origin, "family": c.family, "ratio": c.ratio} for c in state.candidates
    ]
    summary = dict(state.summary, candidates=candidates, start_layer=state.start_layer)
    (staging / SUMMARY_FILE).write_text(json.dumps(summary, indent=1))
    if directory.exists():
        shutil.rmtree(directory)
    os.replace(staging, directory)


def load_state(directory: Path) -> MetaState:
    tensors = load_file(str(directory / STATE_FILE))
    summary = json.loads((directory / SUMMARY_FILE).read_text())
    body = {key.removeprefix("body/"): value for key, value in tensors.items() if key.startswith("body/")}
    log_lrs = {key.removeprefix("log_lr/"): value.reshape(()) for key, value in tensors.items() if key.startswith("log_lr/")}
    candidates = []
    for entry in summary["candidates"]:
        prefix = f"mask/{entry['name']}/"
        mask = ErasureMask.from_tensors({kind: tensors[prefix + kind] for kind in ("heads", "ffn", "layers")})
        candidates.append(Candidate(entry["name"], entry["origin"], entry["family"], entry["ratio"], mask))
    return MetaState(body, log_lrs, tensors["log_scale"].reshape(()), candidates, summary["start_layer"], summary)
