"""The committed smoke reference catches a genuine change: a wrong learning rate.

Runs the real backbone on one smoke cell, so it is marked slow (about a minute on 2 CPU cores).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "results" / "reference" / "smoke.json"


def bench(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    # PYTHONPATH finds the checkout's packages even when the suite is not pip-installed.
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "bench", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=900
    )


@pytest.mark.slow
def test_check_fails_on_wrong_learning_rate(tmp_path):
    run_dir = tmp_path / "perturbed"
    result = bench(
        "run", "--profile", "smoke", "--tasks", "bbc-news", "--methods", "finetune",
        "--set", "finetune.learning_rate=0.01", "-o", str(run_dir),
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-2000:]

    check = bench("check", str(run_dir), "--reference", str(REFERENCE), cwd=tmp_path)
    assert check.returncode == 1
    # The perturbed cell itself drifts, not only the cells this partial run left out.
    assert "drift: bbc-news k=4 finetune accuracy: expected" in check.stdout
