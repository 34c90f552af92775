"""The one exception the data layer lets out."""
from ..messages import Said


class DataError(Said, ValueError):
    """A problem with the user's data; ``str(error)`` is one sentence fit to show in the UI."""
