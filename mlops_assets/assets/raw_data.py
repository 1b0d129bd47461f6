"""raw_data: the CSV named in params.yaml, validated, versioned by its content hash.

The CSV lives in git, or is DVC-tracked (``<csv>.dvc`` committed) and pulled when absent.
"""

from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from dagster import (
    AssetExecutionContext,
    DataVersion,
    MetadataValue,
    Output,
    TableColumn,
    TableSchema,
    asset,
)

from mlops_assets.data.dataset import file_md5, load_dataset
from mlops_assets.params import DataConfig
from mlops_assets.project import project_dir
from mlops_assets.resources.dvc import DvcData
from mlops_assets.reuse import lookup, reuse_metadata

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class Dataset:
    """A validated table and what it is for; ``data_hash`` is the MD5 of the source file."""

    frame: "pd.DataFrame"
    target: str
    task: str
    source: str
    data_hash: str
    params: dict  # the ``data:`` settings it was read with
    origin: str  # git, or the DVC remote it was pulled from


@asset(code_version="2", group_name="retrain", kinds={"pandas", "csv"})
def raw_data(context: AssetExecutionContext, config: DataConfig, dvc: DvcData) -> Output[Dataset]:
    """Reads and validates the CSV; the file's MD5 is the data version downstream assets see.
    For a DVC-tracked file that is the md5 in its ``.dvc`` file, so Dagster and DVC agree."""
    path = Path(project_dir(), config.path)
    source = dvc.ensure_local(path)
    data_hash = file_md5(path)
    dvc_metadata = {}
    if source.pointer is not None:
        dvc_file = source.pointer.dvc_file
        dvc_metadata = {
            "dvc_file": MetadataValue.path(str(dvc_file)),
            "dvc_md5": source.pointer.md5,
        }
        if data_hash != source.pointer.md5:
            context.log.warning(
                f"{path} (MD5 {data_hash}) differs from what {dvc_file} records "
                f"({source.pointer.md5}): the data version is the file's own MD5. Run "
                f"`dvc add {path}` to track this content, or `dvc checkout {dvc_file}`."
            )
    print_, unchanged = lookup(context, config.model_dump(), inputs={"data_hash": data_hash})
    origin = source.describe()
    where = {
        "path": MetadataValue.path(str(path)),
        "data_source": origin,
        **dvc_metadata,
    }
    if unchanged:  # these very bytes were read and validated by the run that stored them
        return Output(
            replace(unchanged.value, source=str(path), origin=origin),
            data_version=DataVersion(data_hash),
            metadata={**unchanged.metadata, **where, **reuse_metadata(print_, unchanged.run_id)},
        )
    frame = load_dataset(path, config.target, config.task)
    dataset = Dataset(
        frame,
        config.target,
        config.task,
        str(path),
        data_hash,
        params=config.model_dump(),
        origin=origin,
    )
    return Output(
        dataset,
        data_version=DataVersion(data_hash),
        metadata={
            "dagster/row_count": len(frame),
            "dagster/column_schema": TableSchema(
                columns=[TableColumn(name=str(c), type="float") for c in frame.columns]
            ),
            **where,
            "data_hash": data_hash,
            "target": config.target,
            "task": config.task,
            "preview": MetadataValue.md(frame.head(5).to_markdown(index=False)),
            **reuse_metadata(print_),
        },
    )
