"""Training efficiency: the project's fit settings against a naive ``model.fit``, against the
arithmetic floor, and against whole-epoch execution variants.

Same model, data, epochs and batch size; early stopping off on every side so the epoch counts
match. Each round uses another split seed, for every case, and the cases alternate within a
round (after one warm-up fit, so no case pays the process's first graph): one seed's metric is
mostly the luck of its shuffle order, so metrics are compared as medians over the rounds, and
times as the median of each round's ratio to the project's settings.

The cases:

- ``naive``: ``model.fit`` on arrays with ``validation_split`` (Keras re-slices every epoch);
- ``project``: ``train_model`` as the pipeline runs it (tf.data pipelines built once);
- ``steps``: the same with ``steps_per_execution`` = the steps of a whole epoch, so one graph
  call runs the epoch;
- ``xla``: ``jit_compile=True`` (Keras' ``"auto"`` means no XLA on a CPU-only machine);
- ``steps+xla``: both;
- ``loop``: no ``fit`` at all, one ``tf.function`` running every epoch and batch (a compiled
  loop, without validation, callbacks or curves: what Keras' per-epoch machinery costs).

A variant is deterministic when two fits with the same seed give identical weights and
predictions; its drift is its median held-out metric against the project's.

The floor: the Dense layers' multiply-adds per row, ``M = sum(inputs x units)``; a training
row costs about ``6 M`` FLOPs (forward ``2 M``, backward twice that), a validation row ``2 M``:
``epochs x (6 M n_fit + 2 M n_val)``. Biases, activations, normalisation and the optimizer add
a few percent and are left out. In seconds it is that over this machine's float32 matrix
multiply rate (numpy, 1024 x 1024, the best of 10 in the same process): what the arithmetic
alone would take at the machine's peak.
"""

import contextlib

from bench.common import INFO, Figure, run_python

CHILD = r"""
import json, math, time
from pathlib import Path
import numpy as np
import keras
from mlops_assets.data.dataset import load_dataset
from mlops_assets.data.features import split_features
from mlops_assets.modeling.keras_model import build_model, input_pipelines, predict, train_model
from mlops_assets.modeling.preprocessing import column_inputs
from mlops_assets.modeling.tensorflow_import import import_tensorflow
from mlops_assets.defs.config import DataConfig, SplitConfig, TrainConfig
from mlops_assets.report.metrics import HEADLINE, compute_metrics
from bench.training import compiled_loop, xla_with_op_determinism

tf = import_tensorflow()
tf.config.experimental.enable_op_determinism()
data_cfg, split_cfg = DataConfig(), SplitConfig()
hp = TrainConfig(early_stopping_patience=0, epochs={epochs})
frame = load_dataset(Path(data_cfg.path), data_cfg.target, data_cfg.task)
headline = HEADLINE[data_cfg.task]

def sizes(fs):
    n_val = int(len(fs.y_train) * hp.validation_fraction)
    return len(fs.y_train) - n_val, n_val

def naive(fs):
    keras.utils.set_random_seed(fs.seed)
    model = build_model(fs, hp)
    model.fit(column_inputs(fs.x_train, fs.columns), fs.y_train, epochs=hp.epochs,
              batch_size=hp.batch_size, validation_split=hp.validation_fraction, verbose=0)
    return model

def project(fs, **options):
    return train_model(fs, hp, compile_options=options or None).model

def whole_epoch(fs, **options):
    steps = math.ceil(sizes(fs)[0] / hp.batch_size)
    return project(fs, steps_per_execution=steps, **options)

def loop(fs, jit_compile=False):
    keras.utils.set_random_seed(fs.seed)
    model = build_model(fs, hp)
    compiled_loop(model, input_pipelines(fs, hp)[0], hp.epochs, jit_compile)
    model.jit_compile = jit_compile  # for the report only (fit is not called)
    return model

def xla(case, **options):
    def fit(fs):
        with xla_with_op_determinism():
            return case(fs, jit_compile=True, **options)
    return fit

CASES = {{
    "naive": naive,
    "project": project,
    "steps": whole_epoch,
    "xla": xla(project),
    "steps+xla": xla(whole_epoch),
    "loop": loop,
    "loop+xla": xla(loop),
}}

def fit(name, fs):
    start = time.perf_counter()
    model = CASES[name](fs)
    seconds = time.perf_counter() - start
    predictions = predict(model, fs.x_test)
    metric = compute_metrics(fs.task, fs.y_test, predictions)[headline]
    xla[name] = bool(getattr(model, "jit_compile", False))
    return model, predictions, seconds, float(metric)

results = {{name: [] for name in CASES}}
errors, xla = {{}}, {{}}
first = split_features(frame, data_cfg.target, data_cfg.task, split_cfg.test_fraction, 0)
train_model(first, TrainConfig(early_stopping_patience=0, epochs=2))  # warm-up: first graph
for seed in range({repeats}):
    fs = split_features(frame, data_cfg.target, data_cfg.task, split_cfg.test_fraction, seed)
    for name in CASES:
        if name in errors:
            continue
        try:
            results[name].append(fit(name, fs)[2:])
        except Exception as exc:
            errors[name] = f"{{type(exc).__name__}}: {{str(exc)[:300]}}"

deterministic = {{}}
for name in CASES:
    if name in errors:
        continue
    a, pa = fit(name, first)[:2]
    b, pb = fit(name, first)[:2]
    deterministic[name] = bool(
        all(np.array_equal(x, y) for x, y in zip(a.get_weights(), b.get_weights()))
        and np.array_equal(pa, pb)
    )

macs = sum(int(w.shape[0]) * int(w.shape[1]) for w in a.trainable_weights if len(w.shape) == 2)
n_fit, n_val = sizes(first)
flops = hp.epochs * (6 * macs * n_fit + 2 * macs * n_val)
m = np.random.default_rng(0).standard_normal((1024, 1024)).astype(np.float32)
m @ m
rates = []
for _ in range(10):
    start = time.perf_counter()
    m @ m
    rates.append(2 * 1024**3 / (time.perf_counter() - start))
print(json.dumps({{
    "headline": headline, "results": results, "errors": errors,
    "deterministic": deterministic, "xla": xla, "macs": macs, "n_fit": n_fit, "n_val": n_val,
    "flops": flops, "rate": float(max(rates)),
}}))
"""

VARIANTS = ("steps", "xla", "steps+xla", "loop", "loop+xla")


def compiled_loop(model, train, epochs: int, jit_compile: bool = False) -> None:
    """Every epoch and batch in one ``tf.function`` call: Adam steps on the mean squared error
    (the regression's compiled loss), no validation, no callbacks; ``jit_compile``: each step
    compiled by XLA (the input pipeline cannot be). In a module, not in the child's ``-c``
    string: AutoGraph reads the source to convert the loops."""
    from mlops_assets.modeling.tensorflow_import import import_tensorflow

    tf = import_tensorflow()
    optimizer, variables = model.optimizer, model.trainable_variables
    optimizer.build(variables)

    @tf.function(jit_compile=jit_compile)
    def step(x, y):
        with tf.GradientTape() as tape:
            out = model(x, training=True)
            loss = tf.reduce_mean(tf.square(tf.cast(tf.reshape(y, (-1, 1)), out.dtype) - out))
        optimizer.apply(tape.gradient(loss, variables), variables)

    @tf.function
    def fit_all():
        for _ in tf.range(epochs):
            for x, y in train:
                step(x, y)

    fit_all()


@contextlib.contextmanager
def xla_with_op_determinism():
    """Keras turns ``jit_compile=True`` off while op determinism is enabled (``train_model``
    enables it), warning that not every op is deterministic under XLA; this lifts that refusal
    so XLA can be measured, and the two-fit comparison checks determinism instead."""
    from keras.src.trainers import trainer

    refuse = trainer.model_supports_jit
    trainer.model_supports_jit = lambda model: all(x.supports_jit for x in model._flatten_layers())
    try:
        yield
    finally:
        trainer.model_supports_jit = refuse


def run(epochs: int = 100, repeats: int = 5) -> list[Figure]:
    import json
    import statistics

    out = json.loads(run_python(CHILD.format(epochs=epochs, repeats=repeats)).splitlines()[-1])
    results = out["results"]

    def seconds(name):
        return statistics.median(s for s, _ in results[name])

    def metric(name):
        return statistics.median(m for _, m in results[name])

    def paired(name):  # each round's time over the project's in the same round
        return sorted(
            s / p for (s, _), (p, _) in zip(results[name], results["project"], strict=True)
        )

    naive_s, project_s = seconds("naive"), seconds("project")
    ratio = project_s / naive_s
    drift = abs(metric("project") - metric("naive")) / abs(metric("naive"))
    floor_s = out["flops"] / out["rate"]
    figures = [
        Figure(
            f"training time / naive fit ({epochs} epochs)",
            ratio,
            "<= 0.7",
            ratio <= 0.7,
            f"medians {project_s:.2f}s / {naive_s:.2f}s",
        ),
        Figure(
            f"held-out {out['headline']} drift vs naive",
            drift,
            "<= 0.02",
            drift <= 0.02,
            f"{metric('project'):.4g} vs {metric('naive'):.4g}",
        ),
        Figure(
            "training time / arithmetic floor",
            project_s / floor_s,
            INFO,
            True,
            f"{out['flops'] / 1e6:.1f} MFLOP = {epochs} x (6 x {out['macs']} x {out['n_fit']}"
            f" + 2 x {out['macs']} x {out['n_val']}); at {out['rate'] / 1e9:.0f} GFLOP/s"
            f" (numpy float32 matmul here, best of 10) {floor_s * 1e3:.2f} ms",
        ),
    ]
    for name in VARIANTS:
        if name in out["errors"]:
            figures.append(Figure(f"{name}: failed", float("nan"), INFO, True, out["errors"][name]))
            continue
        ratios = paired(name)
        variant_drift = abs(metric(name) - metric("project")) / abs(metric("project"))
        same = out["deterministic"][name]
        figures.append(
            Figure(
                f"{name} / project settings, time",
                statistics.median(ratios),
                INFO,
                True,
                f"rounds {ratios[0]:.2f} to {ratios[-1]:.2f}; median {seconds(name):.2f}s;"
                f" drift {variant_drift:.1%} ({metric(name):.4g});"
                f" {'deterministic' if same else 'NOT deterministic'};"
                f" XLA {'on' if out['xla'].get(name) else 'off'}",
            )
        )
    same = out["deterministic"].get("project")
    figures.append(
        Figure(
            "project settings: two seeded fits identical",
            float(bool(same)),
            "1",
            bool(same),
            "weights and predictions",
        )
    )
    return figures
