"""Records MinAtar trajectories from the reference package for reverie's conformance test.

    python3 -m venv /tmp/minatar && /tmp/minatar/bin/pip install minatar==1.0.15 numpy
    /tmp/minatar/bin/python benches/minatar_reference.py breakout > crates/reverie-envs/tests/data/minatar_breakout.json
    /tmp/minatar/bin/python benches/minatar_reference.py space_invaders > crates/reverie-envs/tests/data/minatar_space_invaders.json
    /tmp/minatar/bin/python benches/minatar_reference.py freeway > crates/reverie-envs/tests/data/minatar_freeway.json

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


def toward(pos, target):
    """The action (left 1, right 3, no-op 0) that moves a player at column `pos` to
    column `target`."""
    return 1 if pos > target else 3 if pos < target else 0


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
    return toward(game.pos, x)


def invaders_policy(chooser, env):
    """Space Invaders: step aside from an alien bullet about to land, else fire whenever
    the cannon can, else move under the nearest column with an alien (episodes of ~200
    steps that end with the aliens at the bottom), with a random action one step in
    fifty."""
    if chooser.rand() < 0.02:
        return int(chooser.randint(6))
    game = env.env
    if game.e_bullet_map[7:, game.pos].any():
        return 1 if game.pos > 0 and not game.e_bullet_map[7:, game.pos - 1].any() else 3
    if game.shot_timer == 0:
        return 5
    columns = [c for c in range(10) if game.alien_map[:, c].any()]
    if not columns:
        return 0
    return toward(game.pos, min(columns, key=lambda c: abs(c - game.pos)))


def upward_policy(chooser, env):
    """Freeway: up, with a random action one step in ten (crossings redraw the cars)."""
    if chooser.rand() < 0.1:
        return int(chooser.randint(6))
    return 2


GOOD_POLICY = {
    "breakout": tracking_policy,
    "space_invaders": invaders_policy,
    "freeway": upward_policy,
}
# Freeway's episodes last 2,501 steps: its long runs cover one end.
LONG_STEPS = {"freeway": 2600}


def record(game, seed, steps, policy):
    env = Environment(game, sticky_action_prob=0.1)
    env.seed(seed)
    chooser = np.random.RandomState(1000 + seed)
    episodes = []
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
    import sys

    game = sys.argv[1] if len(sys.argv) > 1 else "breakout"
    runs = [record(game, seed, 400, random_policy) for seed in range(5)]
    long = LONG_STEPS.get(game, 2000)
    runs += [record(game, seed, long, GOOD_POLICY[game]) for seed in range(5, 8)]
    channels = Environment(game).state_shape()[2]
    print(json.dumps({"minatar": "1.0.15", "channels": channels, "runs": runs}))
