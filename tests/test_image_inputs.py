"""One rule for the images ImageExplainer accepts (see widgets/image_input.py), with no warning leaking out."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from PIL import Image

from ig_widget.widgets.image_input import prepare_input

PIXELS = np.random.default_rng(0).integers(0, 256, (6, 5, 3), dtype=np.uint8)  # H x W x C
EXPECTED = torch.from_numpy(PIXELS.copy()).permute(2, 0, 1).float()[None] / 255


FORMS = {
    "uint8 array H x W x C": lambda: PIXELS,
    "uint8 array C x H x W": lambda: PIXELS.transpose(2, 0, 1).copy(),
    "uint8 tensor C x H x W": lambda: torch.from_numpy(PIXELS.transpose(2, 0, 1).copy()),
    "uint8 tensor H x W x C": lambda: torch.from_numpy(PIXELS.copy()),
    "PIL image": lambda: Image.fromarray(PIXELS),
    "float tensor C x H x W": lambda: EXPECTED[0].clone(),
    "float tensor 1 x C x H x W": lambda: EXPECTED.clone(),
    "float tensor H x W x C": lambda: EXPECTED[0].permute(1, 2, 0).clone(),
    "float64 array H x W x C": lambda: PIXELS.astype(np.float64) / 255,
}


@pytest.mark.parametrize("form", FORMS)
def test_every_accepted_form_gives_the_same_model_input(form: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # PIL's read-only buffer once leaked torch's non-writable warning
        x, original = prepare_input(FORMS[form](), None)
    torch.testing.assert_close(x, EXPECTED, rtol=0, atol=1e-7)
    assert x.dtype == torch.float32
    if "uint8" in form or "PIL" in form:
        np.testing.assert_array_equal(original, PIXELS)  # exact display pixels


def test_grey_images_get_one_channel() -> None:
    grey = PIXELS[..., 0]
    for image in (grey, Image.fromarray(grey), torch.from_numpy(grey.copy())):
        x, _ = prepare_input(image, None)
        assert x.shape == (1, 1, 6, 5)


def test_an_ambiguous_shape_follows_each_library_convention() -> None:
    cube = np.arange(27, dtype=np.uint8).reshape(3, 3, 3)
    from_array, _ = prepare_input(cube, None)  # numpy: H x W x C
    from_tensor, _ = prepare_input(torch.from_numpy(cube.copy()), None)  # torch: C x H x W
    torch.testing.assert_close(from_array[0], torch.from_numpy(cube.copy()).permute(2, 0, 1).float() / 255)
    torch.testing.assert_close(from_tensor[0], torch.from_numpy(cube.copy()).float() / 255)


def test_preprocess_gets_the_image_untouched() -> None:
    seen = []
    image = Image.fromarray(PIXELS)
    x, original = prepare_input(image, lambda picture: seen.append(picture) or EXPECTED[0] * 2)
    assert seen == [image]
    torch.testing.assert_close(x, EXPECTED * 2)
    np.testing.assert_array_equal(original, PIXELS)


def test_the_input_takes_a_float64_models_dtype_whatever_float_or_pixels_it_came_as() -> None:
    """A float64 array for a float64 model was refused: the array became float32 here, then the engine's
    dtype check told the user to convert an image that already was float64. Each form is now handed to
    the model in its dtype, a float64 array without a round trip through float32."""
    import ig_widget as igw

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 6 * 5, 4)).double().eval()
    precise = PIXELS.astype(np.float64) / 255 + 1e-12  # digits float32 cannot hold
    for image, expected in [
        (precise, torch.from_numpy(precise).permute(2, 0, 1)),
        (precise.astype(np.float32), torch.from_numpy(precise.astype(np.float32)).permute(2, 0, 1).double()),
        (torch.from_numpy(precise).permute(2, 0, 1).float(), torch.from_numpy(precise).permute(2, 0, 1).float()),
        (PIXELS, torch.from_numpy(PIXELS.copy()).permute(2, 0, 1).double() / 255),
        (Image.fromarray(PIXELS), torch.from_numpy(PIXELS.copy()).permute(2, 0, 1).double() / 255),
    ]:
        widget = igw.ImageExplainer(model, image, steps=4, preview=None)
        widget.wait()
        assert widget.error == ""
        result = widget.explanation
        assert result.inputs.dtype == result.attributions.dtype == torch.float64
        torch.testing.assert_close(result.inputs[0], expected.double(), rtol=0, atol=0)
    x, _ = prepare_input(PIXELS, None, torch.float64)
    assert x.dtype == torch.float64
    torch.testing.assert_close(x[0], torch.from_numpy(PIXELS.copy()).permute(2, 0, 1).double() / 255, rtol=0, atol=0)


@pytest.mark.parametrize(
    ("image", "preprocess", "shape", "fix"),
    [
        (torch.rand(3, 1, 6, 5), None, (3, 1, 6, 5), r"pass one of them, image\[i\] \(e\.g\. image\[0\]\)"),
        (np.random.rand(3, 6, 5, 1), None, (3, 6, 5, 1), r"pass one of them, image\[i\]"),
        (torch.zeros(2, 3, 6, 5, dtype=torch.uint8), None, (2, 3, 6, 5), r"pass one of them, image\[i\]"),
        (PIXELS, lambda _: torch.rand(4, 3, 6, 5), (4, 3, 6, 5), "make preprocess return one image C x H x W"),
    ],
)
def test_a_batch_of_images_is_refused_as_a_batch_before_the_model_runs(count_calls, image, preprocess, shape, fix):
    """A batch of 3 was told 'the model input needs 1 or 3 channels', though its channels were fine."""
    import ig_widget as igw

    model = count_calls(torch.nn.Sequential(torch.nn.Flatten(), torch.nn.LazyLinear(2)))
    batch = shape[0]
    with pytest.raises(
        ValueError,
        match=rf"has shape \({', '.join(map(str, shape))}\), a batch of {batch} images; "
        rf"the view explains one image: {fix}",
    ) as refused:
        igw.ImageExplainer(model, image, preprocess=preprocess, preview=None)
    assert "channels" not in str(refused.value) and model.forwards == 0
