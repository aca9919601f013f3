"""Regularized (aging) evolution, Real et al. 2019 — the paper's baseline — on MNIST-1D.

    python examples/regularized_evolution.py [--evaluator cheap] [--workers 2]

The last line is ``best fitness F``: the best validation accuracy found. Measured with
``--evaluator cheap`` (softmax regression on the digits, which saturates near 0.96):
0.9615 / 0.9631 / 0.9581 (seeds 0/1/2) at the test's sizes (``--population 3 --cycles
3``; tests/test_examples.py asks for at least 0.93), 0.9648 / 0.9615 / 0.9665 at the
default sizes (population 6, 8 cycles).

The default ConvNet evaluator (MNIST-1D) was not measured here (minutes per run;
particle_search.py: 0.9855 at seed 0).
"""
from deap import tools

import deap_nos as nos
from _common import evaluator, finish, parser, start, statistics


def main():
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--population", type=int, default=6)
    p.add_argument("--cycles", type=int, default=8)
    p.add_argument("--sample-size", type=int, default=3)
    args = p.parse_args()
    start(args)
    space = nos.SearchSpace.default()
    toolbox = nos.make_toolbox(space, evaluator(args.evaluator, space, args.seed), args.workers)
    hof = tools.HallOfFame(3)
    population = [toolbox.individual() for _ in range(args.population)]
    population, logbook = nos.eaRegularized(population, toolbox, cycles=args.cycles,
                                            sample_size=args.sample_size,
                                            stats=statistics(), halloffame=hof,
                                            checkpoint=args.run_dir)
    finish(toolbox, hof)


if __name__ == "__main__":
    main()
