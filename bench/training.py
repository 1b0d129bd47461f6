"""Training efficiency: the project's fit settings against a naive ``model.fit``.

Same model, data, epochs and batch size; early stopping off on both sides so the epoch counts
match. Each round uses another split seed, for both sides: one seed's metric is mostly the luck
of its shuffle order, so the metrics are compared as medians over the rounds. Keras' per-step and per-epoch overhead dominates on small data, which is what the
project's settings (steps per execution, the input pipeline) attack.
"""

from bench.common import Figure, run_python

CHILD = r"""
import json, time
from pathlib import Path
import keras
from mlops_assets.data.dataset import load_dataset
from mlops_assets.data.features import split_features
from mlops_assets.modeling.keras_model import build_model, predict, train_model
from mlops_assets.defs.config import DataConfig, SplitConfig, TrainConfig
from mlops_assets.report.metrics import HEADLINE, compute_metrics

data_cfg, split_cfg = DataConfig(), SplitConfig()
hp = TrainConfig(early_stopping_patience=0, epochs={epochs})
frame = load_dataset(Path(data_cfg.path), data_cfg.target, data_cfg.task)
headline = HEADLINE[data_cfg.task]

def naive():
    keras.utils.set_random_seed(fs.seed)
    model = build_model(fs, hp)
    model.fit(fs.x_train, fs.y_train, epochs=hp.epochs, batch_size=hp.batch_size,
              validation_split=hp.validation_fraction, verbose=0)
    return model

def project():
    return train_model(fs, hp).model

results = {{"naive": [], "project": []}}
for seed in range({repeats}):
    fs = split_features(frame, data_cfg.target, data_cfg.task, split_cfg.test_fraction, seed)
    for name, fit in (("naive", naive), ("project", project)):
        start = time.perf_counter()
        model = fit()
        seconds = time.perf_counter() - start
        metric = compute_metrics(fs.task, fs.y_test, predict(model, fs.x_test))[headline]
        results[name].append((seconds, metric))
print(json.dumps({{"headline": headline, **results}}))
"""


def run(epochs: int = 100, repeats: int = 5) -> list[Figure]:
    import json
    import statistics

    out = json.loads(run_python(CHILD.format(epochs=epochs, repeats=repeats)).splitlines()[-1])
    naive_s = statistics.median(s for s, _ in out["naive"])
    project_s = statistics.median(s for s, _ in out["project"])
    naive_m = statistics.median(m for _, m in out["naive"])
    project_m = statistics.median(m for _, m in out["project"])
    ratio = project_s / naive_s
    drift = abs(project_m - naive_m) / abs(naive_m)
    return [
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
            f"{project_m:.4g} vs {naive_m:.4g}",
        ),
    ]
