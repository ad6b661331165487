"""ig-widget: Integrated Gradients and its relatives for PyTorch models, as Jupyter widgets."""

from .attribution import (
    RULES,
    AttributionError,
    AttributionInputError,
    AttributionResult,
    Blur,
    Constant,
    DeviceMemoryError,
    GaussianNoise,
    GenerationAttribution,
    GradientPathError,
    InteriorGradients,
    MaxDistance,
    ModelCallError,
    NextToken,
    NonFiniteError,
    PathDiagnosis,
    PathTrace,
    TextAttribution,
    UniformNoise,
    Word,
    blur_integrated_gradients,
    expected_gradients,
    explain_generation,
    gradient_x_input,
    guided_integrated_gradients,
    integrated_gradients,
    integrated_gradients_multi,
    interior_gradients,
    make_baseline,
    path_points,
    saliency,
    smoothgrad,
    text_integrated_gradients,
    text_integrated_gradients_multi,
)

__version__ = "0.1.0"

# Widgets load lazily: importing them reads the frontend bundle and pulls in anywidget, which the
# attribution layer alone (scripts, no Jupyter) does not need.
_WIDGETS = {"ImageExplainer": "ig_widget.widgets.image"}
_WIDGETS.update(export_html="ig_widget.export", export_notebook_html="ig_widget.export")  # static pages
_WIDGETS["TextExplainer"] = "ig_widget.widgets.text"
_WIDGETS["GenerationExplainer"] = "ig_widget.widgets.generation"
# Checks that an explanation means something (evaluation layer, above the maths).
_EVALUATION = {
    "sanity_check": "ig_widget.evaluation",
    "deletion_insertion": "ig_widget.evaluation",
    "input_invariance": "ig_widget.evaluation",
}
_WIDGETS.update(_EVALUATION)
# Every method side by side on one input, each with its checks (issue 14).
_WIDGETS.update(compare_methods="ig_widget.evaluation", MethodComparison="ig_widget.widgets.comparison")
# Data-set runs and their store (need the `datasets` extra: zarr, pandas) and their gallery.
_WIDGETS.update(
    attribute_dataset="ig_widget.datasets",
    open_attributions="ig_widget.datasets",
    AttributionStore="ig_widget.datasets",
    DatasetExplorer="ig_widget.widgets.dataset",
)

# What a view says when its model changed since its results were computed (README: a view follows your model).
_WIDGETS.update(ModelChangedWarning="ig_widget.widgets.model_watch", ModelChangedError="ig_widget.widgets.model_watch")


def __getattr__(name: str):
    if name in _WIDGETS:
        import importlib

        return getattr(importlib.import_module(_WIDGETS[name]), name)
    raise AttributeError(f"module 'ig_widget' has no attribute {name!r}")


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
    "ModelCallError",
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
    "text_integrated_gradients",
    "text_integrated_gradients_multi",
    "TextAttribution",
    "Word",
    "NextToken",
    "blur_integrated_gradients",
    "guided_integrated_gradients",
    "GenerationAttribution",
    "explain_generation",
    *_WIDGETS,
]
