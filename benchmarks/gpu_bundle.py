"""What a bare CUDA machine lacks for the core's training path, in one folder of at most 60 MiB.

    python benchmarks/gpu_bundle.py gpu-bundle        # `make gpu-bundle`

Such a machine (Python 3.12, torch with CUDA, transformers, peft, accelerate, scikit-learn, pandas,
pyarrow, safetensors, sentence-transformers; no network) gets:
- site/: the bundled MiniLM as fp16 safetensors with its tokenizer and sentence-transformers files, and
  the Rotten Tomatoes file alone, each inside a stand-in of the package that ships it, so the catalog
  finds them as it finds the installed ones (put site/ on PYTHONPATH; `gpu_check.py` does, and turns
  the fp16 weights back into fp32 first: training keeps fp32 master weights);
- wheels/: `datasets` and the pure-Python or manylinux packages it needs that such a machine lacks,
  for Python 3.12 (`pip install --no-index --find-links wheels datasets`; `gpu_check.py` does).
"""
from __future__ import annotations

import argparse
import importlib.metadata
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

LIMIT_MIB = 60
WHEELS = ("datasets", "dill", "multiprocess", "xxhash", "fsspec")  # what `datasets` needs beyond that machine's stack
MODEL_FILES = ("config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt",
               "modules.json", "sentence_bert_config.json", "config_sentence_transformers.json")
FP16_NAME = "model-fp16.safetensors"


def model(site: Path) -> Path:
    """The default model's files, its weights in fp16, under the stand-in of its package."""
    import torch
    from safetensors.torch import load_file, save_file

    from ktdemo import models

    spec = models.MODELS[models.DEFAULT_MODEL]
    source = Path(spec.local_source())
    target = site / spec.package / spec.package_subdir
    target.mkdir(parents=True, exist_ok=True)
    (site / spec.package / "__init__.py").touch()
    for name in MODEL_FILES:
        if (source / name).is_file():
            shutil.copy2(source / name, target / name)
    shutil.copytree(source / "1_Pooling", target / "1_Pooling", dirs_exist_ok=True)  # mean pooling, as trained
    weights = {key: value.to(torch.float16) for key, value in load_file(source / "model.safetensors").items()}
    save_file(weights, target / FP16_NAME, metadata={"format": "pt"})
    return target


def dataset(site: Path, key: str = "rotten_tomatoes") -> Path:
    from ktdemo import data
    from ktdemo.data.catalog import package_file

    spec = data.DATASETS[key]
    target = site / spec.module / spec.path
    target.parent.mkdir(parents=True, exist_ok=True)
    (site / spec.module / "__init__.py").touch()
    shutil.copy2(package_file(spec), target)
    return target


def wheels(folder: Path) -> None:
    """The versions this project runs with, built for CPython 3.12 on manylinux x86-64 (from PyPI)."""
    pins = [f"{name}=={importlib.metadata.version(name)}" for name in WHEELS]
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
                    "--python-version", "3.12", "--implementation", "cp", "--platform", "manylinux2014_x86_64",
                    "--platform", "manylinux_2_17_x86_64", "--platform", "any", "-d", str(folder), *pins], check=True)


def size_mib(folder: Path) -> float:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file()) / 2**20


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", nargs="?", default=str(ROOT / "gpu-bundle"))
    args = parser.parse_args(argv)
    folder = Path(args.folder)
    shutil.rmtree(folder, ignore_errors=True)
    print("model:", model(folder / "site"))
    print("data:", dataset(folder / "site"))
    wheels(folder / "wheels")
    print("wheels:", ", ".join(sorted(path.name for path in (folder / "wheels").iterdir())))
    size = size_mib(folder)
    print(f"bundle {folder}: {size:.1f} MiB (limit {LIMIT_MIB})")
    return 0 if size <= LIMIT_MIB else 1


if __name__ == "__main__":
    sys.exit(main())
