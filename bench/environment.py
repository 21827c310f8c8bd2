"""The environment fingerprint stored in every run record."""

from __future__ import annotations

import platform
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

import torch
import transformers

from bench.records import Environment


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


@lru_cache(maxsize=1)
def environment(device: str = "cpu") -> Environment:
    gpu = torch.cuda.get_device_name(0) if device.startswith("cuda") and torch.cuda.is_available() else "cpu"
    return Environment(
        python=platform.python_version(),
        torch=torch.__version__,
        transformers=transformers.__version__,
        platform=f"{sys.platform}-{platform.machine()}",
        device=gpu,
        cpu=_cpu_model(),
    )


@lru_cache(maxsize=1)
def git_commit() -> str | None:
    """Return the suite's git commit, or None when it does not run from a checkout."""
    root = Path(__file__).resolve().parent.parent
    try:
        result = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout.strip() or None
