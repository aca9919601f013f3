"""The paper's Adam-variant experiments (Section 3.5): every particle starts from Adam.

    python examples/adam_variants.py [--schedules-only] [--evaluator cheap]

All genes mutable finds Adam variants such as A1 = clip(v_hat, sqrt_abs(s_hat));
``--schedules-only`` lets only decay genes mutate, so what is found are internal decays
and learning-rate schedules for Adam (how LR1–LR9 arose).

The last line is ``best fitness F``: the best validation accuracy found. Measured with
``--evaluator cheap`` (softmax regression on the digits, which saturates near 0.96;
Adam itself scores 0.96 there), seeds 0/1/2: all genes 0.9631 / 0.9631 / 0.9615 at the
test's sizes (``--particles 2 --steps 1 --mutations 2``) and 0.9631 / 0.9648 / 0.9615 at
the default sizes; ``--schedules-only`` 0.9631 / 0.9631 / 0.9615 and 0.9648 / 0.9648 /
0.9631. tests/test_examples.py asks for at least 0.93.

The default ConvNet evaluator (MNIST-1D) was not measured here (minutes per run;
particle_search.py: 0.9855 at seed 0).
"""
from deap import tools

import deap_nos as nos
from _common import evaluator, finish, parser, particle_options, start, statistics

ADAM = "div(v_hat, sqrt_abs(s_hat))"


def main():
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--schedules-only", action="store_true",
                   help="mutate decay genes only (learning-rate-schedule experiment)")
    particle_options(p)
    args = p.parse_args()
    start(args)
    space = nos.SearchSpace.default()
    kinds = ("decay",) if args.schedules_only else None
    toolbox = nos.make_toolbox(space, evaluator(args.evaluator, space, args.seed),
                               args.workers, kinds=kinds)
    adam = nos.parse(ADAM, space, cls=nos.individual_class())
    particles = [toolbox.clone(adam) for _ in range(args.particles)]
    hof = tools.HallOfFame(3)
    particles, _ = nos.eaParticle(particles, toolbox, nsteps=args.steps,
                                  nmut=args.mutations, stats=statistics(), halloffame=hof,
                                  checkpoint=args.run_dir)
    finish(toolbox, hof, "Best Adam variants")
    for ind in hof:
        for index, position, decay in ind.decays():
            print(f"  {ind}: decay on node {index} input {position}: {decay}")


if __name__ == "__main__":
    main()
