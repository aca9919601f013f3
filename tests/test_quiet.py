"""TensorFlow's start-up notices stay out of the output of the command and its workers."""
import os
import subprocess
import sys
import textwrap

import pytest

import deap_nos
from deap_nos import quiet

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(deap_nos.__file__)))

#: What TensorFlow prints when it loads (the CPU and the CUDA wheels).
STARTUP = ("oneDNN", "absl::InitializeLog", "cpu_feature_guard",
           "This TensorFlow binary is optimized", "Unable to register cuDNN",
           "Unable to register cuBLAS", "Unable to register cuFFT",
           "computation placer already registered", "Could not find cuda drivers",
           "failed call to cuInit")


def clean_env(**extra):
    """The test's environment as a user's: no log level, no inherited choice."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("TF_CPP_MIN_LOG_LEVEL", quiet.ENV)}
    # this copy of deap_nos, also where it is not the installed one
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [ROOT, env.get("PYTHONPATH")]))
    env.update(extra)
    return env


def run_python(code, tmp_path, **env):
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=tmp_path,
                          env=clean_env(**env), capture_output=True, text=True,
                          timeout=300, check=False)


def assert_no_startup_lines(text):
    found = [line for line in text.splitlines() if any(p in line for p in STARTUP)]
    assert not found, "TensorFlow start-up lines in the output:\n" + "\n".join(found)


def test_captured_stderr_drops_notices_and_replays_the_rest(capfd):
    with quiet.captured_stderr() as lines:
        os.write(2, b"WARNING: All log messages before absl::InitializeLog() is called "
                    b"are written to STDERR\n")
        os.write(2, b"I0000 port.cc:153] oneDNN custom operations are on. ...\n")
        os.write(2, b"E0000 a real error\n")
    assert len(lines) == 3
    assert capfd.readouterr().err == "E0000 a real error\n"


def test_lines_of_a_failing_body_are_kept(capfd):
    with pytest.raises(ImportError):
        with quiet.captured_stderr():
            os.write(2, b"I0000 cpu_feature_guard.cc:227] This TensorFlow binary is ...\n")
            os.write(2, b"libcudart.so: cannot open shared object file\n")
            raise ImportError("no TensorFlow")
    assert capfd.readouterr().err == "libcudart.so: cannot open shared object file\n"


def test_first_import_runs_captured_and_keeps_its_loader(tmp_path):
    (tmp_path / "noisy_tf.py").write_text(textwrap.dedent("""
        import os
        os.write(2, b"I0000 cpu_feature_guard.cc:227] This TensorFlow binary is "
                    b"optimized to use available CPU instructions\\n")
        os.write(2, b"a real problem\\n")
    """))
    result = run_python("""
        import sys
        from deap_nos import quiet
        quiet._ROOTS = ("noisy_tf",)
        quiet.quiet_tensorflow()
        import noisy_tf
        import os
        print(type(noisy_tf.__loader__).__name__, os.environ["TF_CPP_MIN_LOG_LEVEL"],
              os.environ["DEAP_NOS_QUIET_TF"])
    """, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr == "a real problem\n"
    assert result.stdout.split() == ["SourceFileLoader", "2", "1"]


def test_the_users_choices_are_kept(tmp_path):
    result = run_python("""
        import os, sys
        from deap_nos import quiet
        quiet.quiet_tensorflow()
        print(os.environ["TF_CPP_MIN_LOG_LEVEL"],
              any(type(f).__name__ == "_QuietImport" for f in sys.meta_path))
    """, tmp_path, TF_CPP_MIN_LOG_LEVEL="0")
    assert result.stdout.split() == ["0", "True"]
    off = run_python("""
        import os, sys
        from deap_nos import quiet
        quiet.quiet_tensorflow()
        print(os.environ.get("TF_CPP_MIN_LOG_LEVEL"),
              any(type(f).__name__ == "_QuietImport" for f in sys.meta_path))
    """, tmp_path, DEAP_NOS_QUIET_TF="0")
    assert off.stdout.split() == ["None", "False"]


def test_tensorflow_and_keras_load_silently(tmp_path):
    result = run_python("""
        from deap_nos.backends.tensorflow.quiet import quiet_tensorflow
        quiet_tensorflow()
        import keras
        import tensorflow as tf
        value = tf.function(lambda x: x * 3.0, jit_compile=True)(tf.constant(2.0))
        print(float(value))
    """, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "6.0"
    assert_no_startup_lines(result.stderr)


def test_process_map_workers_load_tensorflow_silently(tmp_path):
    # a spawned worker inherits the choice through the environment, a forked one
    # through the import hook; neither prints TensorFlow's notices
    result = run_python("""
        from deap_nos.search.parallel import ProcessMap
        from deap_nos.backends.tensorflow.quiet import quiet_tensorflow

        def work(x):
            import tensorflow as tf
            return float(tf.constant(x) + 1.0)

        if __name__ == "__main__":
            quiet_tensorflow()
            for method in ("spawn", "fork"):
                with ProcessMap(1, start_method=method, gpus=None) as pmap:
                    print(method, pmap(work, [1.0]))
    """, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["spawn", "[2.0]", "fork", "[2.0]"]
    assert_no_startup_lines(result.stderr)


@pytest.mark.slow
def test_search_output_holds_no_tensorflow_startup_lines(tmp_path):
    # the real command, as a user runs it: no log level set, two worker processes
    # (each loads TensorFlow), the ConvNet evaluator
    command = [sys.executable, "-m", "deap_nos.cli", "search", "--preset", "quick",
               "--evaluator", "single", "--train-steps", "20", "--particles", "1",
               "--steps", "1", "--mutations", "1", "--factor", "1", "--top", "1",
               "--reevaluate", "1", "--no-verdict", "--workers", "2", "--seed", "3",
               "--run-dir", str(tmp_path / "run")]
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True,
                            env=clean_env(),
                            timeout=900, check=False)
    assert result.returncode == 0, result.stderr
    assert "evaluations" in result.stderr and "Adam" in result.stdout
    assert_no_startup_lines(result.stdout + result.stderr)
