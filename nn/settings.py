"""The settings of training, in one place: TrainConfig holds every one with the default of
`python train.py`, and TrainConfig.chosen fills in what a run leaves out (train.py's flags, the
page's Train panel)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Callable

from nn.architecture import DEFAULT_KERNEL, check_architecture
from nn.augment import Augmentation
from nn.dataset import N_CLASSES, N_PIXELS
from nn.errors import UsageError, shown

# Learning rates that suit each optimizer when --lr is not given.
DEFAULT_LR = {"sgd": 0.1, "momentum": 0.2, "adam": 0.002}
# ...and for a CNN, whose first steps blow up at those rates (momentum at 0.2 left conv 16-32 at
# chance after an epoch; at 0.05 it read 98.6% of the test set)
CONV_LR = {"sgd": 0.05, "momentum": 0.05, "adam": 0.001}
# Full-batch gradient descent (--batch-size 0) takes one step an "epoch": it needs many more.
FULL_BATCH_EPOCHS = 100
DTYPES = ("float32", "float64")
# The dense layers after convolutions, unless --hidden says otherwise: the classic small CNN
# (two convolutions of 16 and 32 filters, 128 units) reads MNIST's test set to 99.4-99.5%.
CONV_HIDDEN = [128]


@dataclass
class TrainConfig:
    """Every setting of training, with the defaults of `python train.py`. (The files a run reads
    and writes are the script's business: train.py.)

    That recipe (784-256-10, momentum SGD at lr 0.2 with a cosine decay, batch 128, 5 epochs) is the
    quickest one measured to reach 98% test accuracy for every seed tried; 784-128-10 is cheaper
    per epoch but lands on either side of 98% depending on the seed.
    """

    # the network
    hidden: list[int] = field(default_factory=lambda: [256])  # hidden layer sizes (CONV_HIDDEN after --conv)
    conv: list[int] = field(default_factory=list)  # filters of each convolution; []: none (an MLP)
    kernel: int = DEFAULT_KERNEL  # the convolutions' kernel side
    activation: str = "relu"  # relu, leaky_relu, elu, sigmoid, tanh
    loss: str = "cross_entropy"  # cross_entropy (softmax outputs) or mse (sigmoid outputs)
    dtype: str = "float32"  # or float64
    # optimization
    optimizer: str = "momentum"  # sgd, momentum, adam
    lr: float = DEFAULT_LR["momentum"]  # learning rate at the start (after warm-up)
    momentum: float = 0.9  # for the momentum optimizer
    weight_decay: float = 0.0  # L2 penalty on the weights
    label_smoothing: float = 0.0  # e: cross-entropy's targets (1 - e) one-hot + e / 10 (nn/losses.py)
    schedule: str = "cosine"  # constant or cosine
    warmup: int = 0  # steps of linear learning-rate warm-up
    batch_size: int = 128  # rows per step; 0 = full batch
    epochs: int = 5  # passes over the training rows; iterations when full batch (FULL_BATCH_EPOCHS)
    augment: str = ""  # distortions of each batch (nn/augment.py), e.g. "affine,stroke"; "": none
    seed: int = 0  # same seed, same weights
    val_split: float = 0.0  # rows held out for validation: a fraction (0.1) or a count (5000)

    def as_dict(self) -> dict:
        return asdict(self)

    @property
    def full_batch(self) -> bool:
        """Full-batch gradient descent: every step on all the rows (batch_size 0)."""
        return self.batch_size == 0

    @classmethod
    def chosen(cls, name: Callable[[str], str] = str, **given) -> "TrainConfig":
        """The settings asked for (a value of None: not asked), the rest from train.py's rules:
        after convolutions the hidden layers are CONV_HIDDEN and the learning rate CONV_LR's, the
        learning rate suits the optimizer, and full batch (batch_size 0) runs FULL_BATCH_EPOCHS.

        train.py's flags and the page's Train panel both come through here, and so do the rules
        for settings that cannot go together: a UsageError names the setting as `name` writes it
        (train.py: "--hidden"; the page: "hidden")."""
        given = {k: v for k, v in given.items() if v is not None}
        hidden = given.get("hidden")
        if hidden is not None and 0 in hidden:
            if list(hidden) != [0]:
                raise UsageError(f"{name('hidden')}: 0 means no hidden layer, so it stands alone; got "
                                 f"{shown(' '.join(map(str, hidden)), quote=False)}")
            given["hidden"] = []
        if "kernel" in given and not given.get("conv"):
            raise UsageError(f"{name('kernel')} sets the size of the convolutions' kernels: give {name('conv')} too")
        if "augment" in given:
            given["augment"] = ",".join(k.strip() for k in given["augment"].split(",") if k.strip())
            try:
                Augmentation.of(given["augment"])
            except ValueError as e:
                raise UsageError(f"{name('augment')}: {e}") from None
        d = cls()
        conv = list(given.pop("conv", d.conv))
        optimizer = given.pop("optimizer", d.optimizer)
        batch_size = given.pop("batch_size", d.batch_size)
        config = cls(conv=conv, optimizer=optimizer, batch_size=batch_size,
                     hidden=list(given.pop("hidden", CONV_HIDDEN if conv else d.hidden)),
                     lr=given.pop("lr", (CONV_LR if conv else DEFAULT_LR)[optimizer]),
                     epochs=given.pop("epochs", FULL_BATCH_EPOCHS if cls(batch_size=batch_size).full_batch
                                      else d.epochs),
                     **given)
        check_architecture([N_PIXELS, *config.hidden, N_CLASSES], config.conv, config.kernel)
        # A step takes lr x weight_decay times every weight away from it (nn/optim.py): at 1 or more
        # the weights flip sign each step and grow without end, whatever the data.
        if config.weight_decay * config.lr >= 1:
            raise UsageError(f"{name('weight_decay')} {config.weight_decay:g} is too strong for {name('lr')} "
                             f"{config.lr:g}: each step would take lr x weight decay = "
                             f"{config.weight_decay * config.lr:.3g} times every weight away from it, so the "
                             f"weights would flip sign and blow up; give a weight decay below "
                             f"{1 / config.lr:.3g} (usual: 0.0001 to 0.001)")
        if not 0 <= config.label_smoothing < 1:
            raise UsageError(f"{name('label_smoothing')} must be at least 0 and below 1 (usual: 0.1), "
                             f"got {config.label_smoothing:g}")
        if config.label_smoothing and config.loss != "cross_entropy":
            raise UsageError(f"{name('label_smoothing')} goes with the cross-entropy loss, not {config.loss}")
        return config
