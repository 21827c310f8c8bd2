"""Benchmark the project's functional MAML against MAML written with the `higher` library.

Prints, from one run on this machine:
  1. meta-training episodes per second of both implementations on the same
     backbone and episodes, with identical settings (every parameter adapted,
     second order) and with each one's defaults (ours: the `maml` method's
     defaults; higher: all parameters, second order), and their ratio;
  2. the share of this machine's matrix-multiply throughput that our
     meta-training sustains (FLOPs per episode from FlopCounterMode);
  3. resident memory sampled every --memory-every episodes across
     --memory-episodes meta-training episodes (it must not grow);
  4. optionally, the wall time of `python -m bench run --profile quick`
     with a cold cache directory and again with the warm one.

Not a test: numbers depend on the machine and its load. `pip install higher
--no-deps` first. Run `python benchmarks/maml_vs_higher.py --help` for flags.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from baselines._episodic import episode_sampler  # noqa: E402
from baselines.maml import Maml, meta_update  # noqa: E402
from bench.backbone import load_tokenizer  # noqa: E402
from bench.encoding import encode_labeled  # noqa: E402
from bench.models import classification_loss  # noqa: E402
from bench.protocol import MethodContext, MetaTrainingData  # noqa: E402

Encoded = tuple[tuple[dict[str, torch.Tensor], torch.Tensor], tuple[dict[str, torch.Tensor], torch.Tensor]]


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backbone", default="all-MiniLM-L6-v2", help="encoder name or local model directory")
    parser.add_argument("--data-dir", type=Path, default=None, help="standard data folder for meta-training data (default: $BENCH_DATA_DIR)")
    parser.add_argument("--episodes", type=int, default=10, help="timed episodes per configuration and implementation")
    parser.add_argument("--warmup", type=int, default=2, help="untimed episodes before each timing")
    parser.add_argument("--memory-episodes", type=int, default=500, help="meta-training episodes for the memory check (0 skips it)")
    parser.add_argument("--memory-every", type=int, default=50, help="episodes between memory samples")
    parser.add_argument("--skip-higher", action="store_true", help="time only our implementation")
    parser.add_argument("--time-profile", action="store_true", help="also time `python -m bench run --profile quick` cold and warm")
    parser.add_argument("--profile", default="quick", help="profile for --time-profile")
    parser.add_argument("--profile-only", action="store_true", help="only time the profile (implies --time-profile)")
    parser.add_argument("--run-dir", type=Path, default=None, help="keep the timed profile's run directory here")
    parser.add_argument("--seed", type=int, default=0, help="root seed of the episode sampler")
    return parser.parse_args()


def resident_memory_bytes() -> int:
    import psutil

    return psutil.Process().memory_info().rss


def matmul_gflops(size: int = 2048, repeats: int = 5) -> float:
    """Measured float32 matrix-multiply throughput of this process, in GFLOP/s (best of `repeats`)."""
    a = torch.randn(size, size)
    b = torch.randn(size, size)
    torch.matmul(a, b)
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        torch.matmul(a, b)
        best = min(best, time.perf_counter() - started)
    return 2 * size**3 / best / 1e9


def load_meta_data(data_dir: Path | None) -> MetaTrainingData:
    from tasks.meta import load_meta_training_data

    return load_meta_training_data(data_dir)


def encode_episodes(context: MethodContext, settings: dict[str, Any], count: int) -> list[Encoded]:
    """Sample and tokenise `count` episodes once, so both implementations see the same tensors."""
    tokenizer = load_tokenizer(context.backbone)
    sampler = episode_sampler(context, settings["ways"], settings["shots"], settings["queries"], settings["smlmt_share"])
    encoded = []
    for index in range(count):
        episode = sampler.sample(index)
        encoded.append(
            (
                encode_labeled(tokenizer, episode.support, settings["meta_max_seq_length"]),
                encode_labeled(tokenizer, episode.query, settings["meta_max_seq_length"]),
            )
        )
    return encoded


def ours_step(method: Maml, context: MethodContext) -> Callable[[Encoded], None]:
    hp = method.hyperparameters
    model = method.build_model(context)
    adapted = method._adapted
    optimizer = method.meta_optimizer(model)

    def step(episode: Encoded) -> None:
        meta_update(model, adapted, optimizer, [episode], inner_lr=hp["inner_lr"], inner_steps=hp["inner_steps"], first_order=hp["first_order"])

    return step


def higher_step(method: Maml, context: MethodContext) -> Callable[[Encoded], None]:
    """Run the same model, optimiser and episode through `higher.innerloop_ctx`, second order."""
    import higher

    hp = method.hyperparameters
    model = method.build_model(context)
    optimizer = method.meta_optimizer(model)
    inner_optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=hp["inner_lr"])

    def step(episode: Encoded) -> None:
        (support, support_labels), (query, query_labels) = episode
        optimizer.zero_grad()
        with higher.innerloop_ctx(model, inner_optimizer, copy_initial_weights=False) as (fast_model, differentiable_optimizer):
            for _ in range(hp["inner_steps"]):
                differentiable_optimizer.step(classification_loss(fast_model(support), support_labels))
            classification_loss(fast_model(query), query_labels).backward()
        optimizer.step()

    return step


def interleaved_rates(steps: dict[str, Callable[[Encoded], None]], episodes: list[Encoded], warmup: int) -> dict[str, float]:
    """Episodes per second of each step function, timed on alternating turns.

    The machine may be shared, so each episode runs once per implementation,
    in an order that alternates between episodes; load changes then hit both alike.
    """
    for episode in episodes[:warmup]:
        for step in steps.values():
            step(episode)
    elapsed = dict.fromkeys(steps, 0.0)
    names = list(steps)
    for index, episode in enumerate(episodes[warmup:]):
        for name in names if index % 2 == 0 else reversed(names):
            started = time.perf_counter()
            steps[name](episode)
            elapsed[name] += time.perf_counter() - started
    timed = len(episodes) - warmup
    return {name: timed / seconds for name, seconds in elapsed.items()}


def total_flops(step: Callable[[Encoded], None], episodes: list[Encoded]) -> int:
    counter = FlopCounterMode(display=False)
    with counter:
        for episode in episodes:
            step(episode)
    return counter.get_total_flops()


def compare(label: str, ours: Maml, theirs: Maml, context: MethodContext, args: argparse.Namespace, peak_gflops: float) -> None:
    """Print both rates, their ratio, and the FLOP rate our meta-training sustains."""
    episodes = encode_episodes(context, ours.hyperparameters, args.warmup + args.episodes)
    steps = {"ours": ours_step(ours, context)}
    if not args.skip_higher:
        steps["higher"] = higher_step(theirs, context)
    rates = interleaved_rates(steps, episodes, args.warmup)
    flops = total_flops(steps["ours"], episodes[args.warmup :]) / args.episodes
    sustained = flops * rates["ours"] / 1e9
    print(f"[{label}] ours: {rates['ours']:.3f} episodes/s, {flops / 1e9:.1f} GFLOP/episode (mean), {sustained:.1f} GFLOP/s = {100 * sustained / peak_gflops:.0f}% of matmul peak")
    if "higher" in rates:
        print(f"[{label}] higher: {rates['higher']:.3f} episodes/s; ratio ours/higher: {rates['ours'] / rates['higher']:.2f}")


def memory_samples(method: Maml, context: MethodContext, total: int, every: int) -> list[tuple[int, float]]:
    """Meta-train for `total` episodes, sampling episodes on the fly; return (episode, RSS MiB) samples."""
    hp = method.hyperparameters
    tokenizer = load_tokenizer(context.backbone)
    sampler = episode_sampler(context, hp["ways"], hp["shots"], hp["queries"], hp["smlmt_share"])
    step = ours_step(method, context)
    samples = [(0, resident_memory_bytes() / 2**20)]
    for index in range(total):
        episode = sampler.sample(index)
        step(
            (
                encode_labeled(tokenizer, episode.support, hp["meta_max_seq_length"]),
                encode_labeled(tokenizer, episode.query, hp["meta_max_seq_length"]),
            )
        )
        if (index + 1) % every == 0:
            samples.append((index + 1, resident_memory_bytes() / 2**20))
    return samples


def time_profile(profile: str, data_dir: Path | None, run_dir: Path | None) -> None:
    """Run the profile once with an empty cache directory and once more (forced) with the filled one.

    Prints both wall times and whether the warm run reproduced the cold run's results table.
    """
    with tempfile.TemporaryDirectory(prefix="bench-profile-") as scratch:
        output = run_dir or Path(scratch) / "run"
        command = [sys.executable, "-m", "bench", "run", "--profile", profile, "-o", str(output), "--cache-dir", f"{scratch}/cache"]
        if data_dir is not None:
            command += ["--data-dir", str(data_dir)]
        tables: dict[str, str] = {}
        for label, extra in (("cold", []), ("warm", ["--force"])):
            started = time.perf_counter()
            result = subprocess.run(command + extra, cwd=Path(__file__).resolve().parent.parent, capture_output=True, text=True)
            elapsed = time.perf_counter() - started
            print(f"[profile {profile}] {label}: {elapsed:.0f} s, exit status {result.returncode}", flush=True)
            if result.returncode != 0:
                print(result.stderr[-2000:])
            table = output / "results.csv"
            tables[label] = table.read_text(encoding="utf-8") if table.is_file() else ""
        same = tables["cold"] != "" and tables["cold"] == tables["warm"]
        print(f"[profile {profile}] warm run reproduced the cold results table: {'yes' if same else 'no'}")


def main() -> int:
    args = parse_arguments()
    data_dir = args.data_dir or (Path(os.environ["BENCH_DATA_DIR"]) if os.environ.get("BENCH_DATA_DIR") else None)
    if args.profile_only:
        time_profile(args.profile, data_dir, args.run_dir)
        return 0
    meta_data = load_meta_data(data_dir)
    scratch = Path(tempfile.mkdtemp(prefix="maml-bench-"))
    context = MethodContext(backbone=args.backbone, cache_dir=scratch, output_dir=scratch, root_seed=args.seed, meta_data=lambda: meta_data)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, backbone {args.backbone}")
    peak = matmul_gflops()
    print(f"matmul peak (2048x2048 float32, best of 5): {peak:.1f} GFLOP/s")

    identical = {"adapt_layers": "all", "first_order": False}
    all_layers = Maml(**{**Maml.defaults, **identical})
    compare("identical: all layers, second order", all_layers, all_layers, context, args, peak)
    # higher's usual setup adapts every parameter, as in the identical-settings comparison.
    compare("defaults: ours top layer + head, higher all layers", Maml(**Maml.defaults), all_layers, context, args, peak)

    if args.memory_episodes > 0:
        samples = memory_samples(Maml(**Maml.defaults), context, args.memory_episodes, args.memory_every)
        print("RSS MiB by episode: " + ", ".join(f"{episode}: {mib:.0f}" for episode, mib in samples))
        later = [mib for episode, mib in samples if episode >= args.memory_every]
        if len(later) >= 2:
            print(f"RSS change after the first {args.memory_every} episodes: {later[-1] - later[0]:+.1f} MiB")
    if args.time_profile:
        time_profile(args.profile, data_dir, args.run_dir)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
