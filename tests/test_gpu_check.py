"""The GPU check's CPU dry run, so the path it drives stays working between GPU leases.

A bundle folder like `make gpu-bundle`'s holds the tiny random BERT where the default model's package
would be, so the check (and the `accelerate launch` it starts) runs every step in seconds.
"""
import json
import subprocess
import sys
from pathlib import Path

from conftest import build_tiny_model

ROOT = Path(__file__).resolve().parents[1]


def test_the_gpu_check_dry_run_drives_every_path_on_the_cpu(tmp_path):
    from ktdemo import models

    spec = models.MODELS[models.DEFAULT_MODEL]
    package = tmp_path / "site" / spec.package
    build_tiny_model(package / spec.package_subdir)
    (package / "__init__.py").touch()
    done = subprocess.run([sys.executable, "benchmarks/gpu_check.py", "--device", "cpu", "--budget", "2",
                           "--bundle", str(tmp_path)], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout[done.stdout.rindex('{\n  "device"'):])
    assert report["device"].startswith("CPU")
    for name in ("default", "lora", "linear_probe", "worker"):
        assert 0 <= report[name]["test_accuracy"] <= 1, name
    assert report["default"]["steps"] >= 1 and report["lora"]["steps"] >= 1 and report["worker"]["steps"] >= 1
    assert report["default"]["seconds_over_budget"] < 5
    assert report["attention_max_difference_vs_cpu"] == 0  # the same device: exactly equal
    assert 0 <= report["accelerate_launch"]["test_accuracy"] <= 1
