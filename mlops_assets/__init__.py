"""mlops-assets: the ML retraining loop of a GitHub repository as one Dagster asset graph.

The code location is ``mlops_assets.definitions`` (``defs``), which the tools name. Dagster's
``-m mlops_assets`` works too: it looks for a ``Definitions`` among the package's members, and
``code_location`` is one, loaded on first use (PEP 562) rather than when the package is
imported, so ``mlops-assets run`` can decide that there is nothing to run before paying for
Dagster's import (``prelaunch``).
"""

# The one place the version is written: pyproject.toml reads it (setuptools' dynamic ``attr``,
# read from this file's text, no import) and ``mlops-assets --version`` prints it.
__version__ = "0.1.0"

from mlops_assets.fast_exit import skip_final_collection

skip_final_collection()

__all__ = ["__version__", "code_location"]


def __getattr__(name: str):
    if name == "code_location":
        from mlops_assets.definitions import defs

        return defs
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:  # how Dagster finds the Definitions among the members
    return sorted({*globals(), "code_location"})
