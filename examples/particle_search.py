"""Particle-GA search (arXiv 2404.06679, Algorithm 1) on MNIST-1D (cheap, quick: digits).

    python examples/particle_search.py [--evaluator cheap] [--workers 2]

An initial population of factor·n random genomes is evaluated and the best n become
particles; each particle then moves, at every step, to the best of its m mutants.

The last line is ``best fitness F``: the best validation accuracy found. Measured with
``--evaluator cheap`` (softmax regression on the digits, which saturates near 0.96):
0.9648 / 0.9631 / 0.9648 (seeds 0/1/2) at the test's sizes (``--particles 2 --steps 1
--mutations 2``; tests/test_examples.py asks for at least 0.93), 0.9631 / 0.9648 /
0.9665 at the default sizes. As shipped (the default ConvNet evaluator on MNIST-1D, 2
workers): 0.9855 (seed 0, one run of 32 evaluations, 10 minutes on two busy cores; too
long for the tests).
"""
from deap import tools

import deap_nos as nos
from _common import evaluator, finish, parser, particle_options, start, statistics


def main():
    p = parser(__doc__.splitlines()[0])
    particle_options(p)
    args = p.parse_args()
    start(args)
    space = nos.SearchSpace.default()
    toolbox = nos.make_toolbox(space, evaluator(args.evaluator, space, args.seed), args.workers)
    hof = tools.HallOfFame(3)
    particles = nos.initial_population(toolbox, args.particles, factor=3,
                                       checkpoint=args.run_dir)
    particles, logbook = nos.eaParticle(particles, toolbox, nsteps=args.steps,
                                        nmut=args.mutations, stats=statistics(),
                                        halloffame=hof, checkpoint=args.run_dir)
    finish(toolbox, hof)


if __name__ == "__main__":
    main()
