"""features: the seeded train/test split and the training statistics the model normalises with."""

from dataclasses import replace

from dagster import AssetExecutionContext, DataVersion, MetadataValue, Output, asset

from mlops_assets.assets.raw_data import Dataset
from mlops_assets.data.features import FeatureSet, feature_statistics, split_features
from mlops_assets.params import SplitConfig
from mlops_assets.reuse import lookup, restored_output, reuse_metadata


@asset(code_version="2", group_name="retrain", kinds={"numpy"})
def features(
    context: AssetExecutionContext, config: SplitConfig, raw_data: Dataset
) -> Output[FeatureSet]:
    """Splits the rows (stratified for classification) and fits scaling on the training rows only."""
    print_, reused = lookup(
        context, config.model_dump(), still_valid=lambda f: f.data_hash == raw_data.data_hash
    )
    if reused:
        return restored_output(print_, reused)
    feature_set = replace(
        split_features(
            raw_data.frame,
            raw_data.target,
            raw_data.task,
            config.test_fraction,
            config.seed,
            data_hash=raw_data.data_hash,
        ),
        params={f"data.{k}": v for k, v in {**raw_data.params, **config.model_dump()}.items()},
        data_source=raw_data.origin,
    )
    return Output(
        feature_set,
        data_version=DataVersion(print_),
        metadata={
            **reuse_metadata(print_),
            "train_rows": len(feature_set.y_train),
            "test_rows": len(feature_set.y_test),
            "features": len(feature_set.feature_names),
            "statistics": MetadataValue.md(
                feature_statistics(feature_set).to_markdown(index=False, floatfmt=".4g")
            ),
        },
    )
