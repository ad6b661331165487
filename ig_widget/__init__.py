"""ig-widget: Integrated Gradients and its relatives for PyTorch models, as Jupyter widgets."""

from .attribution import (
    RULES,
    AttributionInputError,
    AttributionResult,
    Blur,
    Constant,
    GaussianNoise,
    GradientPathError,
    InteriorGradients,
    MaxDistance,
    PathTrace,
    UniformNoise,
    expected_gradients,
    gradient_x_input,
    integrated_gradients,
    interior_gradients,
    make_baseline,
    path_points,
    saliency,
    smoothgrad,
)

__version__ = "0.1.0"

__all__ = [
    "RULES", "AttributionInputError", "AttributionResult", "Blur", "Constant", "GaussianNoise",
    "GradientPathError", "InteriorGradients", "MaxDistance", "PathTrace", "UniformNoise",
    "expected_gradients", "gradient_x_input", "integrated_gradients", "interior_gradients",
    "make_baseline", "path_points", "saliency", "smoothgrad",
]
