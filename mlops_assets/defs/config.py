"""The assets' Dagster ``Config`` classes: the params.yaml models, with the file's values as
defaults, so the launchpad shows them and run config can override any key.

params.yaml is read once, when the code location loads; a malformed file stops the load with
the file and key named (``ParamsError``).
"""

import copy

from dagster import Config
from pydantic import BaseModel, create_model

from mlops_assets.params import DataParams, GateParams, TrainParams, load_params
from mlops_assets.settings import params_path

PARAMS = load_params(params_path())


def _config_class(model: type[BaseModel], defaults: BaseModel, fields: list[str] | None = None):
    """A ``Config`` class with ``model``'s fields (types, ranges, descriptions) and defaults."""
    chosen = {}
    for name in fields or list(model.model_fields):
        info = copy.copy(model.model_fields[name])
        default = getattr(defaults, name)
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):  # data.columns
            annotation = _config_class(annotation, default)
            default = annotation(**default.model_dump())
        info.default = copy.deepcopy(default)
        info.annotation = annotation
        chosen[name] = (annotation, info)
    return create_model(
        f"{model.__name__.removesuffix('Params')}Config",
        __base__=Config,
        __doc__=model.__doc__,
        __module__=__name__,
        **chosen,
    )


DataConfig = _config_class(
    DataParams,
    PARAMS.data,
    ["path", "target", "task", "positive_class", "columns", "na_values", "max_missing_fraction"],
)
SplitConfig = _config_class(DataParams, PARAMS.data, ["test_fraction", "seed"])
SplitConfig.__name__ = SplitConfig.__qualname__ = "SplitConfig"
TrainConfig = _config_class(TrainParams, PARAMS.train)
GateConfig = _config_class(GateParams, PARAMS.gate)
