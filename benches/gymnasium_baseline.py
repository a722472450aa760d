"""Gymnasium's env stepping speed, the baseline for `reverie bench envs` (BENCHMARKS.md).

Same protocol as the Rust bench: random actions, automatic reset at episode end, the
registered time limits. Pixel rows: Gymnasium's pixel pipeline, `render_mode="rgb_array"`
observed through `AddRenderObservation(render_only=True)` and `ResizeObservation` to 64x64
(cv2.resize with INTER_AREA), the counterpart of reverie's `CartPolePixels-v1` and
`PendulumPixels-v1`. Needs `pip install gymnasium==1.4.0 pygame opencv-python-headless`.

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


def pixels(env_id):
    return gym.wrappers.ResizeObservation(
        gym.wrappers.AddRenderObservation(
            gym.make(env_id, render_mode="rgb_array"), render_only=True
        ),
        (64, 64),
    )


def single_pixels(env_id):
    env = pixels(env_id)
    obs, _ = env.reset(seed=0)
    assert obs.shape == (64, 64, 3) and obs.dtype == np.uint8, obs.shape
    env.action_space.seed(0)
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < SECONDS:
        for _ in range(100):
            _, _, terminated, truncated, _ = env.step(env.action_space.sample())
            if terminated or truncated:
                env.reset()
        steps += 100
    return steps / (time.perf_counter() - start)


def vector_pixels(env_id, n):
    envs = gym.vector.SyncVectorEnv([lambda: pixels(env_id) for _ in range(n)])
    envs.reset(seed=0)
    envs.action_space.seed(0)
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < SECONDS:
        for _ in range(5):
            obs, *_ = envs.step(envs.action_space.sample())
        steps += 5 * n
    assert obs.shape == (n, 64, 64, 3), obs.shape
    return steps / (time.perf_counter() - start)


print(f"{'env':<28} {'mode':<8} {'steps_per_s':>14}")
for env_id in ["CartPole-v1", "Pendulum-v1"]:
    print(f"{env_id:<28} {'single':<8} {single(env_id):>14.0f}")
    print(f"{env_id:<28} {'vec64':<8} {vector(env_id, 64):>14.0f}")
for env_id, ours in [("CartPole-v1", "CartPolePixels-v1"), ("Pendulum-v1", "PendulumPixels-v1")]:
    print(f"{ours:<28} {'single':<8} {single_pixels(env_id):>14.0f}")
    print(f"{ours:<28} {'vec16':<8} {vector_pixels(env_id, 16):>14.0f}")
