"""Exception types that name what went wrong with the user's arguments."""


class AttributionInputError(ValueError):
    """An argument is unusable; the message names it, what it got and what it needs."""


class GradientPathError(RuntimeError):
    """The explained score does not depend differentiably on the input."""


class ModelCallError(RuntimeError):
    """The model raised on the user's own input, before any attribution work; the cause is chained."""
