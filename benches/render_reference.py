"""Gymnasium 1.4.0 reference frames for reverie's renderers (`reverie_envs::render`).

Usage (Python 3 with `pip install gymnasium==1.4.0 pygame numpy`):

    python benches/render_reference.py /tmp/render_ref
    cargo run --release -p reverie-envs --example render_strip -- /tmp/render_ref

For each classic-control env it sets a fixed sequence of states (the same list as
`crates/reverie-envs/examples/render_strip.rs`) on `env.unwrapped`, renders
`rgb_array` frames and writes `<out>/<EnvId>.npy`: uint8 `[n_states, height, width, 3]`
at Gymnasium's natural size. The example reads these and puts them under reverie's frames in
`docs/render/<EnvId>.png`.

With `--test-data DIR` it also writes the small reference set that
`crates/reverie-envs/tests/render.rs` checks against: for the first two states of each env,
the frame area-averaged to 64 x 64 (OpenCV's INTER_AREA rule, computed here with numpy) as
raw bytes `<EnvId>_<k>.rgb` (64*64*3 bytes each).

Pendulum's last torque arrow is switched off (`last_u = None`, as after a reset): reverie's
Pendulum does not keep the last action, so its frames never show the arrow.
"""

import argparse
import os

import numpy as np

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import gymnasium as gym  # noqa: E402

# The states: a cart drifting right while its pole falls, a pendulum swinging up, a car
# rocking towards the flag, an acrobot swinging. Same numbers as render_strip.rs.
STATES = {
    "CartPole-v1": [
        [0.0, 0.0, 0.0, 0.0],
        [-1.2, 0.0, 0.08, 0.0],
        [0.35, 0.0, -0.15, 0.0],
        [1.4, 0.0, 0.2, 0.0],
        [2.3, 0.0, -0.21, 0.0],
    ],
    "Pendulum-v1": [
        [3.1, 0.0],
        [2.2, 0.0],
        [-1.3, 0.0],
        [0.45, 0.0],
        [0.02, 0.0],
    ],
    "MountainCar-v0": [
        [-0.5, 0.0],
        [-0.95, 0.0],
        [-1.18, 0.0],
        [0.05, 0.0],
        [0.5, 0.0],
    ],
    "MountainCarContinuous-v0": [
        [-0.52, 0.0],
        [-0.2, 0.0],
        [-1.1, 0.0],
        [0.3, 0.0],
        [0.45, 0.0],
    ],
    "Acrobot-v1": [
        [0.0, 0.0, 0.0, 0.0],
        [0.7, -0.4, 0.0, 0.0],
        [1.9, 0.9, 0.0, 0.0],
        [-2.6, 1.4, 0.0, 0.0],
        [3.0, -0.3, 0.0, 0.0],
    ],
}


def resize_area(img, w, h):
    """Area-average `img` [H, W, 3] to [h, w, 3] (OpenCV INTER_AREA when shrinking)."""
    H, W, _ = img.shape

    def weights(n_src, n_dst):
        m = np.zeros((n_dst, n_src))
        k = n_src / n_dst
        for i in range(n_dst):
            a, b = i * k, (i + 1) * k
            for j in range(int(np.floor(a)), min(int(np.ceil(b)), n_src)):
                m[i, j] = min(b, j + 1) - max(a, j)
        return m / k

    wy, wx = weights(H, h), weights(W, w)
    out = np.einsum("yi,ijc,xj->yxc", wy, img.astype(np.float64), wx)
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


def frames(env_id, states):
    env = gym.make(env_id, render_mode="rgb_array")
    env.reset(seed=0)
    out = []
    for s in states:
        env.unwrapped.state = np.array(s, dtype=np.float64)
        if hasattr(env.unwrapped, "last_u"):
            env.unwrapped.last_u = None
        out.append(env.render())
    env.close()
    return np.stack(out)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out", help="folder for <EnvId>.npy")
    p.add_argument("--test-data", help="also write 64x64 raw frames here")
    args = p.parse_args()
    os.makedirs(args.out, exist_ok=True)
    for env_id, states in STATES.items():
        fr = frames(env_id, states)
        np.save(os.path.join(args.out, f"{env_id}.npy"), fr)
        print(env_id, fr.shape)
        if args.test_data:
            os.makedirs(args.test_data, exist_ok=True)
            for k in range(2):
                small = resize_area(fr[k], 64, 64)
                with open(os.path.join(args.test_data, f"{env_id}_{k}.rgb"), "wb") as f:
                    f.write(small.tobytes())


if __name__ == "__main__":
    main()
