"""The one generational strategy (deap_nos.generational) that eaTermMix and eaAutoLR
preset: against DEAP's own eaSimple, elitism, the ask/tell contract, resume."""
import random

import pytest
from deap import algorithms, base, creator, tools

from deap_nos.errors import NOSError, UnknownNameError
from deap_nos.generational import (Generational, eaGenerational, preset_from,
                                   selTournamentDistinct, varOne)
from deap_nos.spaces.termmix.algorithm import eaTermMix

if not hasattr(creator, "GenFitness"):
    creator.create("GenFitness", base.Fitness, weights=(1.0,))
    creator.create("GenIndividual", list, fitness=creator.GenFitness)


def toolbox(size=5):
    tb = base.Toolbox()
    tb.register("individual", tools.initRepeat, creator.GenIndividual, random.random, size)
    tb.register("population", tools.initRepeat, list, tb.individual)
    tb.register("evaluate", lambda ind: (-sum((x - 0.7) ** 2 for x in ind),))
    tb.register("mate", tools.cxTwoPoint)
    tb.register("mutate", tools.mutGaussian, mu=0.0, sigma=0.1, indpb=0.3)
    tb.register("select", tools.selTournament, tournsize=3)
    return tb


def _population(seed, n=10):
    random.seed(seed)
    return toolbox().population(n)


def test_without_elites_it_is_deaps_easimple():
    """elite=0, tournament selection and varAnd: exactly DEAP's eaSimple."""
    tb = toolbox()
    ours, _ = eaTermMix(_population(3), tb, 6, 0.6, 0.4, verbose=False, tournsize=3,
                        elite=0)
    theirs, _ = algorithms.eaSimple(_population(3), tb, 0.6, 0.4, 6, verbose=False)
    assert [list(i) for i in ours] == [list(i) for i in theirs]
    assert [i.fitness.values for i in ours] == [i.fitness.values for i in theirs]


def test_elites_survive_and_the_best_never_drops():
    tb = toolbox()
    stats = tools.Statistics(lambda ind: ind.fitness.values[0])
    stats.register("max", max)
    strategy = Generational.varAnd(tb, tournsize=2, cxpb=0.5, mutpb=0.9, elite=2)
    pop, log = eaGenerational(_population(4), tb, 8, strategy, stats, verbose=False)
    best = log.select("max")
    assert len(pop) == 10 and len(best) == 9
    assert all(b >= a for a, b in zip(best, best[1:]))


def test_generate_then_update():
    tb = toolbox()
    pop = _population(5, n=6)
    for ind in pop:
        ind.fitness.values = tb.evaluate(ind)
    best = max(pop, key=lambda i: i.fitness)
    strategy = Generational.varAnd(tb, elite=1)
    children = strategy.generate(pop)
    assert len(children) == 5
    nxt = strategy.update(children)
    assert nxt[0] == best and nxt[0] is not best and nxt[1:] == children
    with pytest.raises(NOSError, match="before generate"):
        strategy.update(children)
    with pytest.raises(NOSError, match="elite"):
        Generational.varAnd(tb, elite=6).generate(pop)
    with pytest.raises(NOSError, match="cxpb"):
        Generational.sge(tb, cxpb=1.5)


def test_sge_operators():
    random.seed(0)
    pop = _population(6, n=8)
    for i, ind in enumerate(pop):
        ind.fitness.values = (float(i),)
    winners = selTournamentDistinct(pop, 50, tournsize=8)
    assert all(w is pop[-1] for w in winners)            # distinct aspirants: the best
    tb = toolbox()
    calls = []
    tb.register("mutate", lambda ind, rate: calls.append(rate) or (ind,))
    children = varOne(pop[:4], tb, cxpb=0.0, mutpb=0.25)
    assert calls == [0.25] * 4 and [list(c) for c in children] == [list(p) for p in pop[:4]]
    assert not any(c.fitness.valid for c in children)


def test_resumed_equals_straight(tmp_path):
    tb = toolbox()

    class Stop(Exception):
        pass

    calls = {"n": 0}

    def bomb(ind):
        calls["n"] += 1
        if calls["n"] > 23:
            raise Stop()
        return tb.evaluate(ind)

    def run(evaluate, **kw):
        box = toolbox()
        box.register("evaluate", evaluate)
        strategy = Generational.sge(box, tournsize=3, cxpb=0.9, mutpb=0.5, elite=1)
        box.register("mutate", lambda ind, rate: tools.mutGaussian(ind, 0, 0.1, rate))
        return eaGenerational(_population(8), box, 5, strategy, verbose=False,
                              name="test", **kw)

    straight, _ = run(tb.evaluate)
    with pytest.raises(Stop):
        run(bomb, checkpoint=tmp_path / "r", checkpoint_every=3)
    random.seed(99)
    resumed, _ = run(tb.evaluate, resume=tmp_path / "r", checkpoint_every=3)
    assert [list(i) for i in resumed] == [list(i) for i in straight]


def test_preset_from():
    assert preset_from({"a": {"x": 1}}, "a", "test") == {"x": 1}
    with pytest.raises(UnknownNameError, match="unknown test preset 'b'; known: a"):
        preset_from({"a": {}}, "b", "test")
