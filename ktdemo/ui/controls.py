"""What several tabs share in their wiring: the inspection events' queue, and a chosen layer, head or position."""

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
