"""What several tabs share in their wiring: the inspection events' queue, a chosen layer, head or position, and
handlers' outputs by name."""
from collections import namedtuple

import gradio as gr

# The inspection events (predict, attention, saliency, ablation, the lessons) share one queue: up to four run
# at once, each a forward pass or a few on the CPU.
INSPECT = {"concurrency_id": "inspect", "concurrency_limit": 4}


def clamp(number, count: int, first: int = 1) -> int:
    """A choice from the screen or the API (layers and heads count from 1, positions and snapshots from 0), as
    a 0-based index that exists."""
    try:
        number = int(float(number))
    except (TypeError, ValueError):
        number = first
    return min(max(number - first, 0), count - 1)


_SKIP = object()  # "not given": leave the output as it is


def outputs(*names: str) -> type:
    """A handler's outputs by name, in the order its event lists their components (`components(...)` makes
    that list from the same names). `View(status=...)` fills the outputs given and leaves the others as they
    are (gr.skip()), or sets them to `rest` (None clears them): no handler pads a tuple or counts its outputs.
    It is a tuple, so Gradio and the API see the outputs in the same order as before."""

    class Outputs(namedtuple("Outputs", names)):
        __slots__ = ()

        def __new__(cls, rest=_SKIP, **given):
            if unknown := set(given) - set(names):
                raise TypeError(f"no output named {', '.join(sorted(unknown))}")
            fill = (lambda: gr.skip()) if rest is _SKIP else (lambda: rest)
            return super().__new__(cls, *(given[name] if name in given else fill() for name in names))

        @classmethod
        def components(cls, **components) -> list:
            """The event's outputs list, in this view's order."""
            return [components[name] for name in cls._fields]

    return Outputs
