import random

import numpy as np
import pytest
import torch

import kexue
from kexue.utils import device, reduce_loss, seed_everything, timer


def test_version_is_a_release_string():
    parts = kexue.__version__.split(".")
    assert len(parts) == 3 and all(p.isdigit() for p in parts)


def test_seed_everything_makes_all_generators_repeat():
    def draw():
        return random.random(), np.random.rand(), torch.rand(1).item()

    seed_everything(123)
    first = draw()
    seed_everything(123)
    assert draw() == first
    seed_everything(124)
    assert draw() != first


@pytest.mark.parametrize("bad,exc", [(-1, ValueError), (1.5, TypeError), (2**32, ValueError)])
def test_seed_everything_rejects_bad_seed(bad, exc):
    with pytest.raises(exc, match="seed"):
        seed_everything(bad)


def test_device_is_cpu_without_gpu():
    assert device().type == ("cuda" if torch.cuda.is_available() else "cpu")


def test_reduce_loss():
    loss = torch.tensor([1.0, 2.0, 6.0])
    assert reduce_loss(loss, "mean").item() == 3.0
    assert reduce_loss(loss, "sum").item() == 9.0
    assert reduce_loss(loss, "none") is loss
    with pytest.raises(ValueError, match="reduction"):
        reduce_loss(loss, "max")


def test_timer_measures_wall_clock():
    with timer() as t:
        sum(range(10000))
    assert 0 < t["seconds"] < 5


def test_load_benchmark_walks_up_and_names_missing_file(tmp_path):
    import json

    from kexue.utils import load_benchmark

    (tmp_path / "benchmarks" / "results").mkdir(parents=True)
    (tmp_path / "benchmarks" / "results" / "demo.json").write_text(json.dumps({"chapter": "demo"}))
    (tmp_path / "notebooks").mkdir()
    assert load_benchmark("demo", start=tmp_path / "notebooks") == {"chapter": "demo"}
    with pytest.raises(FileNotFoundError, match=r"python -m benchmarks.nope"):
        load_benchmark("nope", start=tmp_path / "notebooks")
    with pytest.raises(TypeError, match="chapter"):
        load_benchmark(3)
