"""``python -m mlops_assets.defs.unchanged <run_id>``: records on ``metrics_report``, as an asset
observation the UI shows, that ``mlops-assets run`` launched nothing because nothing changed
since run ``<run_id>`` (``prelaunch``). Run in the background, so the command need not wait
for Dagster's import."""

import sys

from dagster import AssetObservation, DagsterInstance


def record_unchanged(instance: DagsterInstance, run_id: str) -> None:
    instance.report_runless_asset_event(
        AssetObservation(
            asset_key="metrics_report",
            description="mlops-assets run: nothing changed, no run launched",
            metadata={"launched": False, "unchanged_since_run": run_id},
        )
    )


if __name__ == "__main__":
    with DagsterInstance.get() as instance:
        record_unchanged(instance, sys.argv[1])
