"""PyTorch's side of the bench's comparisons: the same networks trained in a plain PyTorch loop (CPU).

PyTorch is not a requirement: the epoch, cnn and time98 parts import this module only when it is
installed, and otherwise report PyTorch's rows as skipped.
"""

from __future__ import annotations

import time

import numpy as np
import torch

from nn.network import DEFAULT_KERNEL


def epoch_seconds(inputs: np.ndarray, labels: np.ndarray, hidden: list[int], batch: int,
                  epochs: int) -> list[float]:
    """Seconds per epoch of an MLP with momentum SGD, after one warm-up epoch."""
    torch.manual_seed(0)
    X, y = torch.from_numpy(inputs), torch.from_numpy(labels)
    model = mlp(hidden)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    times = []
    for _ in range(epochs + 1):
        start = time.perf_counter()
        train_epoch(model, optimizer, X, y, batch)
        times.append(time.perf_counter() - start)
    return times[1:]


def cnn_epoch_seconds(inputs: np.ndarray, labels: np.ndarray, conv: list[int], hidden: list[int],
                      batch: int, epochs: int, kernel: int = DEFAULT_KERNEL) -> list[float]:
    """Seconds per epoch of a CNN with momentum SGD, after 20 warm-up batches."""
    torch.manual_seed(0)
    X, y = torch.from_numpy(inputs).reshape(-1, 1, 28, 28), torch.from_numpy(labels)
    model = cnn(conv, hidden, kernel)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    train_epoch(model, optimizer, X[:20 * batch], y[:20 * batch], batch)
    times = []
    for _ in range(epochs):
        start = time.perf_counter()
        train_epoch(model, optimizer, X, y, batch)
        times.append(time.perf_counter() - start)
    return times


def tutorial_to_98(train_inputs: np.ndarray, train_labels: np.ndarray, test_inputs: np.ndarray,
                   test_labels: np.ndarray, max_epochs: int) -> tuple[float | None, int, float]:
    """The usual tutorial: 784-128-10, Adam lr 1e-3, batch 64, until the test set reaches 98% (or
    max_epochs): (training seconds or None, epochs, test accuracy)."""
    torch.manual_seed(0)
    X, y = torch.from_numpy(train_inputs), torch.from_numpy(train_labels)
    Xt, yt = torch.from_numpy(test_inputs), torch.from_numpy(test_labels)
    model = mlp([128])
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    training = 0.0
    accuracy = 0.0
    for epoch in range(1, max_epochs + 1):
        start = time.perf_counter()
        train_epoch(model, optimizer, X, y, 64)
        training += time.perf_counter() - start
        with torch.no_grad():
            accuracy = float((model(Xt).argmax(1) == yt).float().mean())
        if accuracy >= 0.98:
            return training, epoch, accuracy
    return None, max_epochs, accuracy


def mlp(hidden: list[int]) -> torch.nn.Sequential:
    layers, width = [], 784
    for h in hidden:
        layers += [torch.nn.Linear(width, h), torch.nn.ReLU()]
        width = h
    return torch.nn.Sequential(*layers, torch.nn.Linear(width, 10))


def cnn(conv: list[int], hidden: list[int], kernel: int) -> torch.nn.Sequential:
    nn_ = torch.nn
    layers, channels, side = [], 1, 28
    for filters in conv:
        layers += [nn_.Conv2d(channels, filters, kernel, padding=kernel // 2), nn_.ReLU(), nn_.MaxPool2d(2)]
        channels, side = filters, side // 2
    layers.append(nn_.Flatten())
    width = channels * side * side
    for h in hidden:
        layers += [nn_.Linear(width, h), nn_.ReLU()]
        width = h
    return nn_.Sequential(*layers, nn_.Linear(width, 10))


def train_epoch(model, optimizer, X, y, batch: int) -> None:
    """One epoch in a shuffled order, one optimizer step per batch of cross-entropy."""
    order = torch.randperm(len(X))
    for start in range(0, len(X), batch):
        index = order[start:start + batch]
        loss = torch.nn.functional.cross_entropy(model(X[index]), y[index])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
