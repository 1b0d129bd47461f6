"""The headline across seeds (``gate.seeds``): the same split and hyperparameters, trained again
with the next seeds, to show how much of a change one seed's luck can explain."""

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from mlops_assets.params import TrainParams
from mlops_assets.records import FeatureSet, SeedSpread
from mlops_assets.report.metrics import compute_metrics


def seed_spread(
    features: FeatureSet,
    hp: TrainParams,
    headline: str,
    kept_value: float,
    seeds: int,
    log: Callable[[str], None] = lambda line: None,
    project: Path | None = None,
) -> SeedSpread:
    """``kept_value`` (the model trained with ``features.seed``) and the held-out ``headline``
    of ``seeds - 1`` more models, trained with seeds ``features.seed + 1``, ..."""
    from mlops_assets.modeling.keras_model import predict, train_model

    used, values = [features.seed], [kept_value]
    for seed in range(features.seed + 1, features.seed + seeds):
        model = train_model(replace(features, seed=seed), hp, project=project).model
        metrics = compute_metrics(features.task, features.y_test, predict(model, features.x_test))
        used.append(seed)
        values.append(metrics[headline])
        log(f"seed {seed} ({len(used)}/{seeds}): {headline} = {metrics[headline]:.4g}")
    return SeedSpread(used, values)


def seed_line(spread: SeedSpread) -> str:
    """The spread in words: ``mean 45.8, standard deviation 1.2 across 3 seeds (42, 43, 44)``."""
    seeds = ", ".join(str(s) for s in spread.seeds)
    return (
        f"mean {spread.mean:.4g}, standard deviation {spread.spread:.2g} across "
        f"{len(spread.seeds)} seeds ({seeds})"
    )
