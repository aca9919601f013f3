"""Draw the learning-rate schedules found for Adam (LR1–LR9) and the decay functions of a
discovered optimizer against the base one-cycle schedule, as the paper's Figures 3–6.

    python examples/plot_schedules.py [--out figures] [--steps 8000]
"""
import argparse
import os

import deap_nos as nos
from deap_nos.keras import OneCycle


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default="figures", help="folder for the PNG files")
    p.add_argument("--steps", type=int, default=8000, help="training steps T")
    p.add_argument("--optimizer", default="Opt6", help="zoo genome whose decays to draw")
    args = p.parse_args()
    os.makedirs(args.out, exist_ok=True)
    warmup = args.steps // 10
    base = OneCycle(1e-3, args.steps, warmup)
    schedules = {name: nos.zoo.schedule(name, 1e-3, args.steps, warmup)
                 for name in [f"LR{k}" for k in range(1, 10)]}
    path = os.path.join(args.out, "lr_schedules.png")
    nos.plots.plot_schedules(schedules, args.steps, path, base=base)
    print(f"LR1–LR9 against the one-cycle base (peak 1e-3): {path}")

    genome = nos.zoo.genome(args.optimizer)
    path = os.path.join(args.out, f"{args.optimizer}_decays.png")
    nos.plots.plot_decays(genome, args.steps, warmup, path=path)
    print(f"decay functions of {args.optimizer} = {genome}: {path}")
    factors = nos.keras.lr_multiplier(genome)
    if factors:
        print(f"  they factor out of the update as a learning-rate multiplier: {factors}")


if __name__ == "__main__":
    main()
