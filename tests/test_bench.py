"""The benchmark's material, and what it says about the shipped model."""

from __future__ import annotations

import numpy as np

from nn.bench import pen_digits


def test_pen_digits_are_normalised_and_the_pretrained_model_reads_them(pretrained):
    digits = pen_digits(per_digit=12, seed=7)
    assert digits.inputs.shape == (120, 784) and sorted(set(digits.labels)) == list(range(10))
    assert digits.inputs.max() <= 1 and digits.inputs.min() >= 0
    assert np.array_equal(pen_digits(per_digit=12, seed=7).inputs, digits.inputs)  # seeded
    assert np.mean(pretrained.predict(digits.inputs) == digits.labels) >= 0.9
