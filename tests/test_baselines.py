"""Named baselines: what each one is, and that noise baselines are reproducible from their seed."""

import pytest
import torch

import ig_widget as igw
from ig_widget import make_baseline


@pytest.fixture
def images():
    return torch.rand(2, 3, 12, 10, generator=torch.Generator().manual_seed(0))


def test_black_and_numbers(images):
    assert torch.equal(make_baseline("black", images), torch.zeros_like(images))
    assert torch.equal(make_baseline(0.25, images), torch.full_like(images, 0.25))


def test_blur_keeps_constant_images_and_smooths_detail(images):
    flat = torch.full_like(images, 0.3)
    torch.testing.assert_close(make_baseline("blur", flat), flat)
    blurred = make_baseline(igw.Blur(sigma=2.0), images)
    assert blurred.shape == images.shape
    assert blurred.std() < images.std() / 2
    torch.testing.assert_close(blurred.mean(dim=(2, 3)), images.mean(dim=(2, 3)), atol=0.05, rtol=0)


def test_uniform_noise_stays_in_range_and_is_seeded(images):
    first = make_baseline("uniform", images, seed=3)
    assert torch.equal(first, make_baseline("uniform", images, seed=3))
    assert not torch.equal(first, make_baseline("uniform", images, seed=4))
    assert first.min() >= images.min() and first.max() <= images.max()
    bounded = make_baseline(igw.UniformNoise(low=-1.0, high=-0.5), images)
    assert bounded.min() >= -1.0 and bounded.max() <= -0.5


def test_gaussian_noise_is_the_input_plus_clipped_noise(images):
    noisy = make_baseline(igw.GaussianNoise(sigma=0.05, low=0.0, high=1.0, seed=1), images)
    assert 0.02 < (noisy - images).std() < 0.06
    assert noisy.min() >= 0 and noisy.max() <= 1
    assert torch.equal(noisy, make_baseline(igw.GaussianNoise(sigma=0.05, low=0.0, high=1.0, seed=1), images))


def test_max_distance_takes_the_far_end_of_the_range():
    x = torch.tensor([[0.1, 0.9, 0.5, 0.4]])
    far = make_baseline(igw.MaxDistance(low=0.0, high=1.0), x)
    assert torch.equal(far, torch.tensor([[1.0, 0.0, 1.0, 1.0]]))
    assert ((far - x).abs() >= 0.5).all()


def test_tensor_baselines_broadcast_from_one_sample(images):
    mean_image = images.mean(dim=0)
    made = make_baseline(mean_image, images)
    assert made.shape == images.shape and torch.equal(made[0], mean_image)
