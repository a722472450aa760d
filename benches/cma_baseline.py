"""pycma (the CMA-ES reference implementation by Hansen) timed on the workload of
`reverie bench cmaes`: generations of ask + tell on a random score, no evaluation.

Install once (not by CI): python -m venv venv && venv/bin/pip install cma numpy
Run:  venv/bin/python benches/cma_baseline.py            # prints one CSV row per case
"""
import sys
import time

import cma
import numpy as np

CASES = [(138, 32), (578, 32), (867, 64)]  # (parameters, population), as in reverie's table


def generations_per_second(dim, population, generations=400):
    es = cma.CMAEvolutionStrategy(np.zeros(dim), 0.1, {"popsize": population, "verbose": -9, "seed": 1})
    rng = np.random.default_rng(0)
    # Warm up past the first eigendecomposition.
    for _ in range(3):
        xs = es.ask()
        es.tell(xs, list(rng.standard_normal(len(xs))))
    start = time.perf_counter()
    for _ in range(generations):
        xs = es.ask()
        es.tell(xs, list(rng.standard_normal(len(xs))))
    return generations / (time.perf_counter() - start)


if __name__ == "__main__":
    print("parameters,population,generations_per_s")
    for dim, population in CASES:
        print(f"{dim},{population},{generations_per_second(dim, population):.1f}")
        sys.stdout.flush()
