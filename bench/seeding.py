"""Seeds derived from one root seed and a cell's identity.

No module touches global random state: every consumer builds its own
generator from `derive_seed(root, *identity)`, so a result never depends on
what ran before it or in which process.
"""

from __future__ import annotations

import hashlib

import numpy as np
import torch


def derive_seed(root: int, *identity: object) -> int:
    """Hash the root seed and identity parts into a 63-bit seed."""
    text = "\x1f".join([str(root), *map(str, identity)])
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") >> 1


def numpy_rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def torch_generator(seed: int) -> torch.Generator:
    generator = torch.Generator()
    generator.manual_seed(seed)
    return generator
