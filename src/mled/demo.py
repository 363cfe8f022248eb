"""A real demo for an empty store: ``python -m mled.demo [--if-empty] [--store URI]``.

It runs a small hyperparameter sweep on the handwritten-digits dataset that ships with
scikit-learn (``sklearn.datasets.load_digits``: nothing is downloaded) and logs it the way a
training script would, through the module-level SDK:

- a linear model (``SGDClassifier``, logistic loss) and a one-hidden-layer network
  (``MLPClassifier``) are trained epoch by epoch with ``partial_fit`` over a grid of learning
  rates, L2 strengths and hidden sizes;
- every trial is one experiment: ``mled.seed_everything`` before it starts, its hyperparameters
  as params, its model family and sweep as tags, ``train_loss``/``val_loss``/``train_accuracy``/
  ``val_accuracy`` at every epoch, and ``test_accuracy``/``test_f1_macro``/``test_loss`` once at
  the end (no step);
- a k-nearest-neighbours baseline is trained too and recorded afterwards with
  ``mled.log_experiment``, the path for experiments that already ran;
- the trial with the best validation accuracy gets the tag ``sweep.best``.

Every number is computed by the training that just ran. The full sweep takes a few seconds.

Example:
    $ python -m mled.demo --store /tmp/demo.db --experiments 4 --epochs 10
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import mled
from mled.errors import MledError

PROJECT = "digits-demo"
"""The project every demo experiment goes to."""

SWEEP = "digits-sweep"
"""The group of the sweep's experiments, also stored as their ``sweep`` tag."""

DEFAULT_EPOCHS = 30
DEFAULT_SEED = 42
MLP_BATCH_SIZE = 64


@dataclass(frozen=True)
class Trial:
    """One point of the sweep grid: a model family and its hyperparameters."""

    family: str
    hyperparams: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """A short experiment name such as ``mlp-h64-lr0.003``."""
        hp = self.hyperparams
        if self.family == "sgd":
            return f"sgd-alpha{hp['alpha']:g}-eta{hp['eta0']:g}"
        return f"mlp-h{hp['hidden_units']}-lr{hp['learning_rate_init']:g}"


def sweep_grid() -> list[Trial]:
    """The twelve trials of the sweep, alternating families so any prefix covers both."""
    linear = [
        Trial("sgd", {"alpha": alpha, "eta0": eta0})
        for eta0 in (0.01, 0.1)
        for alpha in (1e-4, 1e-3, 1e-2)
    ]
    network = [
        Trial("mlp", {"hidden_units": hidden, "learning_rate_init": lr})
        for lr in (1e-3, 3e-3, 1e-2)
        for hidden in (32, 64)
    ]
    return [trial for pair in zip(network, linear, strict=True) for trial in pair]


@dataclass(frozen=True)
class Splits:
    """The digits dataset, standardized and split into train / validation / test (60/20/20)."""

    x_train: Any
    y_train: Any
    x_val: Any
    y_val: Any
    x_test: Any
    y_test: Any
    classes: Any

    def sizes(self) -> dict[str, int]:
        return {
            "n_train": len(self.y_train),
            "n_val": len(self.y_val),
            "n_test": len(self.y_test),
        }


def load_splits(seed: int) -> Splits:
    """Load the bundled digits (1,797 8x8 images), split stratified, standardize on train."""
    import numpy as np
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    x, y = load_digits(return_X_y=True)
    x_rest, x_test, y_rest, y_test = train_test_split(
        x, y, test_size=0.2, random_state=seed, stratify=y
    )
    x_train, x_val, y_train, y_val = train_test_split(
        x_rest, y_rest, test_size=0.25, random_state=seed, stratify=y_rest
    )
    scaler = StandardScaler().fit(x_train)
    return Splits(
        x_train=scaler.transform(x_train),
        y_train=y_train,
        x_val=scaler.transform(x_val),
        y_val=y_val,
        x_test=scaler.transform(x_test),
        y_test=y_test,
        classes=np.unique(y),
    )


def build_model(trial: Trial, seed: int) -> Any:
    """An untrained scikit-learn classifier for ``trial`` that supports ``partial_fit``."""
    hp = trial.hyperparams
    if trial.family == "sgd":
        from sklearn.linear_model import SGDClassifier

        return SGDClassifier(
            loss="log_loss",
            alpha=hp["alpha"],
            learning_rate="constant",
            eta0=hp["eta0"],
            random_state=seed,
        )
    from sklearn.neural_network import MLPClassifier

    return MLPClassifier(
        hidden_layer_sizes=(hp["hidden_units"],),
        learning_rate_init=hp["learning_rate_init"],
        alpha=1e-4,
        batch_size=MLP_BATCH_SIZE,
        random_state=seed,
    )


def model_params(trial: Trial, model: Any, epochs: int, seed: int, data: Splits) -> dict[str, Any]:
    """The params logged for a trial: hyperparameters, training setup and data sizes."""
    params: dict[str, Any] = {
        "model": type(model).__name__,
        "model.family": trial.family,
        "epochs": epochs,
        "seed": seed,
        "dataset": "sklearn.datasets.load_digits",
        "preprocessing": "StandardScaler",
        **data.sizes(),
    }
    if trial.family == "sgd":
        params.update(
            loss="log_loss",
            alpha=trial.hyperparams["alpha"],
            learning_rate="constant",
            eta0=trial.hyperparams["eta0"],
        )
    else:
        params.update(
            hidden_units=trial.hyperparams["hidden_units"],
            learning_rate_init=trial.hyperparams["learning_rate_init"],
            alpha=1e-4,
            solver="adam",
            batch_size=MLP_BATCH_SIZE,
        )
    return params


def evaluate(model: Any, x: Any, y: Any, classes: Any) -> tuple[float, float]:
    """(log loss, accuracy) of a fitted classifier on one split, from one ``predict_proba``.

    Computed with numpy directly: ``sklearn.metrics`` validates its inputs on every call,
    which would cost more than the epochs of training it measures.
    """
    import numpy as np

    proba = model.predict_proba(x)
    true_column = np.searchsorted(classes, y)
    picked = np.clip(proba[np.arange(len(y)), true_column], 1e-15, 1.0)
    loss = float(-np.mean(np.log(picked)))
    accuracy = float(np.mean(classes[np.argmax(proba, axis=1)] == y))
    return loss, accuracy


def f1_macro(model: Any, x: Any, y: Any) -> float:
    """Macro-averaged F1 of a fitted classifier on one split."""
    from sklearn.metrics import f1_score

    return float(f1_score(y, model.predict(x), average="macro"))


@dataclass(frozen=True)
class TrialResult:
    """What the summary line and the ``sweep.best`` tag need from a finished trial."""

    experiment: mled.LiveExperiment
    val_accuracy: float
    test_accuracy: float
    seconds: float


def run_trial(trial: Trial, data: Splits, *, epochs: int, seed: int) -> TrialResult:
    """Train one trial epoch by epoch as one experiment of the active store."""
    started = time.perf_counter()
    model = build_model(trial, seed)
    mled.seed_everything(seed)  # recorded on the experiment started next
    val_accuracy = 0.0
    with mled.start_experiment(
        PROJECT,
        trial.name,
        params=model_params(trial, model, epochs, seed, data),
        tags={"model.family": trial.family, "sweep": SWEEP, "dataset": "digits"},
        group=SWEEP,
        notes=f"{trial.family} trained for {epochs} epochs with partial_fit on sklearn digits",
    ) as exp:
        for epoch in range(epochs):
            model.partial_fit(data.x_train, data.y_train, classes=data.classes)
            train_loss, train_accuracy = evaluate(model, data.x_train, data.y_train, data.classes)
            val_loss, val_accuracy = evaluate(model, data.x_val, data.y_val, data.classes)
            exp.log_metrics(
                {
                    "train_loss": train_loss,
                    "train_accuracy": train_accuracy,
                    "val_loss": val_loss,
                    "val_accuracy": val_accuracy,
                },
                step=epoch,
            )
        test_loss, test_accuracy = evaluate(model, data.x_test, data.y_test, data.classes)
        test_f1 = f1_macro(model, data.x_test, data.y_test)
        exp.log_metrics(
            {"test_loss": test_loss, "test_accuracy": test_accuracy, "test_f1_macro": test_f1}
        )
    return TrialResult(exp, val_accuracy, test_accuracy, time.perf_counter() - started)


def log_baseline(data: Splits, *, seed: int) -> mled.Experiment:
    """Fit a k-NN baseline now, then record it with ``mled.log_experiment`` (already run)."""
    from sklearn.neighbors import KNeighborsClassifier

    started_at = time.time()
    model = KNeighborsClassifier(n_neighbors=3).fit(data.x_train, data.y_train)
    _, val_accuracy = evaluate(model, data.x_val, data.y_val, data.classes)
    test_loss, test_accuracy = evaluate(model, data.x_test, data.y_test, data.classes)
    test_f1 = f1_macro(model, data.x_test, data.y_test)
    ended_at = time.time()
    return mled.log_experiment(
        PROJECT,
        "knn-baseline",
        params={
            "model": "KNeighborsClassifier",
            "model.family": "knn",
            "n_neighbors": 3,
            "seed": seed,
            "dataset": "sklearn.datasets.load_digits",
            "preprocessing": "StandardScaler",
            **data.sizes(),
        },
        metrics={
            "val_accuracy": val_accuracy,
            "test_loss": test_loss,
            "test_accuracy": test_accuracy,
            "test_f1_macro": test_f1,
        },
        tags={"model.family": "knn", "sweep": SWEEP, "dataset": "digits", "role": "baseline"},
        started_at=started_at,
        ended_at=ended_at,
        group=SWEEP,
        notes="trained first, then recorded as an already-run experiment with mled.log_experiment",
        seeds={"seed": seed},
    )


def store_has_experiments() -> bool:
    """True when the active store already holds an experiment the current user can read."""
    return bool(mled.list_experiments(limit=1))


def run_demo(*, trials: int, epochs: int, seed: int, out: Any = None) -> list[str]:
    """Log the baseline and the first ``trials`` trials of the sweep; return their IDs."""
    from threadpoolctl import threadpool_limits  # installed with scikit-learn

    out = out if out is not None else sys.stdout
    # The matrices are tiny: BLAS threads would only contend for the CPU (badly so on a busy
    # machine), so the training runs single-threaded.
    with threadpool_limits(limits=1):
        return _run_sweep(trials=trials, epochs=epochs, seed=seed, out=out)


def _run_sweep(*, trials: int, epochs: int, seed: int, out: Any) -> list[str]:
    grid = sweep_grid()[:trials]
    width = len(f"[{len(grid):>2}/{len(grid)}]")
    data = load_splits(seed)
    baseline = log_baseline(data, seed=seed)
    test_accuracy = baseline.metrics["test_accuracy"]
    print(
        f"  {'[base]':<{width}} {baseline.name:<24} test_accuracy {test_accuracy:.3f}"
        f"  {baseline.id}",
        file=out,
    )
    results: list[TrialResult] = []
    for index, trial in enumerate(grid, start=1):
        result = run_trial(trial, data, epochs=epochs, seed=seed)
        results.append(result)
        print(
            f"  [{index:>2}/{len(grid)}] {trial.name:<24} "
            f"val_accuracy {result.val_accuracy:.3f}  test_accuracy {result.test_accuracy:.3f}"
            f"  {result.seconds:.1f} s  {result.experiment.id}",
            file=out,
        )
    if results:
        best = max(results, key=lambda r: r.val_accuracy)
        best.experiment.set_tag("sweep.best", "val_accuracy")
        print(
            f"  best by val_accuracy: {best.experiment.name} {best.experiment.id}",
            file=out,
        )
    return [baseline.id, *(r.experiment.id for r in results)]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m mled.demo",
        description="Fill an MLED store with a real scikit-learn hyperparameter sweep on the "
        "bundled digits dataset (no download).",
    )
    parser.add_argument(
        "--if-empty",
        action="store_true",
        help="do nothing if the store already has experiments",
    )
    parser.add_argument(
        "--store",
        metavar="URI",
        help="store to fill (sqlite:///path, postgresql://..., or a path); default: "
        "MLED_TRACKING_URI, else the embedded store under MLED_HOME (~/.mled)",
    )
    parser.add_argument(
        "--experiments",
        type=_positive_int,
        default=len(sweep_grid()),
        metavar="N",
        help=f"number of sweep trials, 1-{len(sweep_grid())} (default: all); a k-NN baseline "
        "is always logged too",
    )
    parser.add_argument(
        "--epochs",
        type=_positive_int,
        default=DEFAULT_EPOCHS,
        metavar="N",
        help=f"training epochs per trial (default: {DEFAULT_EPOCHS})",
    )
    parser.add_argument(
        "--seed", type=int, default=DEFAULT_SEED, help=f"random seed (default: {DEFAULT_SEED})"
    )
    return parser


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not at least 1")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    """Run the demo; returns the process exit code."""
    args = _parser().parse_args(argv)
    trials = min(args.experiments, len(sweep_grid()))
    if args.store is not None:
        mled.set_tracking_uri(args.store)
    try:
        store = _display_uri(mled.get_tracking_uri())
        if args.if_empty and store_has_experiments():
            print(f"The store {store} already has experiments; not adding the demo.")
            return 0
        try:
            import sklearn  # noqa: F401
        except ImportError:
            print(
                "The demo needs scikit-learn and numpy: pip install 'mled[demo]'",
                file=sys.stderr,
            )
            return 1
        print(
            f"Logging a {trials}-trial sweep ({args.epochs} epochs each) and a baseline on "
            f"sklearn digits to project {PROJECT!r} in {store}"
        )
        started = time.perf_counter()
        ids = run_demo(trials=trials, epochs=args.epochs, seed=args.seed)
    except MledError as err:
        print(f"mled demo: error [{err.code}]: {err.message}\n  hint: {err.hint}", file=sys.stderr)
        return 1
    print(
        f"Logged {len(ids)} experiments in {time.perf_counter() - started:.1f} s. Next: "
        "`mled experiments list`, then `mled experiments show ID` (a unique ID prefix works)."
    )
    return 0


def _display_uri(uri: str) -> str:
    """The tracking URI without a password."""
    from mled.store.sql.schema import redact

    return redact(uri)


if __name__ == "__main__":
    sys.exit(main())
