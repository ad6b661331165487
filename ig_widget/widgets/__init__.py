"""Jupyter widgets (anywidget) that show attributions live; they read the attribution layer's results."""

from .explainer import ExplainerWidget
from .image import ImageExplainer
from .text import TextExplainer

__all__ = ["ExplainerWidget", "ImageExplainer", "TextExplainer"]
