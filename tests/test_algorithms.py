"""Tests of deap_nos.search.algorithms with toy individuals (lists of ints)."""
import os
import pickle
import random

import numpy
import pytest
from deap import base, creator, tools

from deap_nos import checkpoint as ckpt
from deap_nos.search.algorithms import (any_failure, eaParticle, eaRegularized, eliminate,
                                        genome_key, initial_population, stage1_failed)
from deap_nos.search.checkpoint import CheckpointError
from deap_nos.errors import NOSError
from deap_nos.evaluation import FAILED_FITNESS, Evaluation
from deap_nos.search.runlog import read_log

if not hasattr(creator, "ToyFitness"):
    creator.create("ToyFitness", base.Fitness, weights=(1.0,))
    creator.create("ToyIndividual", list, fitness=creator.ToyFitness)

GENES, VALUES = 8, 10


def toy_individual():
    return creator.ToyIndividual(random.randrange(VALUES) for _ in range(GENES))


def toy_mutate(individual, kinds=None):
    """Set one gene (among *kinds*, positions, if given); numpy's RNG picks the value."""
    positions = list(kinds) if kinds is not None else range(len(individual))
    i = random.choice(list(positions))
    individual[i] = int(numpy.random.randint(VALUES))
    return (individual,)


def toy_evaluate(individual):
    """Deterministic; sum % 7 == 0 fails stage 1 ("integrity"), % 11 fails "train"."""
    total = sum(individual)
    if total % 7 == 0:
        return Evaluation.failure("degenerate", "integrity")
    if total % 11 == 0:
        return Evaluation.failure("nan loss", "train")
    score = sum(v * (i + 1) for i, v in enumerate(individual)) % 97 / 97.0
    return Evaluation((score,), {"stage": "done"})


def make_toolbox(mapper=map, evaluate=toy_evaluate):
    toolbox = base.Toolbox()
    toolbox.register("individual", toy_individual)
    toolbox.register("mutate", toy_mutate)
    toolbox.register("evaluate", evaluate)
    toolbox.register("map", mapper)
    return toolbox


def fitness_of(ind):
    return ind.fitness.values[0]


def make_stats():
    stats = tools.Statistics(fitness_of)
    stats.register("max", max)
    stats.register("min", min)
    return stats


def seeded_population(seed, n=4):
    random.seed(seed)
    numpy.random.seed(seed)
    return [toy_individual() for _ in range(n)]


class Counting:
    """An evaluator counting its calls per genome."""

    def __init__(self, evaluate=toy_evaluate):
        self.calls, self.evaluate = {}, evaluate

    def __call__(self, ind):
        key = genome_key(ind)
        self.calls[key] = self.calls.get(key, 0) + 1
        return self.evaluate(ind)


class StreamingMap:
    """A serial map with ``imap``, as :class:`ProcessMap` streams; records call sizes."""

    def __init__(self):
        self.calls = []

    def __call__(self, func, *iterables):
        return list(self.imap(func, *iterables))

    def imap(self, func, *iterables):
        items = list(zip(*iterables))
        self.calls.append(len(items))
        for args in items:
            yield func(*args)


# ----------------------------------------------------------------------- genome_key
def test_genome_key_list_and_fingerprint():
    assert genome_key(creator.ToyIndividual([1, 2])) == "[1, 2]"

    class G:
        def fingerprint(self):
            return "abc"
    assert genome_key(G()) == "abc"
    assert genome_key((1, 2)) == "(1, 2)"


# ----------------------------------------------------------------------- eaParticle
def test_particle_runs_and_logs(tmp_path):
    pop = seeded_population(1)
    hof = tools.HallOfFame(3)
    counting = Counting()
    toolbox = make_toolbox(evaluate=counting)
    final, logbook = eaParticle(pop, toolbox, nsteps=3, nmut=3, stats=make_stats(),
                                halloffame=hof, verbose=False, checkpoint=tmp_path / "run")
    assert len(final) == 4 and len(logbook) == 4
    assert logbook.select("gen") == [0, 1, 2, 3]
    assert all(v == 1 for v in counting.calls.values())      # nothing evaluated twice
    total = sum(logbook.select("nevals"))
    assert total == len(counting.calls)
    log = read_log(tmp_path / "run" / "evaluations.log")
    assert len(log) == total
    assert {e["key"] for e in log} == set(counting.calls)
    assert hof[0].fitness.values[0] == max(e["fitness"][0] for e in log)
    # each step has n*nmut children + redone
    for rec in logbook[1:]:
        assert rec["nevals"] + rec["cached"] == 4 * 3 + rec["redone"]


def test_particle_aging_moves_to_best_child_even_if_worse():
    # evaluator rewards only the initial genome; every child is worse
    start = creator.ToyIndividual([0] * GENES)

    def evaluate(ind):
        return (1.0,) if list(ind) == [0] * GENES else (0.1 + sum(ind) / 1000.0,)
    random.seed(3)
    numpy.random.seed(3)
    final, _ = eaParticle([start], make_toolbox(evaluate=evaluate), nsteps=1, nmut=4,
                          verbose=False)
    assert final[0].fitness.values[0] < 1.0
    assert list(final[0]) != [0] * GENES


def test_particle_redo_stage1_failures():
    def evaluate(ind):
        if sum(ind) % 2:   # half the genomes fail stage 1
            return Evaluation.failure("nan in sweep", "sweep")
        return (sum(ind) / 100.0,)
    pop = seeded_population(2, n=3)
    _, logbook = eaParticle(pop, make_toolbox(evaluate=evaluate), nsteps=2, nmut=4,
                            verbose=False, redo=4)
    assert sum(logbook.select("redone")) > 0
    # a predicate that never fires disables redo
    pop = seeded_population(2, n=3)
    _, logbook = eaParticle(pop, make_toolbox(evaluate=evaluate), nsteps=2, nmut=4,
                            verbose=False, redo_if=lambda ind: False)
    assert sum(logbook.select("redone")) == 0


def test_particle_redo_bounded():
    def evaluate(ind):
        return Evaluation.failure("always", "integrity")
    pop = seeded_population(4, n=2)
    _, logbook = eaParticle(pop, make_toolbox(evaluate=evaluate), nsteps=1, nmut=3,
                            verbose=False, redo=2)
    assert logbook[1]["redone"] == 2 * 2 * 3


def test_stage_predicates():
    ind = creator.ToyIndividual([1])
    ind.info = {"failed": True, "stage": "train"}
    assert not stage1_failed(ind) and any_failure(ind)
    ind.info = {"failed": True, "stage": "integrity"}
    assert stage1_failed(ind)
    ind.info = {"failed": False, "stage": "sweep"}
    assert not stage1_failed(ind) and not any_failure(ind)


def test_particle_lineage_children_unique():
    seen_per_step = []

    def evaluate(ind):
        seen_per_step.append(genome_key(ind))
        return (0.5,)
    pop = [creator.ToyIndividual([0] * GENES)]
    eaParticle(pop, make_toolbox(evaluate=evaluate), nsteps=3, nmut=5, verbose=False)
    assert len(seen_per_step) == len(set(seen_per_step)) == 1 + 3 * 5


def test_particle_mutate_kwargs_and_given_particles():
    adam = creator.ToyIndividual([5] * GENES)
    pop = [creator.ToyIndividual(adam) for _ in range(3)]
    random.seed(0)
    numpy.random.seed(0)
    final, logbook = eaParticle(pop, make_toolbox(), nsteps=2, nmut=3, verbose=False,
                                mutate_kwargs={"kinds": (0, 1)})
    assert logbook[0]["nevals"] == 1 and logbook[0]["cached"] == 2
    for ind in final:
        assert list(ind[2:]) == [5] * (GENES - 2)


def test_particle_same_seed_same_run():
    runs = []
    for _ in range(2):
        hof = tools.HallOfFame(2)
        _, logbook = eaParticle(seeded_population(5), make_toolbox(), nsteps=3, nmut=3,
                                stats=make_stats(), halloffame=hof, verbose=False)
        runs.append((str(logbook), [list(i) for i in hof]))
    assert runs[0] == runs[1]
    _, other = eaParticle(seeded_population(6), make_toolbox(), 3, 3, verbose=False)
    assert str(other) != runs[0][0]


def test_seed_argument():
    a = eaParticle(seeded_population(1), make_toolbox(), 2, 2, verbose=False, seed=9)[1]
    b = eaParticle(seeded_population(1), make_toolbox(), 2, 2, verbose=False, seed=9)[1]
    assert str(a) == str(b)


@pytest.mark.parametrize("kwargs", [dict(nsteps=2, nmut=0), dict(nsteps=-1, nmut=2),
                                    dict(nsteps=2, nmut=2, redo=-1),
                                    dict(nsteps=2, nmut=2.5),
                                    dict(nsteps=2, nmut=2, checkpoint_every=0)])
def test_particle_bad_arguments(kwargs):
    with pytest.raises(NOSError):
        eaParticle(seeded_population(1), make_toolbox(), verbose=False, **kwargs)


def test_empty_population():
    with pytest.raises(NOSError):
        eaParticle([], make_toolbox(), 1, 1, verbose=False)


def test_resume_errors(tmp_path):
    with pytest.raises(CheckpointError, match="no checkpoint"):
        eaParticle(seeded_population(1), make_toolbox(), 1, 1, verbose=False,
                   resume=tmp_path / "missing.pkl")
    eaRegularized(seeded_population(1), make_toolbox(), 4, 2, verbose=False,
                  checkpoint=tmp_path / "reg")
    with pytest.raises(CheckpointError, match="eaRegularized"):
        eaParticle(seeded_population(1), make_toolbox(), 1, 1, verbose=False,
                   resume=tmp_path / "reg")
    with pytest.raises(CheckpointError, match="sample_size"):
        eaRegularized(seeded_population(1), make_toolbox(), 4, 3, verbose=False,
                      resume=tmp_path / "reg")
    (tmp_path / "junk.pkl").write_bytes(b"not a pickle")
    with pytest.raises(CheckpointError):
        eaParticle(seeded_population(1), make_toolbox(), 1, 1, verbose=False,
                   resume=tmp_path / "junk.pkl")


def test_nan_fitness_is_failure():
    def evaluate(ind):
        return (float("nan"),)
    final, logbook = eaParticle(seeded_population(1, n=2), make_toolbox(evaluate=evaluate),
                                1, 2, verbose=False, redo=0)
    assert final[0].fitness.values == (FAILED_FITNESS,)
    assert final[0].info["failed"] and "non-numeric" in final[0].info["reason"]
    assert logbook[1]["failures"] == 4


def test_evaluate_must_return_tuple():
    with pytest.raises(NOSError, match="tuple"):
        eaParticle(seeded_population(1), make_toolbox(evaluate=lambda ind: 0.5), 1, 1,
                   verbose=False)


def test_verbose_progress_bar(capsys):
    eaParticle(seeded_population(1, n=2), make_toolbox(), 1, 2, verbose=True)
    captured = capsys.readouterr()
    assert "evaluations" in captured.err and "gen" in captured.out and "nevals" in captured.out


# --------------------------------------------------------------------- eaRegularized
def test_regularized_ages_and_keeps_size():
    pop = seeded_population(7, n=5)
    hof = tools.HallOfFame(1)
    counting = Counting()
    final, logbook = eaRegularized(pop, make_toolbox(evaluate=counting), cycles=23,
                                   sample_size=3, batch_size=4, halloffame=hof,
                                   stats=make_stats(), verbose=False)
    assert len(final) == 5
    assert logbook.select("cycle") == [0, 4, 8, 12, 16, 20, 23]
    assert sum(r["nevals"] + r["cached"] for r in logbook[1:]) == 23
    assert all(v == 1 for v in counting.calls.values())
    assert all(ind not in pop or ind is not pop[0] for ind in final)  # oldest gone
    assert hof[0].fitness.values[0] >= max(i.fitness.values[0] for i in final)


def test_regularized_oldest_removed_first():
    pop = seeded_population(8, n=4)
    final, _ = eaRegularized(pop, make_toolbox(), cycles=2, sample_size=2, batch_size=1,
                             verbose=False)
    assert final[:2] == pop[2:]


def test_regularized_batch_default_from_map_workers():
    class WorkersMap:
        workers = 3
        batches = []

        def __call__(self, func, items):
            items = list(items)
            self.batches.append(len(items))
            return [func(i) for i in items]
    mapper = WorkersMap()
    eaRegularized(seeded_population(1, n=4), make_toolbox(mapper), 7, 2, verbose=False)
    assert mapper.batches[0] == 4 and max(mapper.batches[1:]) <= 3


def test_regularized_bad_arguments():
    with pytest.raises(NOSError, match="sample_size"):
        eaRegularized(seeded_population(1, n=2), make_toolbox(), 5, 3, verbose=False)
    with pytest.raises(NOSError):
        eaRegularized(seeded_population(1, n=2), make_toolbox(), 5, 1, batch_size=0,
                      verbose=False)


# -------------------------------------------------------------- initial_population
def test_initial_population_keeps_best():
    random.seed(0)
    toolbox = make_toolbox()
    best = initial_population(toolbox, 3, factor=5)
    assert len(best) == 3
    values = [i.fitness.values[0] for i in best]
    assert values == sorted(values, reverse=True)


def test_initial_population_cheap_evaluator_invalidates():
    random.seed(0)
    best = initial_population(make_toolbox(), 2, factor=4,
                              evaluate=lambda ind: (float(sum(ind)),))
    assert all(not i.fitness.valid for i in best)
    assert best[0].info["screen"][0] >= best[1].info["screen"][0]


# ------------------------------------------------------------------------ eliminate
def test_eliminate_stages_and_repeats():
    cands = [creator.ToyIndividual([v] * 3) for v in range(6)]
    calls = []

    def noisy(ind):
        calls.append(ind[0])
        return (ind[0] + (1 if len(calls) % 2 else -1) * 0.25,)
    survivors = eliminate(cands, [(noisy, 4, 2), (toy_evaluate, 2)])
    assert len(survivors) == 2
    assert calls.count(0) == 2 and len(calls) == 12
    assert all(len(s.info["elimination"]) == 2 for s in survivors)
    assert {s[0] for s in survivors} <= {2, 3, 4, 5}


def test_eliminate_bad_stage():
    with pytest.raises(NOSError):
        eliminate([creator.ToyIndividual([1])], [(toy_evaluate,)])
    with pytest.raises(NOSError):
        eliminate([creator.ToyIndividual([1])], [(toy_evaluate, 0)])


# ------------------------------------------- initial phase: checkpoint, resume, cache
def two_phase(toolbox, run=None, resume=None, n=4, factor=6, checkpoint_every=None):
    """initial_population then eaParticle in one run folder; a comparable result."""
    random.seed(21)
    numpy.random.seed(21)
    pop = initial_population(toolbox, n, factor=factor, checkpoint=run, resume=resume,
                             checkpoint_every=checkpoint_every)
    hof = tools.HallOfFame(4)
    pop, logbook = eaParticle(pop, toolbox, nsteps=2, nmut=3, stats=make_stats(),
                              halloffame=hof, verbose=False, checkpoint=run,
                              resume=resume, checkpoint_every=checkpoint_every)
    return (str(logbook), [(list(i), i.fitness.values) for i in hof],
            [list(i) for i in pop], random.random())


def test_initial_population_checkpoint_shares_cache(tmp_path):
    straight = two_phase(make_toolbox())
    counting = Counting()
    run = tmp_path / "run"
    assert two_phase(make_toolbox(evaluate=counting), run) == straight
    assert all(v == 1 for v in counting.calls.values())   # none evaluated twice
    log = read_log(run / "evaluations.log")
    assert [e["phase"] for e in log[:24]] == ["initial_population"] * 24
    assert {e["phase"] for e in log[24:]} == {"eaParticle"}
    assert sorted(e["key"] for e in log) == sorted(counting.calls)
    assert set(ckpt.read_cache(run)) == set(counting.calls)
    # the initial phase kept the best 4 with their fitness: eaParticle's step 0 is free
    state = ckpt.load(run / "checkpoint.pkl")
    assert state["finished"]
    assert pickle.loads(state["snapshot"])["logbook"][0]["nevals"] == 0


class Interrupt(Exception):
    pass


class Bomb:
    """toy_evaluate that raises after `after` calls (an interrupted run)."""

    def __init__(self, after):
        self.after, self.calls = after, []

    def __call__(self, ind):
        if len(self.calls) >= self.after:
            raise Interrupt()
        self.calls.append(genome_key(ind))
        return toy_evaluate(ind)


def committed_cache(run):
    """The cache entries the newest checkpoint of a run folder commits."""
    name = "checkpoint.pkl" if os.path.exists(run / "checkpoint.pkl") else "initial.pkl"
    return ckpt.read_cache(run, ckpt.load(run / name)["cache_offset"])


@pytest.mark.parametrize("mapper", [map, StreamingMap], ids=["map", "streaming"])
@pytest.mark.parametrize("after", [0, 7, 23, 24, 30])
def test_two_phase_interrupt_and_resume_equals_straight(tmp_path, after, mapper):
    """Killed after *after* evaluations (chunks of 5, or one stream committed every 5),
    then resumed: the same run as a straight one, nothing committed evaluated twice."""
    straight = two_phase(make_toolbox())
    run = tmp_path / "run"
    bomb = Bomb(after)
    with pytest.raises(Interrupt):
        two_phase(make_toolbox(map if mapper is map else mapper(), evaluate=bomb), run,
                  checkpoint_every=5)
    committed = set(committed_cache(run))
    assert committed <= set(bomb.calls) and len(bomb.calls) - len(committed) < 5
    counting = Counting()
    random.seed(999)                      # resume restores the RNG states itself
    assert two_phase(make_toolbox(evaluate=counting), resume=run,
                     checkpoint_every=5) == straight
    assert not set(counting.calls) & committed           # nothing committed re-run
    log = read_log(run / "evaluations.log")
    assert len(log) == len({e["key"] for e in log}) == len(set(bomb.calls)
                                                         | set(counting.calls))


def test_a_streaming_map_gets_each_evaluation_in_one_call(tmp_path):
    """With ``map.imap`` the engine hands over all of a step's missing genomes at once
    (no worker waits at a chunk's end) and still commits every ``checkpoint_every``:
    the same run as a plain map, and a checkpoint per chunk."""
    streaming = StreamingMap()
    saves = []
    original = ckpt.save

    def counting_save(path, *args, **kwargs):
        saves.append(os.path.basename(path))
        return original(path, *args, **kwargs)
    ckpt.save = counting_save
    try:
        result = two_phase(make_toolbox(streaming), tmp_path / "run", checkpoint_every=5)
    finally:
        ckpt.save = original
    assert result == two_phase(make_toolbox())
    assert max(streaming.calls) > 5                 # whole steps, not chunks of 5
    evaluated = len(read_log(tmp_path / "run" / "evaluations.log"))
    assert evaluated == sum(streaming.calls)
    assert len(saves) >= evaluated // 5             # still committed chunk by chunk


def test_initial_population_resume_finished_returns_stored(tmp_path):
    run = tmp_path / "run"
    straight = two_phase(make_toolbox(), run)
    size = os.path.getsize(run / "cache.pkl")
    calls = []
    random.seed(5)
    again = initial_population(make_toolbox(evaluate=calls.append), 4, factor=6,
                               resume=run)
    assert calls == [] and len(again) == 4
    assert os.path.getsize(run / "cache.pkl") == size   # the later phase's cache kept
    assert two_phase(make_toolbox(evaluate=calls.append), resume=run) == straight
    assert calls == []


def test_resume_needs_finished_initial_phase(tmp_path):
    run = tmp_path / "run"
    with pytest.raises(Interrupt):
        initial_population(make_toolbox(evaluate=Bomb(8)), 4, factor=6, checkpoint=run)
    with pytest.raises(CheckpointError, match="did not finish"):
        eaParticle(seeded_population(1), make_toolbox(), 1, 1, verbose=False,
                   resume=run)
    with pytest.raises(CheckpointError, match="n=4"):
        initial_population(make_toolbox(), 5, factor=6, resume=run)
    # a resume of a folder where the phase never checkpointed starts it
    fresh = initial_population(make_toolbox(), 2, factor=2, resume=tmp_path / "new")
    assert len(fresh) == 2 and os.path.exists(tmp_path / "new" / "initial.pkl")


def test_screening_results_are_not_fitness_cache(tmp_path):
    run = tmp_path / "run"
    random.seed(0)

    def screen(ind):
        return (float(sum(ind)),)
    best = initial_population(make_toolbox(), 2, factor=4, evaluate=screen,
                              checkpoint=run)
    assert all(not i.fitness.valid for i in best)
    assert ckpt.read_cache(run) == {}                      # nothing from toolbox.evaluate
    assert len(ckpt.read_cache(run, namespace="screen")) == 8
    counting = Counting()
    eaParticle(best, make_toolbox(evaluate=counting), 1, 2, verbose=False,
               checkpoint=run)
    assert all(genome_key(i) in counting.calls for i in best)
    phases = [e["phase"] for e in read_log(run / "evaluations.log")]
    assert phases[:8] == ["initial_population:screen"] * 8


def test_cache_file_torn_tail_and_append_only(tmp_path):
    run = tmp_path / "run"
    with pytest.raises(Interrupt):
        two_phase(make_toolbox(evaluate=Bomb(12)), run, checkpoint_every=5)
    state = ckpt.load(run / "initial.pkl")
    with open(run / "cache.pkl", "ab") as stream:
        stream.write(b"\x80\x05torn")                      # killed mid-append
    assert len(ckpt.read_cache(run)) == 10                 # tail ignored
    assert len(ckpt.read_cache(run, state["cache_offset"])) == 10
    assert two_phase(make_toolbox(), resume=run, checkpoint_every=5) == \
        two_phase(make_toolbox())


def test_format1_checkpoint_still_resumes(tmp_path):
    run = tmp_path / "run"
    with pytest.raises(Interrupt):
        eaParticle(seeded_population(3), make_toolbox(evaluate=Bomb(9)), 2, 3,
                   verbose=False, checkpoint=run, checkpoint_every=2)
    state = ckpt.load(run / "checkpoint.pkl")
    state["cache"] = ckpt.read_cache(run, state.pop("cache_offset"))
    state["format"] = 1
    ckpt.save(run / "checkpoint.pkl", state)
    os.remove(run / "cache.pkl")
    resumed = eaParticle(seeded_population(0), make_toolbox(), 2, 3, verbose=False,
                         resume=run)[1]
    straight = eaParticle(seeded_population(3), make_toolbox(), 2, 3, verbose=False)[1]
    assert str(resumed) == str(straight)
    assert len(ckpt.read_cache(run)) == sum(straight.select("nevals"))


# ----------------------------------------------------------- DEAP's logbook keys
def test_logbooks_use_deaps_gen_and_nevals_keys():
    """Both algorithms log DEAP's ``gen`` / ``nevals`` first, as eaSimple does, so
    code written for DEAP's logbooks (``logbook.select("gen", "nevals")``) works."""
    stats = make_stats()
    _, particle = eaParticle(seeded_population(3), make_toolbox(), nsteps=2, nmut=2,
                             stats=stats, verbose=False)
    assert particle.header[:2] == ["gen", "nevals"]
    assert particle.select("gen") == [0, 1, 2]
    assert "evals" not in particle.header and "step" not in particle.header
    assert {"cached", "failures", "redone"} <= set(particle.header)
    _, regular = eaRegularized(seeded_population(3, n=4), make_toolbox(), cycles=6,
                               sample_size=2, batch_size=4, stats=stats, verbose=False)
    assert regular.header[:3] == ["gen", "nevals", "cycle"]
    assert regular.select("gen") == [0, 1, 2] and regular.select("cycle") == [0, 4, 6]
    for book in (particle, regular):
        for record in book:
            assert record["nevals"] + record["cached"] >= 0 and "evals" not in record
