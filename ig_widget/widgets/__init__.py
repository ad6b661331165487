"""Jupyter widgets (anywidget) that show attributions live; they read the attribution layer's results."""

from .explainer import ExplainerWidget
from .image import ImageExplainer

__all__ = ["ExplainerWidget", "ImageExplainer"]
