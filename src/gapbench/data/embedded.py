"""Embedded datasets: built from data that ships inside installed packages, so they run offline.

``sklearn_digits``: scikit-learn's bundled ``load_digits`` (1,797 8x8 grey images, 10 classes),
split deterministically into train/test with a stratified split (``test_size=0.25``,
``random_state=0``). Sample ids are ``digits-<index>`` with the index into ``load_digits``;
inputs are ``(8, 8)`` float64 images with values 0..16; references are int labels 0..9.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Literal

import numpy as np

from gapbench.core.sample import Sample

DIGITS_TEST_SIZE = 0.25
DIGITS_SPLIT_SEED = 0


@lru_cache(maxsize=1)
def _digits_split() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    index = np.arange(len(digits.target))
    train_idx, test_idx = train_test_split(
        index, test_size=DIGITS_TEST_SIZE, random_state=DIGITS_SPLIT_SEED, stratify=digits.target
    )
    images = digits.images.astype(np.float64)
    images.setflags(write=False)
    target = digits.target.astype(np.int64)
    return images, target, np.sort(train_idx), np.sort(test_idx)


def digits_indices(split: Literal["train", "test", "all"] = "test") -> np.ndarray:
    """Indices into ``load_digits`` for a split, ascending."""
    images, _, train_idx, test_idx = _digits_split()
    if split == "train":
        return train_idx
    if split == "test":
        return test_idx
    if split == "all":
        return np.arange(len(images))
    raise ValueError(f"unknown digits split {split!r}; expected 'train', 'test' or 'all'")


def sklearn_digits(split: Literal["train", "test", "all"] = "test") -> list[Sample]:
    """The digits samples of one split, in ascending index order."""
    images, target, _, _ = _digits_split()
    return [
        Sample(id=f"digits-{i}", input=images[i], reference=int(target[i]), meta={"index": int(i)})
        for i in digits_indices(split)
    ]
