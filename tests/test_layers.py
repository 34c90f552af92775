"""The package tree is the architecture: a module imports only its own layer or the layers below it, and the
light modules (what the UI reads at start-up) never load torch or transformers."""
import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "ktdemo"
# Lowest first. A module may import from its own layer or any lower one, never a higher one.
LAYERS = {
    "messages": 0, "progress": 0, "network": 0,  # the words a run speaks in, its live log, the environment
    "data": 1, "models": 1,  # the catalogs and loaders of datasets and models, and a model's anatomy
    "config": 2, "figures": 2,  # RunConfig names the catalogs' defaults; figures draw plain data
    "inspection": 3,  # reads a model: numpy out
    "training": 4,  # changes a model (its time-lapse inspects it)
    "outputs": 5,  # reports and exports of a finished run
    "serving": 6,  # sessions (their downloads are outputs), the registry, runners and the worker
    "ui": 7, "cli": 7, "__main__": 7,  # interfaces
}
LIGHT = ["ktdemo.messages", "ktdemo.config", "ktdemo.progress", "ktdemo.models", "ktdemo.data",
         "ktdemo.training.presets", "ktdemo.training.studies", "ktdemo.training.planning", "ktdemo.figures.compare",
         "ktdemo.serving.app", "ktdemo.serving.registry", "ktdemo.serving.shared", "ktdemo.serving.runners"]


def _layer(module: str) -> int:
    return LAYERS[module.split(".")[1]]


def _imports(path: Path) -> set[str]:
    """The ktdemo modules `path` imports, at its top or inside functions."""
    package = "ktdemo." + ".".join(path.relative_to(PACKAGE).with_suffix("").parts[:-1])
    package = package.rstrip(".")
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module != "__future__":
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            if module == "ktdemo":
                found |= {f"ktdemo.{alias.name}" for alias in node.names}
            elif module.startswith("ktdemo."):
                found.add(module)
        elif isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) == "heavy_import":
            first = node.args[0] if node.args else None
            if isinstance(first, ast.Constant) and str(first.value).startswith("ktdemo."):
                found.add(first.value)
    return found


MODULES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda path: str(path.relative_to(PACKAGE)))
def test_no_module_imports_a_higher_layer(path):
    own = "ktdemo." + ".".join(path.relative_to(PACKAGE).with_suffix("").parts)
    if own.endswith(".__init__") and own.count(".") == 1:
        return  # the package's own __init__
    higher = sorted(module for module in _imports(path) if _layer(module) > _layer(own))
    assert higher == [], f"{own} (layer {_layer(own)}) imports {higher}"


def test_light_modules_load_neither_torch_nor_transformers():
    code = (f"import sys; import {', '.join(LIGHT)}; "
            "print(sorted(name for name in ('torch', 'transformers', 'gradio') if name in sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                            cwd=PACKAGE.parent).stdout.strip()
    assert loaded == "[]"
