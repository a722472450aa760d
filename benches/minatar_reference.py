"""Records MinAtar trajectories from the reference package for reverie's conformance test.

    python3 -m venv /tmp/minatar && /tmp/minatar/bin/pip install minatar==1.0.15 numpy
    /tmp/minatar/bin/python benches/minatar_reference.py > crates/reverie-envs/tests/data/minatar_breakout.json

For each seed, actions from a policy of this script's own (uniformly random, or one that
follows the ball so that episodes are long) are played through `minatar.Environment("breakout")` with its sticky actions, across episodes. Each
step records the chosen action, the action the env settled on after the sticky draw (read
back from `last_action`), the reward, the terminal flag and the state's bits in the
reference's `[row][col][channel]` order, packed as hex. reverie cannot reproduce NumPy's draws, so the
test feeds it these: the settled action and, at each reset, the ball's start side (read off
the first state).
"""
import json

import numpy as np
from minatar import Environment


def flat(state):
    """The state's bits in `[row][col][channel]` order, packed 8 to a byte (most
    significant first, NumPy's `packbits`), as hex."""
    return np.packbits(state.reshape(-1).astype(np.uint8)).tobytes().hex()


def random_policy(chooser, env):
    return int(chooser.randint(6))


def tracking_policy(chooser, env):
    """Breakout: move the paddle under the column where the falling ball will reach row 8
    (long episodes: many bricks, rebuilt walls, double strikes), with a random action one
    step in fifty."""
    if chooser.rand() < 0.02:
        return int(chooser.randint(6))
    game = env.env
    x, dx = game.ball_x, (1 if game.ball_dir in (1, 2) else -1)
    if game.ball_dir in (2, 3):
        for _ in range(8 - game.ball_y):
            x += dx
            if x < 0 or x > 9:
                x, dx = min(max(x, 0), 9), -dx
    if game.pos > x:
        return 1
    if game.pos < x:
        return 3
    return 0


def record(game, seed, steps, policy):
    env = Environment(game, sticky_action_prob=0.1)
    env.seed(seed)
    chooser = np.random.RandomState(1000 + seed)
    episodes, episode = [], None
    env.reset()
    episode = {"start": flat(env.state()), "steps": []}
    for _ in range(steps):
        action = policy(chooser, env)
        reward, terminal = env.act(action)
        episode["steps"].append(
            [action, int(env.last_action), float(reward), bool(terminal), flat(env.state())]
        )
        if terminal:
            episodes.append(episode)
            env.reset()
            episode = {"start": flat(env.state()), "steps": []}
    if episode["steps"]:
        episodes.append(episode)
    return {"game": game, "seed": seed, "policy": policy.__name__, "episodes": episodes}


if __name__ == "__main__":
    runs = [record("breakout", seed, 400, random_policy) for seed in range(5)]
    runs += [record("breakout", seed, 2000, tracking_policy) for seed in range(5, 8)]
    print(json.dumps({"minatar": "1.0.15", "channels": 4, "runs": runs}))
