"""raw_data: the CSV named in params.yaml, validated, versioned by its content hash.

The CSV lives in git, or is DVC-tracked (``<csv>.dvc`` committed) and pulled when absent.
"""

from dataclasses import replace
from pathlib import Path

from dagster import (
    AssetExecutionContext,
    MetadataValue,
    Output,
    TableColumn,
    TableSchema,
    asset,
)

from mlops_assets.data.dataset import file_md5, load_table
from mlops_assets.defs.config import DataConfig
from mlops_assets.defs.resources.dvc import DvcData
from mlops_assets.defs.reuse import lookup
from mlops_assets.params import flat
from mlops_assets.records import Dataset
from mlops_assets.settings import project_dir


@asset(code_version="3", group_name="retrain", kinds={"pandas", "csv"})
def raw_data(context: AssetExecutionContext, config: DataConfig, dvc: DvcData) -> Output[Dataset]:
    """Reads and validates the CSV; the file's MD5 is the data version downstream assets see.
    For a DVC-tracked file that is the md5 in its ``.dvc`` file, so Dagster and DVC agree."""
    path = Path(project_dir(), config.path)
    source = dvc.ensure_local(path)
    data_hash = file_md5(path)
    origin = source.describe()
    where = {"path": MetadataValue.path(str(path)), "data_source": origin}
    if source.pointer is not None:
        dvc_file = source.pointer.dvc_file
        where |= {"dvc_file": MetadataValue.path(str(dvc_file)), "dvc_md5": source.pointer.md5}
        if data_hash != source.pointer.md5:
            context.log.warning(
                f"{path} (MD5 {data_hash}) differs from what {dvc_file} records "
                f"({source.pointer.md5}): the data version is the file's own MD5. Run "
                f"`dvc add {path}` to track this content, or `dvc checkout {dvc_file}`."
            )
    reuse = lookup(context, flat("data", config.model_dump()), inputs={"data_hash": data_hash})
    if reuse.found:  # these very bytes were read and validated by the run that stored them
        dataset = replace(reuse.value, source=str(path), origin=origin)
        return reuse.restore(dataset, where, data_version=data_hash)
    table = load_table(
        path,
        config.target,
        config.task,
        columns=config.columns.model_dump(),
        na_values=config.na_values,
        positive_class=config.positive_class,
    )
    frame = table.frame
    dataset = Dataset(
        frame,
        config.target,
        config.task,
        str(path),
        data_hash,
        params=config.model_dump(),
        origin=origin,
        columns=table.columns,
        dropped_target_rows=table.dropped_target_rows,
    )
    context.log.info(f"{len(frame)} rows, {len(table.columns)} features, from {origin}")
    if table.dropped_target_rows:
        context.log.warning(
            f"{table.dropped_target_rows} rows of {path} have no '{config.target}': dropped"
        )
    kinds = {c.name: c.description for c in table.columns}
    return reuse.output(
        dataset,
        data_version=data_hash,
        metadata={
            "dagster/row_count": len(frame),
            "dagster/column_schema": TableSchema(
                columns=[
                    TableColumn(name=str(c), type=kinds.get(str(c), "target"))
                    for c in frame.columns
                ]
            ),
            "dropped_target_rows": table.dropped_target_rows,
            **where,
            "data_hash": data_hash,
            "target": config.target,
            "task": config.task,
            "preview": MetadataValue.md(frame.head(5).to_markdown(index=False)),
        },
    )
