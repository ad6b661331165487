"""One family of exceptions: `except ig_widget.AttributionError` catches every refusal of the package.

Each subclass also derives from the builtin exception a Python user would expect for that kind of
mistake, so `except ValueError` around a bad argument keeps working.
"""


class AttributionError(Exception):
    """Base of every error ig_widget raises on purpose."""


class AttributionInputError(AttributionError, ValueError):
    """An argument is unusable; the message names it, what it got and what it needs."""


class GradientPathError(AttributionError, RuntimeError):
    """The explained score does not depend differentiably on the input."""


class NonFiniteError(AttributionError, FloatingPointError):
    """The model gave NaN or inf (at the input, the baseline or a path point); the message says where."""


class DeviceMemoryError(AttributionError, MemoryError):
    """Even one path point per forward pass does not fit in device memory."""


class ModelCallError(AttributionError, RuntimeError):
    """The model raised on the user's own input, before any attribution work; the cause is chained."""
