"""How many slots fill a device (deap_nos.evaluation.slots): the rule, and the measurement."""
import pytest

from deap_nos.errors import NOSError
from deap_nos.evaluation.slots import DeviceFull, saturating_slots


def curve(rates, full_at=None):
    """A throughput function from a table; DeviceFull from ``full_at`` slots on."""
    calls = []

    def throughput(k):
        calls.append(k)
        if full_at is not None and k >= full_at:
            raise DeviceFull(f"{k} slots")
        return rates[k]
    return throughput, calls


def test_doubling_stops_where_it_no_longer_pays():
    # 16 → 32 → 64 each ≥ 1.1×; 128 gives 320 < 1.1 × 300: K = 64, 256 never tried
    throughput, calls = curve({16: 100.0, 32: 190.0, 64: 300.0, 128: 320.0, 256: 900.0})
    k, table = saturating_slots(throughput)
    assert k == 64 and calls == [16, 32, 64, 128]
    assert table == [(16, 100.0), (32, 190.0), (64, 300.0), (128, 320.0)]


def test_out_of_memory_ends_the_search_at_the_last_k_that_fit():
    throughput, calls = curve({16: 100.0, 32: 190.0, 64: 300.0}, full_at=128)
    k, table = saturating_slots(throughput)
    assert k == 64 and table[-1] == (128, None) and calls == [16, 32, 64, 128]


def test_gain_threshold_and_custom_candidates():
    throughput, _ = curve({1: 100.0, 2: 125.0, 4: 140.0})
    assert saturating_slots(throughput, (1, 2, 4), gain=1.1)[0] == 4
    assert saturating_slots(throughput, (1, 2, 4), gain=1.3)[0] == 1


def test_nothing_fits_names_the_fix():
    throughput, _ = curve({}, full_at=1)
    with pytest.raises(NOSError, match="smaller slots"):
        saturating_slots(throughput, (16, 32))


def test_cpu_measures_nothing(monkeypatch):
    pytest.importorskip("tensorflow")
    from deap_nos import slots
    from deap_nos.evaluation.population import PopulationEvaluator

    monkeypatch.setattr(slots, "run_steps_per_second",
                        lambda *a, **k: pytest.fail("measured on a CPU"))
    assert slots.fill_device(PopulationEvaluator.preset("quick", slots=1)) == (1, [])


@pytest.mark.slow
def test_measured_on_the_real_trainer_with_a_copy_of_the_evaluator():
    """The probe trains K real slots (a copy of the evaluator sharing its data) and
    reports positive rates; the evaluator itself keeps its K and its trainer."""
    pytest.importorskip("tensorflow")
    from deap_nos import slots
    from deap_nos.evaluation.population import PopulationEvaluator

    evaluator = PopulationEvaluator.preset("quick", slots=1)
    own = evaluator.trainer()
    twin = evaluator.with_slots(3)
    assert twin.slots == 3 and twin.map_batch == 6 and evaluator.slots == 1
    assert twin.dataset() is evaluator.dataset()
    assert twin.trainer().w.shape[0] == 3 and evaluator.trainer() is own
    k, table = slots.fill_device(evaluator, candidates=(1, 2), steps=5, gain=1.1)
    rates = dict(table)
    assert set(rates) <= {1, 2} and all(rate > 0 for rate in rates.values())
    assert k == (2 if len(rates) == 2 and rates[2] >= 1.1 * rates[1] else 1)


@pytest.mark.slow
def test_probe_runs_in_a_child_process_and_leaves_this_one_alone():
    pytest.importorskip("tensorflow")
    from deap_nos.search.parallel import tensorflow_running
    from deap_nos.evaluation.population import PopulationEvaluator
    from deap_nos.evaluation.slots import probe_slots

    running = tensorflow_running()
    k, table = probe_slots(PopulationEvaluator.preset("quick", slots=1), candidates=(1, 2),
                           steps=5)
    assert k in (1, 2) and [n for n, _ in table][:1] == [1]
    assert tensorflow_running() == running


def test_an_allocation_failure_is_device_full_and_other_errors_are_not():
    tf = pytest.importorskip("tensorflow")
    from deap_nos import slots

    class Twin:
        def __init__(self, error):
            self.error, self._cache = error, {}

        def trainer(self):
            raise self.error

    class Evaluator:
        def __init__(self, error):
            self.error = error

        def with_slots(self, k):
            return Twin(self.error)

    oom = tf.errors.ResourceExhaustedError(None, None, "OOM when allocating tensor")
    with pytest.raises(DeviceFull, match="64 slots: OOM when allocating"):
        slots.run_steps_per_second(Evaluator(oom), 64)
    xla_oom = tf.errors.InternalError(None, None, "RESOURCE_EXHAUSTED: Out of memory")
    with pytest.raises(DeviceFull):
        slots.run_steps_per_second(Evaluator(xla_oom), 64)
    bug = tf.errors.InternalError(None, None, "a bug in a kernel")
    with pytest.raises(tf.errors.InternalError):
        slots.run_steps_per_second(Evaluator(bug), 64)
