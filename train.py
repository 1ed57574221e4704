"""Train a from-scratch NumPy network on handwritten digits.

    python train.py                          # the default recipe: 784-256-10 on MNIST
    python train.py --hidden 16 16 --activation sigmoid --loss mse --optimizer sgd --lr 3
    python train.py --batch-size 0 --epochs 100    # full-batch gradient descent, as in the tutorials
    python train.py --conv 16 32 --hidden 128      # a convolutional network: two 5x5 convolutions
    python train.py --data train.csv --test none --val-split 0.1     # your own CSV (e.g. Kaggle's)
    python train.py --teach data/custom_digits.csv   # teach the model your own drawings (draw.py)

The training settings and their defaults are TrainConfig in nn/settings.py; the files a run reads
and writes are below. `python train.py --help` lists every flag.
"""

from __future__ import annotations

import signal
import sys
from pathlib import Path

import numpy as np

from nn.activations import ACTIVATIONS
from nn.augment import DEFAULT_AUGMENT, INGREDIENTS
from nn.dataset import N_CLASSES, Dataset
from nn.errors import TrainingDiverged, UsageError
from nn.files.model_file import ModelInfo, default_model, load_model, save_model
from nn.losses import LOSSES
from nn.network import DEFAULT_KERNEL, Network
from nn.optim import OPTIMIZERS
from nn.plumbing.callbacks import ProgressBar, StopOnSignals, every
from nn.plumbing.cli import (ArgumentParser, fraction_or_count, memory_for, nonnegative_float, nonnegative_int,
                             output_file, positive_float, positive_int, run, say, unit_interval)
from nn.plumbing.files import check_output, short_path
from nn.plumbing.paths import MODEL, TEMP_DIR, TEST_CSV, TRAIN_CSV, display
from nn.session.runs import check_run, new_network, read_test_data, read_training_data
from nn.session.runs import model_info as run_model_info
from nn.session.teach import check_teach_output, load_drawings, teach_model
from nn.settings import CONV_HIDDEN, CONV_LR, DEFAULT_LR, DTYPES, FULL_BATCH_EPOCHS, TrainConfig
from nn.tools import plots
from nn.training import History, evaluate, fit, predict_dataset, split_validation

# The files of a run (the flags change them):
TRAIN_DATA = [TRAIN_CSV]  # data/mnist_train.csv.gz: MNIST's 60,000 training digits
TEST_DATA = TEST_CSV  # data/mnist_test.csv.gz: its 10,000 test digits, for the final accuracy
MODEL_FILE = MODEL  # data/model.npz: where the trained network goes
PLOTS = TEMP_DIR  # temp/: where the pictures of the run go
PRINT_EVERY = 10  # full batch only: print every this many iterations


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.teach is not None:
        return teach_drawings(args)
    resumed = load_model(args.resume) if args.resume else None
    config = training_config(args, resumed)
    plot_dir = check_before_starting(args, config, resumed)  # nothing is read before this passes

    # 1. Data: files -> arrays (grey levels as uint8, labels as integers)
    train_all, test_set = load_data(args)
    train_set, val_set = split_validation(train_all, config.val_split, config.seed)
    if val_set is not None:
        say(f"Validation: {len(val_set):,} rows held out, {len(train_set):,} left for training")

    # 2. The network: new, or the resumed one
    net = build_network(args, config, resumed)
    say(describe_training(config))

    # 3. Training, epoch by epoch (the test set measured after each one is reported only)
    live = plots.LiveCurves(config.full_batch) if args.live_plot else None
    watch = test_set if val_set is None and not config.full_batch else None
    bar = ProgressBar(check_run(net, train_set, config)[1], config.epochs, enabled=not config.full_batch)
    report = reporter(config, args.print_every, live)

    def after_epoch(record) -> bool:  # True: stop here
        bar.end_of_epoch()
        report(record)
        return stop.requested

    with StopOnSignals() as stop, memory_for(f"training the {net.shape_name} network on {len(train_set):,} rows"):
        history = fit(net, train_set, val_set, config, on_epoch=after_epoch, on_batch=every(bar, stop),
                      watch=watch)
    bar.end_of_epoch()
    history.signal = stop.signum

    # 4. The final accuracy. A Ctrl-C from here until the test is done skips the test, not the save.
    accuracy, predictions = final_accuracy(net, history, val_set, test_set, live)
    try:
        check_learned(net, history, accuracy, test_set, val_set, train_set, config, args.out)
    except TrainingDiverged as e:
        if not history.interrupted:
            raise
        say(f"Interrupted before it learned anything: {str(e).split(': ', 1)[1]}")
        return exit_status(history)

    # 5. Save the model, then draw the pictures of the run
    save_model(args.out, net, model_info(net, config, history, accuracy, train_all, val_set, test_set,
                                         args.resume, resumed))
    say(f"Saved {display(args.out)}")
    if plot_dir is not None:
        draw_plots(plot_dir, history, config, test_set, predictions, net, args)
    return exit_status(history)


# -- the steps -----------------------------------------------------------------------------------

def teach_drawings(args) -> int:
    """train.py --teach CSV: fine-tune the model draw.py would use (or --resume's) on the drawings,
    save it to --out, and print the report."""
    given = [flag for flag, value in (("--hidden", args.hidden), ("--conv", args.conv),
                                      ("--kernel", args.kernel), ("--activation", args.activation),
                                      ("--loss", args.loss), ("--dtype", args.dtype)) if value is not None]
    if given:
        raise UsageError(f"--teach fine-tunes an existing model as it is: leave out {given[0]}")
    model_path = args.resume if args.resume is not None else default_model()
    check_teach_output(args.out)
    check_output(args.out, "model", [("drawings", args.teach)], kind="model")
    net, info = load_model(model_path)
    drawings = load_drawings(args.teach)
    say(f"Teaching {display(model_path)} ({net.shape_name}) the {len(drawings):,} drawings in "
        f"{display(args.teach)}, mixed with MNIST. Ctrl-C stops.")
    taught, _, report = teach_model(net, info, args.teach, args.out)
    if report.cancelled:
        say("Interrupted: nothing was saved.")
        return 128 + (report.signal or signal.SIGINT)
    say(report.summary())
    say(f"({report.how()})")
    say(f"Saved {display(args.out)}")
    return 0


def parse_args(argv=None):
    d = TrainConfig()
    p = ArgumentParser(prog="train.py", description="Train a NumPy neural network on digit images "
                       "read from CSV, test it, save it and plot the run.")
    g = p.add_argument_group("data")
    g.add_argument("--data", nargs="+", type=Path, default=TRAIN_DATA, metavar="CSV",
                   help="training CSV file(s), stacked (default: data/mnist_train.csv.gz)")
    g.add_argument("--test", default=str(TEST_DATA), metavar="CSV|none",
                   help="test CSV, evaluated at the end; 'none' skips it (default: data/mnist_test.csv.gz)")
    g.add_argument("--label-column", default=None, metavar="first|last|NAME",
                   help="where the labels are (default: a column named label, else the first or "
                        "the last column, whichever alone holds digits 0-9)")
    g.add_argument("--val-split", type=fraction_or_count, default=d.val_split, metavar="X",
                   help="hold out rows for validation: a fraction (0.1) or a count (5000) "
                        f"(default: {d.val_split:g})")
    g = p.add_argument_group("network")
    g.add_argument("--hidden", nargs="*", type=nonnegative_int, default=None, metavar="N",
                   help=f"hidden layer sizes, e.g. --hidden 16 16; --hidden 0 (or none given) for no hidden "
                        f"layer, 784-10 (default: {' '.join(map(str, d.hidden))}; after --conv: "
                        f"{' '.join(map(str, CONV_HIDDEN))})")
    g.add_argument("--conv", nargs="+", type=positive_int, default=None, metavar="FILTERS",
                   help="convolutions before the hidden layers, the filters of each, e.g. --conv 16 32: "
                        "each is a KxK convolution, the activation and 2x2 max-pooling (default: none)")
    g.add_argument("--kernel", type=positive_int, default=None, metavar="K",
                   help=f"the convolutions' kernel side, odd (default: {DEFAULT_KERNEL})")
    g.add_argument("--activation", choices=list(ACTIVATIONS), default=None,
                   help=f"hidden-layer activation (default: {d.activation})")
    g.add_argument("--loss", choices=list(LOSSES), default=None,
                   help=f"cross_entropy (softmax outputs) or mse (sigmoid outputs) (default: {d.loss})")
    g.add_argument("--dtype", choices=DTYPES, default=None,
                   help=f"floating-point type of the network (default: {d.dtype}, or the resumed model's)")
    g = p.add_argument_group("training")
    g.add_argument("--optimizer", choices=list(OPTIMIZERS), default=d.optimizer,
                   help=f"{', '.join(OPTIMIZERS)} (default: {d.optimizer})")
    g.add_argument("--lr", type=positive_float, default=None,
                   help="learning rate (default: " + ", ".join(f"{v:g} for {k}" for k, v in DEFAULT_LR.items())
                        + "; with --conv: " + ", ".join(f"{v:g}" for v in CONV_LR.values()) + ")")
    g.add_argument("--momentum", type=unit_interval, default=d.momentum,
                   help=f"momentum coefficient (default: {d.momentum:g})")
    g.add_argument("--weight-decay", type=nonnegative_float, default=d.weight_decay, metavar="WD",
                   help=f"L2 penalty on the weights (default: {d.weight_decay:g})")
    g.add_argument("--label-smoothing", type=nonnegative_float, default=d.label_smoothing, metavar="E",
                   help="cross-entropy's targets made (1 - E) one-hot + E / 10, e.g. 0.1: never pushed "
                        f"toward certainty (default: {d.label_smoothing:g})")
    g.add_argument("--schedule", choices=["constant", "cosine"], default=d.schedule,
                   help=f"learning rate over the run (default: {d.schedule})")
    g.add_argument("--warmup", type=nonnegative_int, default=d.warmup, metavar="STEPS",
                   help=f"steps of linear learning-rate warm-up (default: {d.warmup})")
    g.add_argument("--batch-size", type=nonnegative_int, default=d.batch_size, metavar="N",
                   help=f"rows per step; 0 = full-batch gradient descent (default: {d.batch_size})")
    g.add_argument("--epochs", "--iterations", type=positive_int, default=None, dest="epochs",
                   help=f"passes over the data; iterations when full batch (default: {d.epochs}; "
                        f"full batch: {FULL_BATCH_EPOCHS})")
    g.add_argument("--print-every", type=positive_int, default=PRINT_EVERY, metavar="N",
                   help=f"full batch: print every N iterations (default: {PRINT_EVERY})")
    g.add_argument("--augment", nargs="?", const=DEFAULT_AUGMENT, default="", metavar="KINDS",
                   help="distort training digits at random, for a network that reads more handwriting "
                        f"than MNIST's; slower. KINDS, comma-separated: {', '.join(INGREDIENTS)} "
                        f"(alone: {DEFAULT_AUGMENT})")
    g.add_argument("--seed", type=nonnegative_int, default=d.seed, help=f"random seed (default: {d.seed})")
    g.add_argument("--resume", type=Path, default=None, metavar="MODEL",
                   help="continue training a saved model (its layer sizes, activation and loss)")
    g.add_argument("--teach", type=Path, default=None, metavar="CSV",
                   help="instead of training: teach a model your own drawings (the custom-digits CSV "
                        "draw.py saves), mixed with MNIST, in seconds; the model is --resume's, "
                        "else the one draw.py uses")
    g = p.add_argument_group("output")
    g.add_argument("--out", type=output_file, default=MODEL_FILE, metavar="MODEL",
                   help="where to save the model (default: data/model.npz)")
    g.add_argument("--plots", default=None, metavar="DIR|none",
                   help="folder for the plots, made if needed; 'none' skips them (default: temp/)")
    g.add_argument("--show", action="store_true", help="open the plots in windows at the end")
    g.add_argument("--live-plot", action="store_true", help="update the curves while training")
    args = p.parse_args(argv)
    args.test = None if str(args.test).lower() == "none" else Path(args.test)
    return args


def training_config(args, resumed=None) -> TrainConfig:
    """The flags, over TrainConfig's defaults (a resumed CNN keeps a CNN's learning rate); the
    rules for flags that cannot go together are TrainConfig.chosen's, the page's too."""
    config = TrainConfig.chosen(
        name=lambda setting: "--" + setting.replace("_", "-"),
        hidden=args.hidden, conv=args.conv or (list(resumed[0].conv) if resumed else None),
        kernel=args.kernel, activation=args.activation, loss=args.loss, dtype=args.dtype,
        optimizer=args.optimizer, lr=args.lr, momentum=args.momentum,
        weight_decay=args.weight_decay, label_smoothing=args.label_smoothing,
        schedule=args.schedule, warmup=args.warmup,
        batch_size=args.batch_size, epochs=args.epochs, augment=args.augment,
        seed=args.seed, val_split=args.val_split)
    if args.hidden is not None:
        args.hidden = config.hidden  # --hidden 0 is no hidden layer: []
    return config


def check_before_starting(args, config: TrainConfig, resumed) -> Path | None:
    """Fail now, not after loading data or training: a network that cannot be built or resumed
    as asked, results that could not be written, or would be written over what they are made
    from. Returns the plot folder (made if needed), or None."""
    if resumed is not None:
        net = resumed[0]
        for name, asked, had in (("--hidden", args.hidden, net.sizes[1:-1]),
                                 ("--conv", args.conv, net.conv),
                                 ("--kernel", args.kernel, net.kernel),
                                 ("--activation", args.activation, net.activation.name),
                                 ("--loss", args.loss, net.loss.name)):
            if asked is not None and asked != had:
                shown = (" ".join(map(str, asked)) or "0") if isinstance(asked, list) else asked
                raise UsageError(f"{name} {shown} does not match the resumed model {args.resume}, "
                                 f"a {net}; leave it out to continue that network")
    inputs = [("training data", p) for p in args.data] + [("test data", args.test)]
    check_output(args.out, "model", inputs, kind="model")
    if args.plots is not None and args.plots.lower() == "none":
        plot_dir = None
        if args.show or args.live_plot:
            raise UsageError("--show and --live-plot show the plots: leave out --plots none")
    else:
        plot_dir = PLOTS if args.plots is None else Path(args.plots)
        try:
            plot_dir.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise UsageError(f"{short_path(plot_dir)}: cannot make the plot folder ({e.strerror or e})") from None
        for name in plots.FILES:
            check_output(plot_dir / name, "plots", inputs + [("model", args.out)], kind="picture")
    if (args.show or args.live_plot) and not plots.enable_windows():
        sys.stderr.write("note: no display, so no plot windows; the plots are saved as files\n")
        args.show = args.live_plot = False
    return plot_dir


def load_data(args) -> tuple[Dataset, Dataset | None]:
    """The training files, stacked, and the test file."""
    with memory_for(f"reading {', '.join(display(p) for p in args.data)}"):
        train = read_training_data(args.data, args.label_column)
    say(f"Training data: {describe(train)}")
    with memory_for(f"reading {display(args.test or 'the test data')}"):
        test = read_test_data(args.test, args.label_column)
    if test is not None:
        say(f"Test data: {describe(test)}")
        if test.sha256 in train.sha256.split("+"):  # the same bytes, whatever the file is called
            sys.stderr.write(f"train.py: warning: {test.source} has the same content as training data, "
                             "so its accuracy says how well the network learned those digits, not how "
                             "it reads new ones (give another --test, or --val-split)\n")
    return train, test


def build_network(args, config: TrainConfig, resumed) -> Network:
    if resumed is None:
        with memory_for("building the network"):
            net = new_network(config)
        say(str(net))
        if net.conv:
            say("Layers: " + " -> ".join(net.layer_names()))
        return net
    net = resumed[0]
    config.hidden, config.activation, config.loss = net.sizes[1:-1], net.activation.name, net.loss.name
    config.conv, config.kernel = list(net.conv), net.kernel
    converted = ""
    if args.dtype is not None and np.dtype(args.dtype) != net.dtype:
        converted = f" (converted from {net.dtype.name} to {args.dtype}, as --dtype asks)"
        net = net.astype(args.dtype)
    config.dtype = net.dtype.name
    say(f"Resuming {display(args.resume)}: {net}{converted}")
    return net


def describe_training(config: TrainConfig) -> str:
    full_batch = config.full_batch
    batch = "full batch" if full_batch else f"batch {config.batch_size}"
    steps = ("iteration" if full_batch else "epoch") + ("s" if config.epochs != 1 else "")
    extra = f", augmented ({config.augment})" if config.augment else ""
    return (f"Training: {config.optimizer} (lr {config.lr:g}, {config.schedule}), {batch}{extra}, "
            f"{config.epochs} {steps}, seed {config.seed}. Ctrl-C stops and saves.")


def reporter(config: TrainConfig, print_every: int, live):
    """What to do after each epoch: print a line (full batch: every print_every iterations) and
    update the live curves."""
    full_batch = config.full_batch

    def report(r):
        val = f"  val {r.val_accuracy:7.2%}" if r.val_accuracy is not None else ""
        test = f"  test {r.test_accuracy:7.2%}" if r.test_accuracy is not None else ""
        line = f"loss {r.train_loss:.4f}  train {r.train_accuracy:7.2%}{val}{test}  {r.seconds:5.2f}s"
        if not full_batch:
            say(f"epoch {r.epoch:3d}/{config.epochs}  {line}")
        elif r.epoch % print_every == 0 or r.epoch in (1, config.epochs):
            say(f"iteration {r.epoch:4d}/{config.epochs}  {line}")
        if live is not None:
            live.update(r)

    return report


def final_accuracy(net: Network, history: History, val_set, test_set, live) -> tuple[dict, object]:
    """({"train": ..., "validation": ..., "test": ...}, the test predictions or None). A Ctrl-C
    while this runs skips what is left of it: the model is still saved."""
    accuracy = {"train": history.epochs[-1].train_accuracy if history.epochs else None}
    predictions = None
    try:
        if live is not None:
            live.close()  # back to blocking windows, so --show waits for you to close them
        if history.interrupted:
            where = f"epoch {history.best_epoch}" if history.best_epoch else "the last step"
            say(f"Interrupted: keeping the weights of {where}.")
        say(f"Training took {history.seconds:.1f}s.")
        if val_set is not None:
            accuracy["validation"] = evaluate(net, val_set.images, val_set.labels)[1]
        if test_set is not None:
            with memory_for(f"testing on {test_set.source}"):
                predictions = predict_dataset(net, test_set)
            accuracy["test"] = predictions.accuracy
            say(f"Test accuracy: {predictions.accuracy:.2%} ({len(test_set):,} images)")
    except KeyboardInterrupt:
        history.interrupted = True
        predictions = None
        accuracy.pop("test", None)
        say("Interrupted: skipping the test, saving the model.")
    return accuracy, predictions


def check_learned(net, history, accuracy, test_set, val_set, train_set, config, out) -> None:
    """TrainingDiverged when the network ends no better than always answering the commonest
    digit (nothing is saved then); a warning below 50%."""
    if "test" in accuracy:
        judged, where, now = test_set, "test", accuracy["test"]
    elif "validation" in accuracy:
        judged, where, now = val_set, "validation", accuracy["validation"]
    elif history.interrupted:  # no time for another pass: the last epoch's running figure
        judged, where, now = train_set, "training", accuracy["train"] or 0.0
    else:
        judged, where = train_set.subset(slice(0, 10_000)), "training"
        now = evaluate(net, judged.images, judged.labels)[1]
    counts = np.bincount(judged.labels, minlength=N_CLASSES)
    commonest = counts.max() / len(judged)
    if len(judged) < 100:
        return  # too few to tell
    if commonest == 1:
        sys.stderr.write(f"train.py: warning: every {where} label is {counts.argmax()}: the network "
                         "can only learn to answer that (check --label-column)\n")
        return
    if now <= commonest + 0.02:
        hint = ("a larger --lr" if config.lr < 1e-4 else f"a lower --lr, e.g. --lr {config.lr / 10:g}")
        raise TrainingDiverged(
            f"training learned nothing: its {where} accuracy, {now:.2%}, is no better than always "
            f"answering {counts.argmax()} ({commonest:.2%}); the model was not saved "
            f"({display(out)} is unchanged). Try {hint}")
    if now < 0.5 and not history.interrupted:  # stopped early on purpose: no advice wanted
        sys.stderr.write(f"train.py: warning: the {where} accuracy is only {now:.2%}: the network "
                         "has barely learned (try another --lr, or more --epochs)\n")


def model_info(net, config, history, accuracy, train_all, val_set, test_set, resume, resumed) -> ModelInfo:
    extra = {"resumed_from": {"path": str(resume), "accuracy": resumed[1].accuracy}} if resume else {}
    return run_model_info(net, config, history, accuracy, train_all, len(val_set) if val_set else 0,
                          test_set, **extra)


def draw_plots(plot_dir: Path, history, config, test_set, predictions, net, args) -> None:
    try:
        written = plots.save_all(
            history.epochs, config.full_batch,
            test_set.images if test_set is not None else None,
            test_set.labels if test_set is not None else None,
            predictions.digits if predictions is not None else None,
            net.weights[0], plot_dir, keep_open=args.show,
            steps=history.step_losses, lrs=history.step_lrs, outputs=len(net.weights) == 1)
    except (OSError, MemoryError) as e:
        reason = "out of memory" if isinstance(e, MemoryError) else e.strerror or e
        raise UsageError(f"{plot_dir}: cannot write the plots ({reason}); "
                         f"the model was saved to {display(args.out)}") from None
    say("Plots: " + ", ".join(display(p) for p in written))
    # Pictures an earlier run left that this one did not draw (no test set this time): gone,
    # so that nobody takes them for this run's.
    stale = [plot_dir / name for name in plots.FILES if plot_dir / name not in written]
    removed = [p for p in stale if p.is_file() and _remove(p)]
    if removed:
        say("Removed, from an earlier run: " + ", ".join(display(p) for p in removed))
    if args.show:
        plots.pyplot().show()


def _remove(path: Path) -> bool:
    try:
        path.unlink()
        return True
    except OSError:
        return False


def exit_status(history: History) -> int:
    """0, or 128 + the signal that stopped training (130 for Ctrl-C, 143 for SIGTERM), as a
    shell reports a program stopped by it."""
    if not history.interrupted:
        return 0
    return 128 + (history.signal or signal.SIGINT)


def describe(data) -> str:
    where = f" (labels: column {data.label_column})" if data.label_column else ""
    kind = "labeled" if data.labeled else "unlabeled"
    return f"{data.source}: {len(data):,} {kind} images{where}"


if __name__ == "__main__":
    run(main, "train.py")
