"""hotloop's exception hierarchy."""


class HotloopError(Exception):
    """Base class of errors raised by hotloop that are not plain TypeError/ValueError."""
