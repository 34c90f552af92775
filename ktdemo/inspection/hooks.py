"""Forward hooks for one thread's passes: the models are shared between sessions, so a hook set for one request
must neither see nor change another thread's forward pass, and must be gone when the request ends."""
from __future__ import annotations

import threading
from contextlib import contextmanager


@contextmanager
def this_thread_hooks(hooks: list[tuple[object, object]], pre: bool = False):
    """Within the block, each `(module, hook)` runs on the module's forward passes made in this thread only (as a
    forward pre-hook when `pre`: `hook(module, args)`, else `hook(module, args, output)`); removed after."""
    owner = threading.get_ident()

    def mine(hook):
        def run(*args):
            return hook(*args) if threading.get_ident() == owner else None
        return run

    handles = [(module.register_forward_pre_hook if pre else module.register_forward_hook)(mine(hook))
               for module, hook in hooks]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()
