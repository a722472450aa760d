#!/usr/bin/env python3
"""LightZero's MuZero on CartPole for a wall-clock budget, the peer figure for reverie's MuZero.

It runs LightZero's own training entry, `lzero.entry.train_muzero`, on LightZero's own
CartPole MuZero config, imported from the wheel (`zoo/classic_control/cartpole/config/
cartpole_muzero_config.py`, shipped in `lightzero` 0.2.0; nothing is reconstructed):
CartPole-v0 (200-step episodes), 8 collector envs collecting 8 episodes per round, 25
simulations, 100 updates per round, batch 256, td_steps 5, 5 unroll steps, an MLP model
with a 128-wide latent state and BatchNorm, Adam at lr 0.003, the self-supervised
consistency loss (weight 2), reanalyze_ratio 0, and 3 evaluation episodes every
`eval_freq` = 100 training iterations (so once per round, plus the random agent's at the
start), on the config's subprocess env manager.

What this script changes, and only this:
- the device: `policy.cuda=False`, so everything runs on the CPU, on `--threads` threads
  (`torch.set_num_threads` and OMP/MKL_NUM_THREADS, set before torch is imported; the env
  workers, forked, inherit them);
- the end: training stops when `--minutes` of wall clock have passed since `train_muzero`
  was called (LightZero's own `max_env_step` of 1e5 stays as a second limit). The clock is
  checked before every env step (collector and evaluator), every batch sampled from the
  replay buffer and every gradient update, so the run stops within one MCTS batch, one
  sampling or one update of the budget; an interrupted round's or evaluation's partial
  data is dropped. The clock includes LightZero's setup (env workers, model, the random
  agent's evaluation: a few seconds). A watchdog ends the process if nothing returns
  within 60 s of the budget;
- the stop on solving: LightZero ends training at the first evaluation whose mean return
  reaches `env.stop_value` (200). Here training goes on for the whole budget, and that
  moment is reported instead (`solved_s`, `solved_env_steps`); `--stop-when-solved` keeps
  LightZero's behaviour;
- `exp_name`: a fresh directory under /tmp (its tensorboard and text logs), removed at the
  end unless `--keep-logs`.

`--env-id CartPole-v1` runs the same config on CartPole-v1 (500-step episodes, the env
reverie's MuZero experiments use), with 475 as the solved threshold (reverie's).

Install (by hand; CI never installs Python peers). `pip install lightzero` alone resolves
to an older torch (DI-engine 0.5.3 pins setuptools<=66.1.1, recent torch needs
setuptools>=77), so LightZero and DI-engine go in without their dependencies, and those
dependencies by hand. The venv used here reuses another venv's torch (2.15, CPU use only)
through a .pth file, as the sheeprl one does; any torch >= 1.x installed first works too.

    python3 -m venv /work/lzenv
    echo /work/torchenv/lib/python3.11/site-packages > /work/lzenv/lib/python3.11/site-packages/torchenv.pth
    /work/lzenv/bin/pip install --no-deps lightzero==0.2.0 DI-engine==0.5.3
    echo torch==2.15.0 > /tmp/lz-constraints.txt   # keep pip off torch
    /work/lzenv/bin/pip install -c /tmp/lz-constraints.txt 'gymnasium[atari]==0.28.0' \\
        'numpy<2,>=1.24.1' pympler minigrid moviepy pytest line_profiler xxhash einops openai \\
        'yapf==0.29.0' 'gym==0.25.1' 'DI-treetensor>=0.4.0' 'DI-toolkit>=0.1.0' trueskill \\
        'tensorboardX>=2.2' 'wandb<=0.19.0' matplotlib 'easydict>=1.9' pyyaml enum-tools \\
        cloudpickle hickle tabulate 'click>=7.0.0' 'flask<=2.0.3' 'werkzeug<=2.0.3' requests \\
        responses URLObject pynng sniffio redis 'mpire>=2.3.5'

Run on a quiet machine, in the same sitting as reverie's run: LightZero's 8 + 3 env
workers and its torch threads share the cores with anything else running, and beside
other jobs (load ~5.5 on the 2 cores) 2 OpenMP threads wait on each other at every small
op: an update took ~3 s on 2 threads against ~0.4 s on `--threads 1`.

    /work/lzenv/bin/python benches/lightzero_muzero.py                  # 10 minutes, CartPole-v0
    /work/lzenv/bin/python benches/lightzero_muzero.py --minutes 10 --env-id CartPole-v1

LightZero's own logs (its learner, collector and evaluator tables) go to the console as
usual. The last line printed is one JSON object: `env_steps` (transitions the collector's
envs stepped, in the budget), `wall_s`, `env_steps_per_min`, `best_eval_return` and
`last_eval_return` (mean over the 3 evaluation episodes; the first evaluation is the
untrained agent's), `evals`, `train_iters` (gradient updates), `collector_envstep`
(LightZero's own count, of completed rounds only), the seconds spent collecting
(`collect_s`, MCTS included), sampling batches (`sample_s`: the game buffer computes the
value and policy targets there, with the target network), in gradient updates (`train_s`)
and evaluating (`eval_s`), and `solved_s`/`solved_env_steps` (null if never solved).
"""

import argparse
import json
import os
import shutil
import sys
import tempfile
import threading
import time


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="wall-clock budget (default 10)")
    parser.add_argument("--env-id", choices=["CartPole-v0", "CartPole-v1"], default="CartPole-v0",
                        help="LightZero's config uses CartPole-v0 (default)")
    parser.add_argument("--threads", type=int, default=2, help="torch/OpenMP/MKL threads (default 2)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--stop-when-solved", action="store_true",
                        help="end at the first evaluation at the solved threshold, as LightZero does")
    parser.add_argument("--keep-logs", action="store_true", help="keep the experiment directory under /tmp")
    return parser.parse_args()


ARGS = parse_args()
# Before torch (and numpy's BLAS) load, so that OpenMP and MKL size their pools from these
for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = str(ARGS.threads)

import numpy as np  # noqa: E402
import torch  # noqa: E402


class Budget(Exception):
    """Raised at the first check after the deadline: unwinds `train_muzero`."""


class State:
    def __init__(self, minutes):
        self.start = None
        self.deadline = None
        self.budget_s = minutes * 60.0
        self.env_steps = 0  # collector transitions stepped
        self.train_episodes = 0
        self.train_returns = []  # returns of the collector's episodes in the current round
        self.last_train_return = None
        self.evals = []  # (seconds, env_steps, mean return)
        self.collect_s = 0.0
        self.train_s = 0.0
        self.sample_s = 0.0
        self.eval_s = 0.0
        self.train_iters = 0
        self.solved = None  # (seconds, env_steps)
        self.collector = None
        self.env_managers = []
        self.stopped_by = "budget"

    def begin(self):
        self.start = time.perf_counter()
        self.deadline = self.start + self.budget_s

    def elapsed(self):
        return time.perf_counter() - self.start

    def check(self):
        if time.perf_counter() >= self.deadline:
            raise Budget()


S = State(ARGS.minutes)


def timed(attr, fn):
    def wrapper(*args, **kwargs):
        t = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            setattr(S, attr, getattr(S, attr) + time.perf_counter() - t)
    return wrapper


def instrument():
    """Subclasses of LightZero's collector, evaluator and learner that count and check the
    clock, put in place of the names `train_muzero` uses; the training loop is untouched."""
    import importlib

    # The module, not the function of the same name that `lzero.entry` re-exports
    entry = importlib.import_module("lzero.entry.train_muzero")
    from ding.worker import BaseLearner

    base_collector, base_evaluator = entry.Collector, entry.Evaluator
    base_create_env_manager = entry.create_env_manager

    def create_env_manager(*args, **kwargs):
        manager = base_create_env_manager(*args, **kwargs)
        S.env_managers.append(manager)
        return manager

    class Collector(base_collector):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            S.collector = self
            step = self._env.step

            def counted_step(actions):
                S.check()
                timesteps = step(actions)
                S.env_steps += len(timesteps)
                for timestep in timesteps.values():
                    if timestep.done and "eval_episode_return" in timestep.info:
                        S.train_episodes += 1
                        S.train_returns.append(float(np.asarray(timestep.info["eval_episode_return"]).sum()))
                return timesteps

            self._env.step = counted_step

        def collect(self, *args, **kwargs):
            S.train_returns = []
            data = timed("collect_s", super().collect)(*args, **kwargs)
            if S.train_returns:
                S.last_train_return = round(float(np.mean(S.train_returns)), 2)
            return data

    class Evaluator(base_evaluator):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            step = self._env.step

            def checked_step(actions):
                S.check()
                return step(actions)

            self._env.step = checked_step

        def eval(self, *args, **kwargs):
            S.check()
            stop, info = timed("eval_s", super().eval)(*args, **kwargs)
            if info and "eval_episode_return" in info:
                ret = float(np.mean(info["eval_episode_return"]))
            else:
                ret = float(info["eval_episode_return_mean"])
            envstep = S.collector.envstep if S.collector is not None else 0
            ret = round(ret, 2)
            S.evals.append((round(S.elapsed(), 1), S.env_steps, ret))
            train_iter = args[1] if len(args) > 1 else kwargs.get("train_iter", 0)
            if S.solved is None and ret >= SOLVED_AT and train_iter > 0:
                S.solved = (S.elapsed(), S.env_steps)
            print(f"[lightzero_muzero] eval at {S.elapsed():.0f}s, env steps {S.env_steps} "
                  f"(collector {envstep}), return {ret:.1f}", flush=True)
            if stop:
                S.stopped_by = "solved"
            return (stop if ARGS.stop_when_solved else False), info

    class Learner(BaseLearner):
        def train(self, *args, **kwargs):
            S.check()
            out = timed("train_s", super().train)(*args, **kwargs)
            S.train_iters += 1
            return out

    # `train_muzero` imports its game buffer class inside the function: wrap the method
    from lzero.mcts import MuZeroGameBuffer

    sample = MuZeroGameBuffer.sample

    def checked_sample(self, *args, **kwargs):
        S.check()
        return timed("sample_s", sample)(self, *args, **kwargs)

    MuZeroGameBuffer.sample = checked_sample
    entry.Collector, entry.Evaluator, entry.BaseLearner = Collector, Evaluator, Learner
    entry.create_env_manager = create_env_manager
    return entry.train_muzero


def result():
    wall = S.elapsed()
    returns = [r for _, _, r in S.evals]
    return {
        "name": "LightZero MuZero",
        "env_id": ARGS.env_id,
        "env_steps": S.env_steps,
        "wall_s": round(wall, 1),
        "env_steps_per_min": round(S.env_steps / wall * 60, 1),
        "best_eval_return": max(returns) if returns else None,
        "last_eval_return": returns[-1] if returns else None,
        "evals": len(returns),
        "eval_curve": S.evals,
        "last_train_return": S.last_train_return,
        "train_episodes": S.train_episodes,
        "train_iters": S.train_iters,
        "collector_envstep": S.collector.envstep if S.collector is not None else 0,
        "collect_s": round(S.collect_s, 1),
        "sample_s": round(S.sample_s, 1),
        "train_s": round(S.train_s, 1),
        "eval_s": round(S.eval_s, 1),
        "solved_at": SOLVED_AT,
        "solved_s": round(S.solved[0], 1) if S.solved else None,
        "solved_env_steps": S.solved[1] if S.solved else None,
        "stopped_by": S.stopped_by,
        "budget_s": S.budget_s,
        "threads": torch.get_num_threads(),
        "seed": ARGS.seed,
        "torch": torch.__version__,
        "lightzero": LZ_VERSION,
    }


def finish(code=0):
    print(json.dumps(result()), flush=True)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def watchdog():
    while True:
        time.sleep(1.0)
        if S.deadline is not None and time.perf_counter() > S.deadline + 60:
            S.stopped_by = "watchdog"
            finish(0)


def main():
    global SOLVED_AT, LZ_VERSION
    torch.set_num_threads(ARGS.threads)
    import lzero
    from zoo.classic_control.cartpole.config.cartpole_muzero_config import (
        create_config, main_config, max_env_step)

    LZ_VERSION = lzero.__version__
    cfg = main_config
    cfg.policy.cuda = False
    cfg.env.env_id = ARGS.env_id
    if ARGS.env_id == "CartPole-v1":
        cfg.env.stop_value = 475
    SOLVED_AT = cfg.env.stop_value
    workdir = tempfile.mkdtemp(prefix="lightzero-muzero-", dir="/tmp")
    os.chdir(workdir)  # `train_muzero` writes under './{exp_name}'
    cfg.exp_name = f"cartpole_muzero_ns{cfg.policy.num_simulations}_upc{cfg.policy.update_per_collect}_seed{ARGS.seed}"
    train_muzero = instrument()
    print(f"[lightzero_muzero] LightZero {LZ_VERSION}, torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"{ARGS.env_id}, budget {S.budget_s:.0f}s, logs in {workdir}", flush=True)

    threading.Thread(target=watchdog, daemon=True).start()
    S.begin()
    try:
        train_muzero([cfg, create_config], seed=ARGS.seed, model_path=cfg.policy.model_path, max_env_step=max_env_step)
        if S.stopped_by == "budget":
            S.stopped_by = "max_env_step"
    except Budget:
        S.stopped_by = "budget"
    wall = S.elapsed()
    S.elapsed = lambda: wall
    # Close the env workers (forked children of this process); if that hangs, the watchdog ends it
    S.deadline = time.perf_counter() - 40
    for manager in S.env_managers:
        try:
            manager.close()
        except Exception:
            pass
    if not ARGS.keep_logs:
        shutil.rmtree(workdir, ignore_errors=True)
    finish(0)


SOLVED_AT = None
LZ_VERSION = None

if __name__ == "__main__":
    main()
