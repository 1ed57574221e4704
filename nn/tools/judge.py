"""The judge of cuts: a network that reads a part of a written number as one of the ten digits or
as NOT_ONE ("not one digit": two digits that touch, half of one, a fragment). The number reader
(nn/session/numbers.py) asks it whether a part is one digit and whether the halves of a cut are;
that is recognition-driven segmentation (LeCun, Bottou, Bengio and Haffner, 1998), the network
choosing among the cuts.

    python -m nn train-judge [--out data/judge.npz] [--numbers 10000] [--epochs 6]

It learns from numbers written with MNIST's *training* digits (nn/bench/numbers.py writes them:
gaps, a touching pair, a digit in pieces), cut as the reader cuts them. Each part and each half
of each cut tried is labelled by the digits whose ink it holds: one digit's ink, nearly all of it
and nearly nothing else, is that digit; two digits' ink, or too little of one, is NOT_ONE; what is
in between is left out. The training digits themselves are added as they are, so that the judge
reads a plain digit as what it is.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from nn.bench.numbers import KINDS, compose
from nn.dataset import Dataset
from nn.files.digits_csv import load_csv
from nn.files.model_file import ModelInfo, save_model
from nn.network import Network
from nn.plumbing.files import check_output
from nn.plumbing.paths import TRAIN_CSV, display
from nn.session.numbers import DIGIT_ASPECT, cuts, digit_pieces, part_ink
from nn.session.preprocess import normalize
from nn.settings import TrainConfig
from nn.training import fit

NOT_ONE = 10  # the judge's 11th answer
WHOLE = 0.9  # a part with this share of one digit's ink, and this share of its own ink from it, is that digit
MIXED = 0.75  # ...one with less of either is not one digit
FILTERS, HIDDEN = (16, 32), (128,)  # the judge's convolutions and dense layer: the shipped CNN's
KIND_SHARES = {"touching": 0.6, "gaps": 0.2, "pieces": 0.2}


def label_of(ink: np.ndarray, owners: np.ndarray, mask: np.ndarray) -> int | None:
    """The digit (its place in the number) a part holds, NOT_ONE, or None when it is unclear."""
    held = np.where(mask, ink, 0)
    inside = np.bincount(owners[owners >= 0], weights=held[owners >= 0], minlength=owners.max() + 1)
    total = np.bincount(owners[owners >= 0], weights=ink[owners >= 0], minlength=owners.max() + 1)
    k = int(np.argmax(inside))
    coverage, purity = inside[k] / max(total[k], 1e-9), inside[k] / max(held.sum(), 1e-9)
    if coverage >= WHOLE and purity >= WHOLE:
        return k
    if coverage < MIXED or purity < MIXED:
        return NOT_ONE
    return None


def examples(train: Dataset, numbers: int, seed: int = 0) -> Dataset:
    """Normalised parts and halves of `numbers` written numbers, and as many training digits,
    labelled 0-9 or NOT_ONE, as a Dataset of 28x28 images (0-255)."""
    images, labels = [], []
    for kind in KINDS:
        for number in compose(train, kind, int(numbers * KIND_SHARES[kind]), seed=seed):
            pieces = digit_pieces(number.ink)
            typical = DIGIT_ASPECT * float(np.median([p.box[3] for p in pieces]))
            for part in pieces:
                candidates = [part]
                if part.box[2] > 0.5 * typical:
                    candidates += [half for pair in cuts(number.ink, part) for half in pair]
                for candidate in candidates:
                    k = label_of(number.ink, number.owners, candidate.mask)
                    if k is not None:
                        images.append(normalize(part_ink(number.ink, candidate)))
                        labels.append(k if k == NOT_ONE else int(number.text[k]))
    rng = np.random.default_rng(seed)
    labels_ = np.array(labels)
    ones = np.flatnonzero(labels_ != NOT_ONE)  # most halves tried are not one digit: as many as the rest kept
    kept = np.sort(np.r_[ones, rng.permutation(np.flatnonzero(labels_ == NOT_ONE))[:2 * len(ones)]])
    images, labels = [images[i] for i in kept], [labels[i] for i in kept]
    for row in rng.choice(len(train), size=min(len(labels) // 2, len(train)), replace=False):
        images.append(train.images[row].reshape(28, 28) / 255.0)
        labels.append(int(train.labels[row]))
    return Dataset(np.round(np.clip(np.stack(images), 0, 1) * 255).astype(np.uint8).reshape(len(labels), -1),
                   np.array(labels, dtype=np.int64), "numbers written with MNIST's training digits", "")


def train_judge(train: Dataset, numbers: int = 10000, epochs: int = 6, seed: int = 0,
                say=print) -> tuple[Network, Dataset, float]:
    """A new judge (the shipped CNN's shape, 11 outputs) trained on examples(); (net, examples, seconds)."""
    started = time.perf_counter()
    data = examples(train, numbers, seed)
    say(f"{len(data):,} examples from {numbers:,} numbers ({np.mean(data.labels == NOT_ONE):.0%} not one digit) "
        f"in {time.perf_counter() - started:.0f} s")
    net = Network([784, *HIDDEN, NOT_ONE + 1], conv=FILTERS, seed=seed)
    config = TrainConfig.chosen(conv=list(FILTERS), hidden=list(HIDDEN), epochs=epochs, seed=seed)
    fit(net, data, None, config, on_epoch=lambda r: say(f"epoch {r.epoch}/{epochs}: loss {r.train_loss:.4f}, "
                                                        f"train {r.train_accuracy:.2%}, {r.seconds:.0f} s"))
    return net, data, time.perf_counter() - started


def main(args: argparse.Namespace) -> int:
    """python -m nn train-judge: train a judge on MNIST's training digits and save it to --out."""
    check_output(args.out, "judge", [("training data", TRAIN_CSV)], kind="model")
    train = load_csv(TRAIN_CSV)
    net, data, seconds = train_judge(train, args.numbers, args.epochs, args.seed)
    accuracy = float(np.mean(net.predict(data.images / np.float32(255)) == data.labels))
    save_model(args.out, net, ModelInfo(
        sizes=net.sizes, activation="relu", loss="cross_entropy", conv=net.conv,
        training={"what": "the judge of cuts: digits 0-9, and 10 for not one digit (nn/tools/judge.py)",
                  "numbers": args.numbers, "epochs": args.epochs, "seed": args.seed, "seconds": round(seconds, 1),
                  "examples": len(data)},
        data={"train": {"file": display(TRAIN_CSV), "sha256": train.sha256}}, accuracy={"train": accuracy}))
    print(f"Saved {display(args.out)}: {accuracy:.2%} of its {len(data):,} examples right, in {seconds:.0f} s")
    return 0
