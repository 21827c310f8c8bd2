"""On-disk cache of meta-trained parameters for the episodic baselines (MAML, ProtoNet).

An entry is keyed by a hash of everything that determines the weights:
method, hyperparameters, backbone and revision, meta-training data
checksums, root seed and the suite version. It contains the trained tensors
(safetensors) and the facts `meta_train` returned, so a cached run records
the same meta-training curve as the run that filled the cache.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from bench import __version__
from bench.backbone import resolve_backbone
from bench.meta.training import data_fingerprint
from bench.protocol import MethodContext

TENSORS_FILE = "weights.safetensors"
FACTS_FILE = "facts.json"


def cache_entry(context: MethodContext, method: str, hyperparameters: dict[str, Any]) -> Path:
    """Return the cache folder for one method's meta-training under `context`."""
    data = context.meta_data() if context.meta_data is not None else None
    payload = {
        "method": method,
        "hyperparameters": hyperparameters,
        "backbone": resolve_backbone(context.backbone),
        "revision": context.backbone_revision,
        "data": data_fingerprint(data) if data is not None else None,
        "seed": context.root_seed,
        "suite": __version__,
    }
    key = hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()
    return Path(context.cache_dir) / "meta" / method / key


def load_entry(directory: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]] | None:
    """Return (tensors, facts) from a complete entry, or None when there is none."""
    if not (directory / TENSORS_FILE).is_file() or not (directory / FACTS_FILE).is_file():
        return None
    return load_file(str(directory / TENSORS_FILE)), json.loads((directory / FACTS_FILE).read_text(encoding="utf-8"))


def save_entry(directory: Path, tensors: dict[str, torch.Tensor], facts: dict[str, Any]) -> None:
    """Write an entry atomically: into a staging folder that is then renamed into place."""
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=directory.name + ".", dir=directory.parent))
    save_file({name: tensor.detach().contiguous() for name, tensor in tensors.items()}, str(staging / TENSORS_FILE))
    (staging / FACTS_FILE).write_text(json.dumps(facts, indent=1), encoding="utf-8")
    if directory.exists():
        shutil.rmtree(directory)
    os.replace(staging, directory)


def trainable_tensors(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {name: p for name, p in model.named_parameters() if p.requires_grad}


def restore(model: torch.nn.Module, tensors: dict[str, torch.Tensor]) -> None:
    """Copy cached tensors into the named parameters of `model`."""
    named = dict(model.named_parameters())
    missing = set(tensors) - set(named)
    if missing:
        raise ValueError(f"cached weights name unknown parameters {sorted(missing)[:3]}; delete the cache entry")
    with torch.no_grad():
        for name, tensor in tensors.items():
            named[name].copy_(tensor)
