"""Completeness gap of IG on the digits CNN for each rule at 16, 32 and 64 steps.

Run: .venv/bin/python benchmarks/completeness_digits.py
Prints, per rule and step count, the median and worst |relative gap| over 100 held-out digits.
"""

import torch

import ig_widget as igw
from ig_widget.examples import accuracy, train_digits_cnn


def main() -> None:
    model, images, labels = train_digits_cnn(size=8, epochs=8, seed=0)
    x = images[:100]
    print(
        f"digits CNN, test accuracy {accuracy(model, images, labels):.3f}; |relative gap| over {len(x)} digits, black baseline"
    )
    print(f"{'rule':<20}" + "".join(f"{f'{s} steps (median / max)':>28}" for s in (16, 32, 64)))
    for rule in igw.RULES:
        cells = []
        for steps in (16, 32, 64):
            gap = igw.integrated_gradients(model, x, steps=steps, rule=rule, trace=False).relative_gap.abs()
            cells.append(f"{gap.median().item():>13.4%} / {gap.max().item():>9.4%}")
        print(f"{rule:<20}" + "".join(f"{c:>28}" for c in cells))


if __name__ == "__main__":
    torch.set_num_threads(2)
    main()
