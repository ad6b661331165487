"""Chunking the path and batching inputs change nothing but speed."""

import pytest
import torch

import ig_widget as igw


@pytest.mark.parametrize("batch_size", [1, 3, 7, 20, 60, 1000])
def test_every_batch_size_gives_the_same_result(digits, batch_size):
    model, images, _ = digits
    x = images[:3]
    reference = igw.integrated_gradients(model, x, steps=20, batch_size=None)
    res = igw.integrated_gradients(model, x, steps=20, batch_size=batch_size)
    torch.testing.assert_close(res.attributions, reference.attributions, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(res.trace.cumulative, reference.trace.cumulative, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(res.trace.scores, reference.trace.scores, atol=1e-5, rtol=1e-5)


def test_a_batch_equals_its_rows_one_at_a_time_each_with_its_own_target(digits):
    model, images, _ = digits
    x, targets = images[:3], [1, 5, 7]
    together = igw.integrated_gradients(model, x, target=targets, baseline="blur", steps=24)
    for row, target in enumerate(targets):
        alone = igw.integrated_gradients(model, x[row : row + 1], target=target, baseline="blur", steps=24)
        torch.testing.assert_close(together.attributions[row : row + 1], alone.attributions, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(together.baseline_score[row : row + 1], alone.baseline_score)


def test_progress_reports_every_point_in_order(digits):
    model, images, _ = digits
    seen = []
    igw.integrated_gradients(
        model, images[:2], steps=10, batch_size=6, progress=lambda done, total: seen.append((done, total))
    )
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)
    assert seen[-1] == (20, 20)


def test_trace_shapes_and_cumulative_end_at_the_attributions(digits):
    model, images, _ = digits
    res = igw.integrated_gradients(model, images[:2], steps=16)
    trace = res.trace
    assert trace.alphas.shape == trace.weights.shape == (16,)
    assert trace.scores.shape == (16, 2)
    assert trace.gradients.shape == trace.cumulative.shape == (16, 2, 8, 8)
    torch.testing.assert_close(trace.cumulative[-1], res.attributions.sum(dim=1))
    assert igw.integrated_gradients(model, images[:2], steps=16, trace=False).trace is None


def test_the_automatic_batch_leaves_room_for_what_the_walk_keeps(monkeypatch):
    """The memory budget covers the chunk and the trace together: a whole-map trace takes its bytes
    out of the budget, so chunks shrink instead of the total outgrowing it."""
    from ig_widget.attribution import batching

    point_bytes = 3 * 16 * 16 * 4
    per_point = point_bytes * batching.ACTIVATION_FACTOR
    monkeypatch.setattr(batching, "CPU_BUDGET_BYTES", 10 * per_point)  # room for ten points
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.Tanh(), torch.nn.Flatten(), torch.nn.LazyLinear(3))
    x = torch.rand(1, 3, 16, 16)
    model(x)

    def largest_chunk(**options) -> int:
        done = [0]
        sizes = []

        def progress(stop, total):
            sizes.append(stop - done[0])
            done[0] = stop

        igw.integrated_gradients(model, x, target=0, steps=64, progress=progress, **options)
        return max(sizes)

    # without a trace the walk keeps only the gradient sum, one point's bytes
    assert largest_chunk(trace=False) == (10 * per_point - point_bytes) // per_point == 9
    # a whole-map trace adds scores (64 floats) and per step the gradient, its increment and (at the
    # end) the cumulative sum: three maps of one point each
    kept = point_bytes + 64 * 4 + 3 * 64 * point_bytes
    assert largest_chunk(trace=True, trace_reduce="none") == (10 * per_point - kept) // per_point == 6


def test_cpu_image_chunks_stop_at_a_cache_sized_working_set_but_keep_a_few_points():
    from ig_widget.attribution import batching

    def per_point(point: torch.Tensor) -> int:
        return point.numel() * point.element_size() * batching.ACTIVATION_FACTOR

    cnn64 = torch.zeros(3, 64, 64)
    assert batching.auto_batch_size(cnn64, 1, 50) == batching.CPU_FAST_CHUNK_BYTES // per_point(cnn64) < 50
    resnet = torch.zeros(3, 224, 224)  # past the working set with one point: a few points per chunk still
    assert batching.auto_batch_size(resnet, 1, 128) == batching.CPU_MIN_POINTS
    assert batching.auto_batch_size(torch.zeros(1, 8, 8), 1, 500) == 500  # a tiny image keeps one chunk
    # token embeddings of the same size are not capped (a transformer ran fastest in one chunk)
    tokens = torch.zeros(64, 192)
    assert tokens.numel() == cnn64.numel() and batching.auto_batch_size(tokens, 1, 50) == 50
    # the memory budget stays the ceiling: what the walk keeps can leave room for fewer points
    kept = batching.CPU_BUDGET_BYTES - 3 * per_point(resnet)
    assert batching.auto_batch_size(resnet, 1, 128, kept_bytes=kept) == 3
