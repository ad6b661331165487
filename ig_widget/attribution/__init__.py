"""Attribution maths: torch and numpy only, usable in a script with no Jupyter at all."""

from .baselines import Blur, Constant, GaussianNoise, MaxDistance, UniformNoise, make_baseline
from .errors import (
    AttributionError,
    AttributionInputError,
    DeviceMemoryError,
    GradientPathError,
    ModelCallError,
    NonFiniteError,
)
from .generation import (
    Alternative,
    Generation,
    GenerationAttribution,
    attribute_generation,
    explain_generation,
    prepare_generation,
)
from .integrated import integrated_gradients, integrated_gradients_multi
from .local import gradient_x_input, interior_gradients, saliency
from .paths import blur_integrated_gradients, guided_integrated_gradients
from .quadrature import RULES, path_points
from .result import AttributionResult, InteriorGradients, PathDiagnosis, PathTrace
from .sampling import expected_gradients, smoothgrad
from .text import text_integrated_gradients, text_integrated_gradients_multi
from .text_result import TextAttribution, Word
from .text_targets import NextToken

__all__ = [
    "RULES",
    "AttributionError",
    "AttributionInputError",
    "DeviceMemoryError",
    "NonFiniteError",
    "AttributionResult",
    "Blur",
    "Constant",
    "GaussianNoise",
    "GradientPathError",
    "InteriorGradients",
    "MaxDistance",
    "PathDiagnosis",
    "PathTrace",
    "UniformNoise",
    "expected_gradients",
    "gradient_x_input",
    "integrated_gradients",
    "integrated_gradients_multi",
    "interior_gradients",
    "make_baseline",
    "path_points",
    "saliency",
    "smoothgrad",
    "ModelCallError",
    "NextToken",
    "TextAttribution",
    "Word",
    "text_integrated_gradients",
    "text_integrated_gradients_multi",
    "blur_integrated_gradients",
    "guided_integrated_gradients",
    "Alternative",
    "Generation",
    "GenerationAttribution",
    "attribute_generation",
    "explain_generation",
    "prepare_generation",
]
