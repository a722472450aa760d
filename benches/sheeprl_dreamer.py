#!/usr/bin/env python3
"""sheeprl's DreamerV3 update on CPU, the peer figure for `reverie bench dreamer`.

It times one gradient step of sheeprl's own DreamerV3 (`sheeprl.algos.dreamer_v3`), built
from sheeprl's own hydra configs (`exp=dreamer_v3`, `algo=dreamer_v3_XS` or `dreamer_v3_S`,
batch 16 sequences × 64 steps, horizon 15), on a synthetic replayed batch:

- the world-model update: `world_model_learning` (RSSM unroll over 64 steps, decoder, reward
  and continue heads, KL balancing, backward pass, Adam);
- the behaviour update: `behaviour_learning` (15 imagined steps from each of the 1,024
  posterior states, return normalisation with `Moments`, the actor and critic updates), with
  the slow-critic update that sheeprl's `main()` does before every `train()` call.

Both are called exactly as sheeprl's `train()` calls them; the full update is their sum.
Nothing touches an environment: observations are CartPole-v1 vectors (`--obs vector`, an MLP
key of shape (4,)) or 64 × 64 RGB frames (`--obs pixels`, a CNN key, uint8 (3, 64, 64)), with
2 discrete actions. The values are random: they do not change the cost of an update.

Each figure is the median over `--updates` updates after 2 warm-up updates, in float32, eager
mode (no `torch.compile`, sheeprl's default), on `--threads` threads (default 2, this
project's two cores).

Install (by hand; CI never installs Python peers). Any CPU build of torch works, e.g. one
installed first from https://download.pytorch.org/whl/cpu; the venv used here reuses the torch
(2.15) of another venv through a .pth file instead of downloading its own.

    python3 -m venv /work/sheeprlenv
    /work/sheeprlenv/bin/pip install sheeprl

Run on a quiet machine, in the same sitting as the Rust bench: with the cores busy, the 2
OpenMP threads wait on each other at every small op (an XS update took 29 s on 2 threads
beside another job, against 2.4 s on 1 thread). `--updates 0` only counts the parameters.

    /work/sheeprlenv/bin/python benches/sheeprl_dreamer.py --size xs --obs vector --threads 2
    /work/sheeprlenv/bin/python benches/sheeprl_dreamer.py --size xs --obs pixels --threads 2
    /work/sheeprlenv/bin/python benches/sheeprl_dreamer.py --size s --obs vector --json

It prints the trainable parameters (world model + actor + critic; the slow critic is a copy,
not trained by gradients) and one Markdown row for BENCHMARKS.md's Dreamer table.
"""

import argparse
import json
import statistics
import time
from pathlib import Path

import torch


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=["xs", "s"], default="xs", help="dreamer_v3_XS or dreamer_v3_S")
    parser.add_argument("--obs", choices=["vector", "pixels"], default="vector")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--updates", type=int, default=10, help="timed updates, after 2 warm-up ones; 0: only count the parameters"
    )
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON line instead")
    return parser.parse_args()


# The observation keys are names of our choosing: sheeprl reads them from `algo.*_keys`
VECTOR_KEY, PIXEL_KEY = "state", "rgb"
ACTIONS = 2
WARMUP = 2


def compose_config(size, obs):
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    import sheeprl
    from sheeprl.utils.utils import dotdict

    # `exp=dreamer_v3` names its Atari frames in the decoder keys too: both are set, as one sheeprl run would
    cnn, mlp = ([], [VECTOR_KEY]) if obs == "vector" else ([PIXEL_KEY], [])
    keys = [f"algo.{kind}_keys.{part}=[{','.join(names)}]" for kind, names in (("cnn", cnn), ("mlp", mlp))
            for part in ("encoder", "decoder")]
    overrides = [
        "exp=dreamer_v3",
        f"algo=dreamer_v3_{size.upper()}",
        "env=gym",
        "env.id=CartPole-v1",
        "env.screen_size=64",
        "algo.per_rank_batch_size=16",
        "algo.per_rank_sequence_length=64",
        "algo.horizon=15",
        "fabric.accelerator=cpu",
        "fabric.devices=1",
        "fabric.precision=32-true",
        # No logger, no metrics: the posterior and prior entropies are computed only for the logs
        "metric.log_level=0",
        *keys,
    ]
    config_dir = str(Path(sheeprl.__file__).parent / "configs")
    with initialize_config_dir(config_dir=config_dir, version_base="1.3"):
        cfg = compose(config_name="config", overrides=overrides)
    # The same plain form that sheeprl's CLI hands to the algorithms
    return dotdict(OmegaConf.to_container(cfg, resolve=True, throw_on_missing=False))


def setup_like_cli(cfg):
    """The global state that sheeprl's `run_algorithm` sets before calling an algorithm."""
    import hydra
    from torch.distributions import Distribution

    from sheeprl.utils.metric import MetricAggregator
    from sheeprl.utils.timer import timer

    torch.set_float32_matmul_precision(cfg.float32_matmul_precision)
    # Argument validation in every distribution would be measured as part of the update
    Distribution.set_default_validate_args(cfg.distribution.validate_args)
    timer.disabled = True
    MetricAggregator.disabled = cfg.metric.log_level == 0
    fabric = hydra.utils.instantiate(cfg.fabric, _convert_="all")
    fabric.seed_everything(cfg.seed)
    return fabric


def observation_space(obs):
    import gymnasium as gym
    import numpy as np

    if obs == "vector":
        space = gym.spaces.Box(-np.inf, np.inf, shape=(4,), dtype=np.float32)
        return gym.spaces.Dict({VECTOR_KEY: space})
    # sheeprl stores frames channels-first
    return gym.spaces.Dict({PIXEL_KEY: gym.spaces.Box(0, 255, shape=(3, 64, 64), dtype=np.uint8)})


def synthetic_batch(cfg, obs, device):
    """A batch as `main()` hands it to `train()`: `sample_batches` gives every key as float32,
    [T, B, ...]; the frames stay in [0, 255], since `world_model_loss` normalises them."""
    T, B = cfg.algo.per_rank_sequence_length, cfg.algo.per_rank_batch_size
    g = torch.Generator().manual_seed(cfg.seed)
    data = {}
    if obs == "vector":
        data[VECTOR_KEY] = torch.randn(T, B, 4, generator=g)
    else:
        data[PIXEL_KEY] = torch.randint(0, 256, (T, B, 3, 64, 64), generator=g).float()
    actions = torch.randint(0, ACTIONS, (T, B), generator=g)
    data["actions"] = torch.nn.functional.one_hot(actions, ACTIONS).float()
    data["rewards"] = torch.ones(T, B, 1)
    # A few episode ends, as in CartPole's replay, so that the continue targets are not all one
    data["terminated"] = (torch.rand(T, B, 1, generator=g) < 0.02).float()
    data["truncated"] = torch.zeros(T, B, 1)
    data["is_first"] = torch.zeros(T, B, 1)
    data["is_first"][0] = 1.0
    return {k: v.to(device) for k, v in data.items()}


def trainable(module):
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def main():
    args = parse_args()
    torch.set_num_threads(args.threads)

    import hydra

    from sheeprl.algos.dreamer_v3.agent import build_agent
    from sheeprl.algos.dreamer_v3.dreamer_v3 import behaviour_learning, world_model_learning
    from sheeprl.algos.dreamer_v3.utils import Moments

    cfg = compose_config(args.size, args.obs)
    fabric = setup_like_cli(cfg)
    actions_dim = (ACTIONS,)
    is_continuous = False

    # As in sheeprl's `main()`, minus the environments and the replay buffer
    world_model, actor, critic, target_critic, _player = build_agent(
        fabric, actions_dim, is_continuous, cfg, observation_space(args.obs)
    )
    world_optimizer = hydra.utils.instantiate(
        cfg.algo.world_model.optimizer, params=world_model.parameters(), _convert_="all"
    )
    actor_optimizer = hydra.utils.instantiate(cfg.algo.actor.optimizer, params=actor.parameters(), _convert_="all")
    critic_optimizer = hydra.utils.instantiate(cfg.algo.critic.optimizer, params=critic.parameters(), _convert_="all")
    world_optimizer, actor_optimizer, critic_optimizer = fabric.setup_optimizers(
        world_optimizer, actor_optimizer, critic_optimizer
    )
    moments = Moments(
        cfg.algo.actor.moments.decay,
        cfg.algo.actor.moments.max,
        cfg.algo.actor.moments.percentile.low,
        cfg.algo.actor.moments.percentile.high,
    )
    data = synthetic_batch(cfg, args.obs, fabric.device)
    params = {"world_model": trainable(world_model), "actor": trainable(actor), "critic": trainable(critic)}
    total = sum(params.values())
    name = f"sheeprl dreamer_v3_{args.size.upper()}"
    if args.updates == 0:
        print(json.dumps({"name": name, "obs": args.obs, "params": total, **params}) if args.json else f"{total:,}")
        return

    def update(step):
        """One `train()` call, split at its two halves so that each can be timed."""
        start = time.perf_counter()
        posteriors, recurrent_states, _ = world_model_learning(fabric, cfg, world_model, world_optimizer, data)
        middle = time.perf_counter()
        # The slow critic, updated by `main()` before every `train()` (every step by default)
        if step % cfg.algo.critic.per_rank_target_network_update_freq == 0:
            tau = 1 if step == 0 else cfg.algo.critic.tau
            for cp, tcp in zip(critic.module.parameters(), target_critic.parameters()):
                tcp.data.copy_(tau * cp.data + (1 - tau) * tcp.data)
        behaviour_learning(
            fabric,
            cfg,
            world_model,
            actor,
            critic,
            target_critic,
            actor_optimizer,
            critic_optimizer,
            moments,
            posteriors,
            recurrent_states,
            data["terminated"],
            is_continuous,
            actions_dim,
        )
        # The end of `train()`: the gradients are freed before the next batch
        actor_optimizer.zero_grad(set_to_none=True)
        critic_optimizer.zero_grad(set_to_none=True)
        world_optimizer.zero_grad(set_to_none=True)
        end = time.perf_counter()
        return (middle - start) * 1e3, (end - middle) * 1e3

    # The first updates allocate Adam's moments and warm the allocator and oneDNN's caches
    for step in range(WARMUP):
        update(step)
    times = [update(WARMUP + i) for i in range(args.updates)]

    world_ms = statistics.median(t[0] for t in times)
    behaviour_ms = statistics.median(t[1] for t in times)
    full_ms = statistics.median(t[0] + t[1] for t in times)
    result = {
        "name": name,
        "obs": args.obs,
        "params": total,
        "params_world_model": params["world_model"],
        "params_actor": params["actor"],
        "params_critic": params["critic"],
        "world_model_ms": round(world_ms, 2),
        "behaviour_ms": round(behaviour_ms, 2),
        "update_ms": round(full_ms, 2),
        "updates_per_s": round(1e3 / full_ms, 4),
        "threads": torch.get_num_threads(),
        "updates": args.updates,
        "batch": [cfg.algo.per_rank_batch_size, cfg.algo.per_rank_sequence_length],
        "horizon": cfg.algo.horizon,
        "torch": torch.__version__,
    }
    if args.json:
        print(json.dumps(result))
        return
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; {args.updates} updates after {WARMUP} warm-up")
    print(
        f"trainable parameters: {total:,} (world model {params['world_model']:,}, "
        f"actor {params['actor']:,}, critic {params['critic']:,})"
    )
    print(f"| {name} | {args.obs} | {total:,} | {world_ms:.1f} | {behaviour_ms:.1f} | {1e3 / full_ms:.2f} |")


if __name__ == "__main__":
    main()
