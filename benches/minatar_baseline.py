"""Steps per second of the reference MinAtar package, the counterpart of the MinAtar rows
of `reverie bench envs`: uniformly random actions among all 6, sticky actions 0.1, the
observation read each step (`state()`), a reset at each episode end.

    python3 -m venv /tmp/minatar && /tmp/minatar/bin/pip install minatar==1.0.15 numpy
    /tmp/minatar/bin/python benches/minatar_baseline.py [SECONDS]
"""
import sys
import time

import numpy as np
from minatar import Environment


def single(game, seconds):
    env = Environment(game, sticky_action_prob=0.1)
    env.seed(0)
    env.reset()
    rng = np.random.RandomState(0)
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for _ in range(10_000):
            _, terminal = env.act(int(rng.randint(6)))
            env.state()
            if terminal:
                env.reset()
        steps += 10_000
    return steps / (time.perf_counter() - start)


if __name__ == "__main__":
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 5.0
    for game, name in [
        ("breakout", "Breakout"),
        ("space_invaders", "SpaceInvaders"),
        ("freeway", "Freeway"),
    ]:
        print(f"MinAtar/{name}-v0 single (minatar 1.0.15): {single(game, seconds):,.0f} steps/s")
