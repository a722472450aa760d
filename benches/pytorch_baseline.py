#!/usr/bin/env python3
"""PyTorch on CPU for the workloads of `reverie bench nn`, so each row reads as a ratio
measured on one machine in one sitting.

Install (never done by CI or the test command), then run beside `reverie bench nn`:

    python3 -m venv /tmp/torchenv
    /tmp/torchenv/bin/pip install torch==2.15.0 stable-baselines3==2.9.2 gymnasium==1.4.0
    /tmp/torchenv/bin/python benches/pytorch_baseline.py            # ~1 min
    /tmp/torchenv/bin/python benches/pytorch_baseline.py --sac      # + SB3 SAC, ~4 min

Each row is the median over repeated steps after a warm-up, with PyTorch on 2 threads
(`torch.set_num_threads(2)`, the machine's two cores), float32, eager mode.
"""

import argparse
import json
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def median_ms(fn, repeats, warmup=3):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


class EnsembleLinear(nn.Module):
    """mbrl-lib's ensemble layer: weights [E, in, out], one bmm for all members."""

    def __init__(self, members, inputs, outputs):
        super().__init__()
        bound = 1.0 / inputs**0.5
        self.weight = nn.Parameter(torch.empty(members, inputs, outputs).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.empty(members, 1, outputs).uniform_(-bound, bound))

    def forward(self, x):
        return x.matmul(self.weight) + self.bias


class GaussianEnsemble(nn.Module):
    """7 × (5 → 200 ×4 → 8): mean and log-variance of 4 targets, SiLU, learned bounds."""

    def __init__(self, members=7, inputs=5, hidden=200, layers=4, targets=4):
        super().__init__()
        sizes = [inputs] + [hidden] * layers + [2 * targets]
        self.layers = nn.ModuleList(
            EnsembleLinear(members, a, b) for a, b in zip(sizes[:-1], sizes[1:])
        )
        self.max_logvar = nn.Parameter(torch.full((1, 1, targets), 0.5))
        self.min_logvar = nn.Parameter(torch.full((1, 1, targets), -10.0))
        self.targets = targets

    def loss(self, x, y):
        h = x
        for i, layer in enumerate(self.layers):
            h = layer(h)
            if i < len(self.layers) - 1:
                h = F.silu(h)
        mean, raw = h[..., : self.targets], h[..., self.targets :]
        logvar = self.max_logvar - F.softplus(self.max_logvar - raw)
        logvar = self.min_logvar + F.softplus(logvar - self.min_logvar)
        nll = ((mean - y) ** 2 * torch.exp(-logvar) + logvar).mean() * 7
        return nll + 0.01 * (self.max_logvar.sum() - self.min_logvar.sum())


def ensemble_train_step():
    model = GaussianEnsemble()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x, y = torch.randn(7, 256, 5), torch.randn(7, 256, 4)

    def step():
        opt.zero_grad(set_to_none=True)
        model.loss(x, y).backward()
        opt.step()

    return median_ms(step, 30)


def ensemble_planning_forward():
    model = GaussianEnsemble()
    x = torch.randn(7, 500, 5)

    def rollout():
        with torch.no_grad():
            h = x
            for _ in range(30):
                out = h
                for i, layer in enumerate(model.layers):
                    out = layer(out)
                    if i < len(model.layers) - 1:
                        out = F.silu(out)
                h = torch.cat([h[..., :3] + out[..., :3], h[..., 3:]], dim=-1)

    return median_ms(rollout, 5)


def single_row_forward():
    net = nn.Sequential(nn.Linear(4, 64), nn.Tanh(), nn.Linear(64, 64), nn.Tanh(), nn.Linear(64, 2))
    x = torch.randn(1, 4)

    def act():
        with torch.no_grad():
            net(x)

    return median_ms(act, 2000, warmup=100) * 1e3  # µs


def conv_autoencoder(depth=16):
    """DreamerV3 size1m-like: four stride-2 convs 64→4, four transposed convs back."""
    chans = [3, depth, 2 * depth, 4 * depth, 8 * depth]
    enc, dec = [], []
    for a, b in zip(chans[:-1], chans[1:]):
        enc += [nn.Conv2d(a, b, 4, 2, 1), nn.SiLU()]
    rev = chans[::-1]
    for i, (a, b) in enumerate(zip(rev[:-1], rev[1:])):
        dec += [nn.ConvTranspose2d(a, b, 4, 2, 1)]
        if i < len(rev) - 2:
            dec += [nn.SiLU()]
    return nn.Sequential(*enc, *dec)


def conv_train_step():
    model = conv_autoencoder()
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    frames = torch.rand(16 * 64, 3, 64, 64)

    def step():
        opt.zero_grad(set_to_none=True)
        F.mse_loss(model(frames), frames).backward()
        opt.step()

    return median_ms(step, 5, warmup=1)


def gru_unroll(fused):
    """Hidden 256, input 256, 64 steps, batch 16, forward + backward of the summed states."""
    x = torch.randn(64, 16, 256)
    if fused:
        gru = nn.GRU(256, 256)

        def step():
            out, _ = gru(x)
            out.square().mean().backward()

    else:
        cell = nn.GRUCell(256, 256)

        def step():
            h = torch.zeros(16, 256)
            states = []
            for t in range(64):
                h = cell(x[t], h)
                states.append(h)
            torch.stack(states).square().mean().backward()

    return median_ms(step, 20)


def sb3_sac(steps):
    import gymnasium as gym
    from stable_baselines3 import SAC

    env = gym.make("Pendulum-v1")
    # rl-zoo's Pendulum-v1 SAC: lr 1e-3, the rest SB3's defaults (256×256, batch 256).
    model = SAC("MlpPolicy", env, learning_rate=1e-3, seed=0, verbose=0, device="cpu")
    start = time.perf_counter()
    model.learn(total_timesteps=steps)
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--sac", action="store_true", help="also time SB3 SAC on Pendulum-v1")
    parser.add_argument("--sac-steps", type=int, default=20_000)
    parser.add_argument("--json", action="store_true", help="also print the figures as one JSON line")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    print(f"PyTorch {torch.__version__}, {torch.get_num_threads()} threads")
    # Keys shared with `reverie bench nn` (crates/reverie-lab/src/bench_nn.rs).
    rows = [
        ("ensemble_train", "ensemble train step, 7 x (5-200x4-8), NLL + Adam, batch 256", ensemble_train_step(), "ms"),
        ("planning_forward", "ensemble forward for planning, 7 x 500 rows, 30 steps fed back", ensemble_planning_forward(), "ms"),
        ("single_row", "single-row forward 4-64-64-2 tanh (acting)", single_row_forward(), "us"),
        ("conv_train", "conv encoder + decoder 64x64x3, depth 16, 1024 frames, fwd + bwd + Adam", conv_train_step(), "ms"),
        ("gru_train", "GRU 256, 64 steps x batch 16, fwd + bwd (GRUCell loop)", gru_unroll(False), "ms"),
        ("gru_train_fused", "GRU 256, 64 steps x batch 16, fwd + bwd (nn.GRU)", gru_unroll(True), "ms"),
    ]
    if args.sac:
        rows.append(("sb3_sac", f"SB3 2.9.2 SAC Pendulum-v1, {args.sac_steps} steps, wall-clock", sb3_sac(args.sac_steps), "s"))
    for _, name, value, unit in rows:
        print(f"{name:<78} {value:>10.3f} {unit}")
    if args.json:
        print(json.dumps({key: value for key, _, value, _ in rows}))


if __name__ == "__main__":
    main()
