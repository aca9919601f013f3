"""The paper's Adam-variant experiments (Section 3.5): every particle starts from Adam.

    python examples/adam_variants.py [--schedules-only] [--evaluator cheap]

All genes mutable finds Adam variants such as A1 = clip(v_hat, sqrt_abs(s_hat));
``--schedules-only`` lets only decay genes mutate, so what is found are internal decays
and learning-rate schedules for Adam (how LR1–LR9 arose).
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
