"""Tests of deap_nos.data: the CIFAR-10 reader, the embedded digits, augmentation, pipelines."""
import os
import pickle
import subprocess
import sys

import numpy as np
import pytest

from deap_nos import data
from deap_nos.errors import DataError, UnknownNameError

PER_FILE = 20


def _write_cifar(directory, per_file=PER_FILE, seed=0):
    """Write small files in the CIFAR-10 python format; return the expected images/labels."""
    rng = np.random.default_rng(seed)
    directory = os.path.join(directory, data.CIFAR_DIRNAME)
    os.makedirs(directory)
    all_rows, all_labels = [], []
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        rows = rng.integers(0, 256, size=(per_file, 3072), dtype=np.uint8)
        labels = [int(v) for v in rng.integers(0, 10, size=per_file)]
        with open(os.path.join(directory, name), "wb") as fh:
            pickle.dump({b"batch_label": name.encode(), b"data": rows, b"labels": labels,
                         b"filenames": [b"x.png"] * per_file}, fh)
        if name != "test_batch":
            all_rows.append(rows)
            all_labels += labels
    return directory, np.concatenate(all_rows), np.array(all_labels)


def test_cifar_reader_split_and_layout(tmp_path):
    directory, rows, labels = _write_cifar(str(tmp_path))
    ds = data.cifar10(data_dir=directory, validation_size=25)
    assert ds.name == "cifar10" and ds.classes == 10
    assert ds.x_train.shape == (5 * PER_FILE - 25, 32, 32, 3)
    assert ds.x_val.shape == (25, 32, 32, 3)
    assert ds.x_train.dtype == np.float32 and ds.y_train.dtype == np.int32
    # The test split is the test batch.
    assert ds.x_test.shape == (PER_FILE, 32, 32, 3) and ds.y_test.shape == (PER_FILE,)
    # The validation set is the *last* images of the training batches, in order.
    np.testing.assert_array_equal(ds.y_val, labels[-25:])
    np.testing.assert_array_equal(ds.y_train, labels[:-25])
    # Row-major CHW rows become HWC: pixel (r, c) of channel k is row[k*1024 + r*32 + c].
    first = rows[0].reshape(3, 32, 32)
    np.testing.assert_allclose(ds.x_train[0, 5, 7], first[:, 5, 7] / 255.0, rtol=1e-6)
    assert 0.0 <= ds.x_train.min() and ds.x_train.max() <= 1.0
    # The parent directory works too.
    assert data.cifar10(data_dir=str(tmp_path), validation_size=25).x_train.shape[0] == 75


def test_cifar_default_validation_size_is_5000(tmp_path):
    directory, _, _ = _write_cifar(str(tmp_path), per_file=1001)  # 5,005 images
    ds = data.cifar10(data_dir=directory)
    assert (len(ds.x_train), len(ds.x_val)) == (5, 5000)


def test_cifar_reads_keras_cache(tmp_path, monkeypatch):
    _write_cifar(str(tmp_path / "datasets"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    ds = data.load("cifar10", validation_size=10)
    assert len(ds.x_train) == 5 * PER_FILE - 10


def test_cifar_missing_says_where_to_put_files(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(DataError, match="cifar-10-batches-py") as err:
        data.cifar10()
    assert "never downloads" in str(err.value)
    with pytest.raises(DataError, match="data_dir"):
        data.cifar10(data_dir=str(tmp_path / "nowhere"))


@pytest.mark.parametrize("payload", [b"not a pickle at all",
                                     pickle.dumps({b"data": np.zeros((4, 100), np.uint8),
                                                   b"labels": [0, 1, 2, 3]}),
                                     pickle.dumps([1, 2, 3])])
def test_cifar_corrupt_file_is_a_data_error(tmp_path, payload):
    directory, _, _ = _write_cifar(str(tmp_path))
    with open(os.path.join(directory, "data_batch_3"), "wb") as fh:
        fh.write(payload)
    with pytest.raises(DataError, match="data_batch_3.*corrupt|corrupt.*data_batch_3"):
        data.cifar10(data_dir=directory, validation_size=10)


def test_cifar_bad_validation_size(tmp_path):
    directory, _, _ = _write_cifar(str(tmp_path))
    with pytest.raises(DataError, match="validation_size"):
        data.cifar10(data_dir=directory, validation_size=100)


def test_digits_embedded():
    ds = data.load("digits")
    assert ds.name == "digits" and ds.classes == 10
    assert len(ds.x_train) + len(ds.x_val) + len(ds.x_test) == 1797
    assert abs(len(ds.x_test) - 0.2 * 1797) < 10
    assert ds.input_shape == (8, 8, 1)
    assert ds.x_train.dtype == np.float32 and ds.x_train.max() <= 1.0
    assert set(np.unique(ds.y_val)) == set(range(10))  # stratified
    again = data.digits()
    np.testing.assert_array_equal(ds.y_train, again.y_train)  # fixed seed
    other = data.digits(seed=1)
    assert not np.array_equal(ds.y_train, other.y_train)
    with pytest.raises(DataError):
        data.digits(validation_fraction=1.5)


def test_unknown_name_lists_known():
    with pytest.raises(UnknownNameError, match="cifar10.*digits.*mnist1d"):
        data.load("mnist")


def test_standardize_uses_training_statistics():
    ds = data.standardize(data.digits())
    assert abs(float(ds.x_train.mean())) < 1e-4
    assert abs(float(ds.x_train.std()) - 1.0) < 1e-3
    assert ds.x_val.dtype == np.float32


def test_augment_shapes_and_determinism():
    x = np.random.default_rng(0).random((6, 32, 32, 3), dtype=np.float32) + 0.5  # no zeros
    a = np.asarray(data.augment_batch(x, [1, 2]))
    b = np.asarray(data.augment_batch(x, [1, 2]))
    c = np.asarray(data.augment_batch(x, [1, 3]))
    assert a.shape == x.shape and a.dtype == np.float32
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    zeros = (a == 0).all(axis=-1).sum(axis=(1, 2))  # cutout pixels per image
    assert (zeros > 0).all() and (zeros <= 64).all()
    # Without cutout, every output pixel is an input pixel of the reflect-padded image.
    plain = np.asarray(data.augment_batch(x, [4, 5], cutout=0, flip=False, pad=0))
    np.testing.assert_array_equal(plain, x)
    flipped = np.asarray(data.augment_batch(x, [4, 5], cutout=0, pad=0))
    for img, out in zip(x, flipped):
        assert np.array_equal(out, img) or np.array_equal(out, img[:, ::-1])


def test_pipeline_is_seeded_infinite_and_batched():
    ds = data.digits()
    first = [y.numpy() for _, y in data.train_pipeline(ds.x_train, ds.y_train, 500, 7).take(4)]
    again = [y.numpy() for _, y in data.train_pipeline(ds.x_train, ds.y_train, 500, 7).take(4)]
    other = [y.numpy() for _, y in data.train_pipeline(ds.x_train, ds.y_train, 500, 8).take(4)]
    assert all(len(y) == 500 for y in first)  # 2,000 > 1,438 images: it repeats
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    assert not all(np.array_equal(a, b) for a, b in zip(first, other))
    # One epoch covers every training image once.
    epoch = data.train_pipeline(ds.x_train, np.arange(len(ds.x_train)), len(ds.x_train), 1)
    _, idx = next(iter(epoch))
    assert sorted(idx.numpy()) == list(range(len(ds.x_train)))
    xb, _ = next(iter(data.train_pipeline(ds.x_train, ds.y_train, 16, 1, augment=True,
                                          augment_options={"pad": 2, "cutout": 4})))
    assert xb.shape == (16, 8, 8, 1)


def test_importing_does_not_import_tensorflow():
    code = ("import sys, deap_nos.data, deap_nos.backends.tensorflow.surrogate, "
            "deap_nos.evaluation.evaluator; "
            "print('tensorflow' in sys.modules or 'keras' in sys.modules)")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True,
                         text=True, check=True)
    assert out.stdout.strip() == "False"
