"""``mlops-assets init``: adopt the pipeline in an existing git repository. It reads the CSV,
infers the task and the column kinds, and writes ``params.yaml``, the GitHub workflows (and
``dvc.yaml``) from the templates shipped in the package (``mlops_assets/templates``).

Plain Python, no Dagster: ``inference`` reads the data, ``files`` renders what is written,
``project`` decides and writes (all or nothing).
"""

from mlops_assets.scaffold.project import InitError, InitOptions, init_project

__all__ = ["InitError", "InitOptions", "init_project"]
