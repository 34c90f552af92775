"""Where the app is hosted: on a Hugging Face ZeroGPU Space, GPU work must run inside `spaces.GPU`.

Elsewhere (a laptop, a CPU Space, CI) the `spaces` package is absent and this is the identity.
"""
from __future__ import annotations

import importlib.util

GPU_SECONDS = 300  # the longest run a ZeroGPU slot is asked for: a 5-minute budget plus scoring


def zero_gpu() -> bool:
    """Whether this is a ZeroGPU Space (its `spaces` package is installed)."""
    return importlib.util.find_spec("spaces") is not None


def on_gpu(function):
    """`function` wrapped with `spaces.GPU` when that package is installed; unchanged otherwise."""
    if not zero_gpu():
        return function
    import spaces

    return spaces.GPU(duration=GPU_SECONDS)(function)
