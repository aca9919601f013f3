"""The deap-nos command end to end, on tiny settings."""
import json
import os
import subprocess
import sys

from deap_nos.cli import main

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY = ["--preset", "cheap", "--train-steps", "60", "--workers", "1", "--quiet"]


def test_show_prints_equation_graph_decays_and_json(capsys, tmp_path):
    png = tmp_path / "g.png"
    assert main(["show", "nesterov: bessel_i1e(bessel_i1e(decay(g, mul(a13, a2))))",
                 "--plot", str(png)]) == 0
    out = capsys.readouterr().out
    assert "equation:  nesterov: bessel_i1e(bessel_i1e(decay(g, mul(a13, a2))))" in out
    assert "h0 = bessel_i1e(g × mul(a13, a2))" in out
    assert "node 0 input 0: mul(a13, a2)" in out
    assert json.loads(out.split("json:", 1)[1].splitlines()[0])["momentum"] == "nesterov"
    assert png.stat().st_size > 1000


def test_show_reads_zoo_names_and_genome_files(capsys, tmp_path):
    assert main(["show", "Opt6"]) == 0
    assert "dtanh(a8)" in capsys.readouterr().out
    path = tmp_path / "g.json"
    import deap_nos as nos
    path.write_text(nos.parse("clip(v_hat, sqrt_abs(s_hat))").to_json())
    assert main(["show", str(path)]) == 0
    assert "equation:  clip(v_hat, sqrt_abs(s_hat))" in capsys.readouterr().out


def test_check_reports_losses_and_exit_code(capsys):
    assert main(["check", "div(v_hat, sqrt_abs(s_hat))"]) == 0
    out = capsys.readouterr().out
    assert "passes" in out and out.count("final loss") == 6
    assert main(["check", "one"]) == 1
    assert "fails" in capsys.readouterr().out
    assert main(["check", "neg(g)"]) == 0
    assert "sign flipped" in capsys.readouterr().out


def test_bad_genome_is_a_one_line_error(capsys):
    assert main(["show", "div(v_hat"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("deap-nos: error:") and "Traceback" not in err


def test_wrong_flag_is_a_one_line_error():
    out = subprocess.run([sys.executable, "-m", "deap_nos.cli", "search", "--bogus"],
                         capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 2
    assert out.stderr.strip().count("\n") == 0 and "unrecognized arguments" in out.stderr


def test_missing_cifar_directory_is_a_one_line_error(capsys, tmp_path):
    code = main(["search", "--data", "cifar10", "--data-dir", str(tmp_path / "nowhere"),
                 "--preset", "quick", "--run-dir", str(tmp_path / "run")])
    assert code == 2
    err = capsys.readouterr().err
    assert "cifar-10-batches-py" in err and "Traceback" not in err


def test_every_help_runs():
    for command in ([], ["search"], ["verdict"], ["compare"], ["show"], ["check"], ["plot"]):
        out = subprocess.run([sys.executable, "-m", "deap_nos.cli", *command, "--help"],
                             capture_output=True, text=True, cwd=ROOT)
        assert out.returncode == 0 and "usage: deap-nos" in out.stdout


def _search(run, *extra):
    return main(["search", *TINY, "--particles", "2", "--steps", "1", "--mutations", "2",
                 "--factor", "2", "--run-dir", str(run), *extra])


def test_search_writes_a_run_folder_and_resume_reproduces_it(capsys, tmp_path):
    run = tmp_path / "run"
    assert _search(run) == 0
    report = capsys.readouterr().out
    for name in ("report.md", "hall_of_fame.json", "evaluations.log", "checkpoint.pkl",
                 "settings.json", "progress.png", "best_genome.png", "best_decays.png"):
        assert (run / name).exists(), name
    hof = json.loads((run / "hall_of_fame.json").read_text())
    best = hof["best"][0]
    assert best["equation"] in report and f"{best['fitness']:.4f}" in report
    assert hof["baseline"]["Adam"]["equation"] == "div(v_hat, sqrt_abs(s_hat))"
    assert "| Adam |" in report
    evaluations = len((run / "evaluations.log").read_text().splitlines())
    assert evaluations >= 2 * 2 + 2 * 2

    assert main(["search", *TINY, "--particles", "2", "--steps", "1", "--mutations", "2",
                 "--factor", "2", "--resume", str(run)]) == 0
    again = json.loads((run / "hall_of_fame.json").read_text())
    assert again["best"] == hof["best"]
    assert len((run / "evaluations.log").read_text().splitlines()) == evaluations

    assert main(["plot", str(run)]) == 0
    assert "progress.png" in capsys.readouterr().out


def test_regularized_search(tmp_path, capsys):
    run = tmp_path / "reg"
    assert main(["search", *TINY, "--algorithm", "regularized", "--population", "3",
                 "--cycles", "3", "--sample-size", "2", "--run-dir", str(run)]) == 0
    assert "regularized" in (run / "report.md").read_text()


def test_resume_of_a_missing_folder_is_an_error(capsys, tmp_path):
    assert main(["search", *TINY, "--resume", str(tmp_path / "none")]) == 2
    assert "no such run folder" in capsys.readouterr().err


def test_plot_of_a_non_run_folder_is_an_error(capsys, tmp_path):
    assert main(["plot", str(tmp_path)]) == 2
    assert "not a run folder" in capsys.readouterr().err


def test_compare_prints_and_saves_a_table(tmp_path, capsys):
    out = tmp_path / "cmp"
    assert main(["compare", "AdamSpace", "keras:sgd", "LR1", "--preset", "quick",
                 "--train-steps", "100", "--repeats", "2", "--quiet", "--out", str(out)]) == 0
    table = capsys.readouterr().out
    assert "| AdamSpace |" in table and "| keras:sgd |" in table and "±" in table
    import csv
    with open(out / "comparison.csv", newline="", encoding="utf-8") as stream:
        rows = list(csv.reader(stream))
    assert rows[0] == ["optimizer", "mean", "std", "lr", "failure"] and len(rows) == 4
    assert float(rows[1][1]) > 0.5


import pytest  # noqa: E402  (the population evaluator's tests, issue 11)


def test_search_picks_the_population_evaluator_where_it_applies():
    from deap_nos.cli import build_parser, make_evaluator
    from deap_nos.errors import NOSError
    from deap_nos.evaluation.population import PopulationEvaluator

    def evaluator(*argv):
        return make_evaluator(build_parser().parse_args(["search", *argv]))

    default = evaluator("--preset", "default", "--slots", "3")
    assert isinstance(default, PopulationEvaluator) and default.slots == 3
    from deap_nos.cli.common import default_slots
    assert evaluator("--preset", "default").slots == default_slots()

    single = evaluator("--preset", "default", "--evaluator", "single")
    assert type(single).__name__ == "SurrogateEvaluator"
    assert type(evaluator("--preset", "cheap")).__name__ == "DigitsEvaluator"
    assert type(evaluator("--preset", "authors")).__name__ == "SurrogateEvaluator"
    with pytest.raises(NOSError, match="--evaluator single"):
        evaluator("--preset", "authors", "--evaluator", "population")


def test_default_slots_follow_the_device(monkeypatch, capsys):
    """1 on CPUs without measuring; on a GPU the probe's K (printed with its table),
    which the command's evaluator then has."""
    from deap_nos import parallel, slots
    from deap_nos.cli import build_parser, make_evaluator
    from deap_nos.cli.common import default_slots

    def probe(evaluator, gpu):
        probed.append((evaluator.slots, gpu))
        return 64, [(16, 900.0), (32, 1700.0), (64, 3000.0), (128, 3100.0)]
    probed = []
    monkeypatch.setattr(slots, "probe_slots", probe)
    monkeypatch.setattr(parallel, "detect_gpus", lambda: [])
    assert default_slots() == 1 and probed == []
    args = build_parser().parse_args(["search", "--preset", "default"])
    assert make_evaluator(args).slots == 1 and probed == []
    monkeypatch.setattr(parallel, "detect_gpus", lambda: ["3"])
    assert default_slots() == 16 and probed == []
    evaluator = make_evaluator(args)
    assert evaluator.slots == 64 and evaluator.map_batch == 128
    assert probed == [(1, "3")]
    assert "K=128: 3,100; using --slots 64" in capsys.readouterr().err
    args = build_parser().parse_args(["search", "--preset", "default", "--slots", "8"])
    assert make_evaluator(args).slots == 8 and len(probed) == 1


def test_cpu_default_spreads_genomes_over_worker_processes(monkeypatch):
    """On CPUs each of --workers processes trains one run at a time on its share of the
    cores; with --slots > 1 one process trains each map call's genomes side by side."""
    from deap_nos import parallel, slots
    from deap_nos.cli import build_parser
    from deap_nos.cli.search import _search_toolbox
    from deap_nos.evaluation.population import PopulationEvaluator

    monkeypatch.setattr(parallel, "detect_gpus", lambda: [])
    monkeypatch.setattr(parallel, "usable_cpus", lambda: 8)

    def toolbox(*argv):
        return _search_toolbox(build_parser().parse_args(["search", "--preset", "default",
                                                          *argv]))[0]

    spread = toolbox("--workers", "2")
    pool = spread.map.func
    assert isinstance(pool, parallel.ProcessMap) and pool.workers == 2 and pool.threads == 4
    monkeypatch.setattr(parallel, "available_memory", lambda: 64 << 30)
    per_core = toolbox().map.func                      # the default: one per core
    assert per_core.workers == 8 and per_core.threads == 1
    assert isinstance(spread.evaluate.func, PopulationEvaluator)
    assert spread.evaluate.func.slots == 1
    alone = toolbox("--workers", "1", "--slots", "4")
    assert type(alone.map.func).__name__ == "BatchMap" and alone.map.func.pool is None
    assert alone.map.func.evaluator.slots == 4
    together = toolbox("--workers", "2", "--slots", "4")
    assert together.map.func.pool.workers == 2 and together.map.workers == 2 * 2 * 8
    monkeypatch.setattr(parallel, "detect_gpus", lambda: ["0", "1", "2"])
    per_gpu = toolbox("--workers", "2", "--slots", "4").map.func.pool
    assert per_gpu.workers == 3 and per_gpu.gpus == ["0", "1", "2"] and per_gpu.threads is None
    monkeypatch.setattr(parallel, "detect_gpus", lambda: ["0"])
    monkeypatch.setattr(slots, "probe_slots", lambda evaluator, gpu: (32, [(16, 1.0)]))
    one_gpu = toolbox("--workers", "2").map.func                 # one GPU: in-process
    assert one_gpu.pool is None and one_gpu.evaluator.slots == 32


@pytest.mark.slow
def test_population_search_end_to_end(tmp_path, capsys):
    run = tmp_path / "pop"
    assert main(["search", "--preset", "default", "--train-steps", "40", "--slots", "4",
                 "--particles", "2", "--steps", "1", "--mutations", "2", "--factor", "2",
                 "--no-verdict", "--reevaluate", "1", "--quiet", "--run-dir", str(run)]) == 0
    assert (run / "hall_of_fame.json").exists()


# ----------------------------------------------------------------- issue 22: flags
def _cli(*argv, cwd=ROOT):
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-m", "deap_nos.cli", *argv], capture_output=True,
                          text=True, cwd=cwd, env=env, timeout=300)


import pytest  # noqa: E402


@pytest.mark.parametrize("argv, flag", [
    (["--seed", "-1"], "--seed"),
    (["--seed", "4294967296"], "--seed"),
    (["--preset", "quick", "--data", "mnist1d", "--data-dir", "."], "--data-dir"),
    (["--preset", "quick", "--data", "digits", "--data-dir", "."], "--data-dir"),
    (["--preset", "default", "--data-dir", "."], "--data-dir"),
    (["--preset", "cheap", "--data-dir", "."], "--data-dir"),
])
def test_bad_flags_are_refused_before_anything_starts(tmp_path, argv, flag):
    """Issue 22: one line naming the flag, exit 2, no run folder, no TensorFlow."""
    run = tmp_path / "run"
    out = _cli("search", *argv, "--run-dir", str(run), "--no-verdict")
    assert out.returncode == 2, out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and flag in lines[0] and "Traceback" not in out.stderr, out.stderr
    assert not run.exists(), "a refused command wrote a run folder"


def test_seed_bounds_are_accepted(tmp_path):
    from deap_nos.cli.parser import build_parser
    for seed in ("0", "4294967295"):
        args = build_parser().parse_args(["search", "--seed", seed])
        assert args.seed == int(seed)


def test_version_flag():
    import deap_nos
    out = _cli("--version")
    assert out.returncode == 0
    assert out.stdout.strip().startswith(f"deap-nos {deap_nos.__version__}")


def test_help_says_run_folders_are_pickles_to_be_trusted():
    out = _cli("search", "--help")
    text = " ".join(out.stdout.split())
    resume = text[text.index("--resume RUN continue"):]
    assert "pickle" in resume[:400] and "trust" in resume[:400]


def test_run_folder_records_command_line_times_and_git_revision(tmp_path, capsys):
    run = tmp_path / "run"
    assert _search(run) == 0
    settings = json.loads((run / "settings.json").read_text())
    assert settings["command_line"][:2] == ["deap-nos", "search"]
    assert "--run-dir" in settings["command_line"]
    assert settings["started"] <= settings["finished"]
    git = subprocess.run(["git", "-C", ROOT, "rev-parse", "HEAD"], capture_output=True,
                         text=True)
    assert settings["environment"]["git_revision"] == git.stdout.strip()


@pytest.mark.parametrize("extra, preset, limit", [
    ((), "cheap", 60.0), ((), "quick", 900.0), (("--time-limit", "5"), "cheap", 5.0),
    (("--time-limit", "0"), "cheap", None)])
def test_time_limit_reaches_the_worker_pool(extra, preset, limit):
    """--time-limit (default per preset) is the pool's per-evaluation limit."""
    from deap_nos.cli.parser import build_parser
    from deap_nos.cli.search import _search_toolbox
    from deap_nos.search.engine import registered
    args = build_parser().parse_args(["search", "--preset", preset, "--workers", "2",
                                      "--evaluator", "single", *extra])
    toolbox, _, _ = _search_toolbox(args)
    assert registered(toolbox.map).timeout == limit
    assert args.time_limit == (limit or 0.0)      # what settings.json records
