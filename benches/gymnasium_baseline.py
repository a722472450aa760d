"""Gymnasium's env stepping speed, the baseline for `reverie bench envs` (BENCHMARKS.md).

Same protocol as the Rust bench: random actions, automatic reset at episode end, the
registered time limits. Needs `pip install gymnasium==1.4.0`.

    python3 benches/gymnasium_baseline.py [seconds]
"""
import sys
import time

import gymnasium as gym
import numpy as np

SECONDS = float(sys.argv[1]) if len(sys.argv) > 1 else 2.0


def single(env_id):
    env = gym.make(env_id)
    env.reset(seed=0)
    env.action_space.seed(0)
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < SECONDS:
        for _ in range(1000):
            _, _, terminated, truncated, _ = env.step(env.action_space.sample())
            if terminated or truncated:
                env.reset()
        steps += 1000
    return steps / (time.perf_counter() - start)


def vector(env_id, n):
    envs = gym.make_vec(env_id, num_envs=n, vectorization_mode="sync")
    envs.reset(seed=0)
    envs.action_space.seed(0)
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < SECONDS:
        for _ in range(20):
            envs.step(envs.action_space.sample())
        steps += 20 * n
    return steps / (time.perf_counter() - start)


print(f"{'env':<28} {'mode':<8} {'steps_per_s':>14}")
for env_id in ["CartPole-v1", "Pendulum-v1"]:
    print(f"{env_id:<28} {'single':<8} {single(env_id):>14.0f}")
    print(f"{env_id:<28} {'vec64':<8} {vector(env_id, 64):>14.0f}")
