"""The run's progress bar (tqdm): counts, growing totals, terminals and log files."""
import io

from deap_nos.search.runlog import ProgressBar


class Terminal(io.StringIO):
    """A stream that says it is a terminal."""

    def isatty(self):
        return True


def test_log_output_is_a_few_plain_lines_ending_with_the_count():
    stream = io.StringIO()
    bar = ProgressBar(1000, stream=stream)
    for _ in range(1000):
        bar.update()
    bar.close()
    text = stream.getvalue()
    lines = text.splitlines()
    assert "\r" not in text and text.endswith("\n")
    assert 1 <= len(lines) <= 5
    assert "1000/1000" in lines[-1] and "eval/s" in lines[-1]
    assert bar.done == 1000


def test_log_output_writes_a_line_per_interval():
    stream = io.StringIO()
    bar = ProgressBar(3, stream=stream, interval=0)
    for _ in range(3):
        bar.update()
    bar.close()
    counts = [line.split("|")[-1].split()[0] for line in stream.getvalue().splitlines()]
    assert counts[:4] == ["0/3", "1/3", "2/3", "3/3"]


def test_totals_that_grow_are_shown():
    stream = io.StringIO()
    bar = ProgressBar(10, stream=stream)
    bar.update(4)
    bar.add_total(5)                 # re-drawn mutants
    bar.update(11)
    assert (bar.done, bar.total) == (15, 15)
    bar.close()
    assert "15/15" in stream.getvalue().splitlines()[-1]


def test_a_resumed_count_starts_the_bar():
    stream = io.StringIO()
    bar = ProgressBar(10, stream=stream)
    bar.done = 4                     # restored from a checkpoint before any update
    bar.total = max(bar.total, 12)
    bar.update()
    bar.close()
    assert "5/12" in stream.getvalue().splitlines()[-1]


def test_disabled_prints_nothing_but_counts():
    stream = io.StringIO()
    bar = ProgressBar(5, stream=stream, enabled=False)
    bar.update(3)
    bar.add_total(2)
    bar.draw(force=True)
    bar.clear()
    bar.close()
    assert stream.getvalue() == ""
    assert (bar.done, bar.total) == (3, 7)


def test_nothing_is_drawn_before_the_first_update():
    stream = io.StringIO()
    bar = ProgressBar(5, stream=stream)
    bar.clear()
    bar.close()
    assert stream.getvalue() == ""


def test_a_terminal_gets_a_bar_redrawn_in_place_and_erased_for_messages():
    stream = Terminal()
    bar = ProgressBar(4, stream=stream)
    bar.update()
    bar.clear()
    erased = stream.getvalue()
    assert erased.startswith("\r") and "/4 [" in erased     # redrawn at most every 0.1 s
    assert erased.endswith("\r") and not erased.split("\r")[-2].strip()
    stream.write("step 1 line\n")    # what the engine prints between clear and draw
    bar.draw(force=True)
    bar.update(3)
    bar.close()
    text = stream.getvalue()
    assert "step 1 line\n\r" in text and text.endswith("\n")
    assert "4/4" in text.split("\r")[-1]


def test_messages_between_clear_and_draw_add_no_lines_to_a_log():
    stream = io.StringIO()
    bar = ProgressBar(4, stream=stream)
    bar.update()
    for _ in range(3):               # the engine's logbook lines
        bar.clear()
        bar.draw(force=True)
    bar.update(3)
    bar.close()
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2 and "4/4" in lines[-1]


# ------------------------------------------- issue 22: one bar for the whole run
def _bar_lines(err):
    return [line for line in err.splitlines() if line.startswith("evaluations:")]


def _counts(line):
    done, total = line.split("|")[-1].split()[0].split("/")
    return int(done), int(total)


def _reported(run_dir):
    import re
    report = (run_dir / "report.md").read_text()
    return int(re.search(r"(\d+) evaluations", report).group(1))


def _check_one_bar(err, run_dir):
    lines = _bar_lines(err)
    assert lines, err
    done, total = _counts(lines[-1])
    assert done == total == _reported(run_dir), lines
    return lines


def test_one_bar_from_the_initial_population_to_the_reported_count(tmp_path):
    """The bar starts before the first evaluation of the initial population (before
    the first logbook line) and ends at the evaluations the report counts."""
    from test_runs import CHEAP, _run
    run_dir = tmp_path / "run"
    done = _run(run_dir, CHEAP)
    assert done.returncode == 0, done.stderr
    lines = _check_one_bar(done.stderr, run_dir)
    assert _counts(lines[0])[0] == 0
    totals = {_counts(line)[1] for line in lines}
    assert min(totals) >= 12, "the initial population is not in the bar"


def test_the_bar_of_a_resumed_run_ends_at_the_reported_count(tmp_path):
    import signal
    from test_runs import CHEAP, _kill, _run, _start, _wait_for_lines
    run_dir = tmp_path / "run"
    proc = _start(run_dir, CHEAP)
    _wait_for_lines(proc, run_dir, 25)
    _kill(proc, signal.SIGKILL)
    resumed = _run(run_dir, CHEAP, resume=True)
    assert resumed.returncode == 0, resumed.stderr
    lines = _check_one_bar(resumed.stderr, run_dir)
    # a resumed run replays its interrupted step from the step's start: the bar starts
    # at the evaluations done before that step — at least the initial population (12),
    # whichever step the kill fell in — never at 0, and only grows from there
    counts = [_counts(line)[0] for line in lines]
    assert counts[0] >= 12, "the bar forgot the evaluations before the kill"
    assert counts == sorted(counts), lines
