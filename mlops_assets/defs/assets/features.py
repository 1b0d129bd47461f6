"""features: the seeded train/test split and the training statistics the model normalises with."""

from dataclasses import replace

from dagster import AssetExecutionContext, MetadataValue, Output, asset

from mlops_assets.data.features import feature_statistics, split_features
from mlops_assets.defs.config import SplitConfig
from mlops_assets.defs.reuse import lookup
from mlops_assets.params import flat
from mlops_assets.records import Dataset, FeatureSet


@asset(code_version="4", group_name="retrain", kinds={"numpy"})
def features(
    context: AssetExecutionContext, config: SplitConfig, raw_data: Dataset
) -> Output[FeatureSet]:
    """Splits the rows (stratified for classification), encodes the target, and takes each
    column's fill value from the training rows only."""
    reuse = lookup(
        context,
        flat("data", config.model_dump()),
        still_valid=lambda f: f.data_hash == raw_data.data_hash,
    )
    if reuse.found:
        return reuse.restore()
    feature_set = replace(
        split_features(
            raw_data.frame,
            raw_data.target,
            raw_data.task,
            config.test_fraction,
            config.seed,
            data_hash=raw_data.data_hash,
            columns=raw_data.columns or None,
            positive_class=raw_data.params.get("positive_class"),
            source=raw_data.source,
        ),
        params=flat("data", {**raw_data.params, **config.model_dump()}),
        data_source=raw_data.origin,
        dropped_target_rows=raw_data.dropped_target_rows,
    )
    context.log.info(
        f"{len(feature_set.y_train)} training rows, {len(feature_set.y_test)} held out"
    )
    return reuse.output(
        feature_set,
        metadata={
            "train_rows": len(feature_set.y_train),
            "test_rows": len(feature_set.y_test),
            "features": len(feature_set.feature_names),
            **(
                {"classes": ", ".join(map(str, feature_set.classes))} if feature_set.classes else {}
            ),
            "statistics": MetadataValue.md(
                feature_statistics(feature_set).to_markdown(index=False, floatfmt=".4g")
            ),
        },
    )
