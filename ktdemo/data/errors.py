"""The one exception the data layer lets out."""


class DataError(ValueError):
    """A problem with the user's data; ``str(error)`` is one sentence fit to show in the UI."""
