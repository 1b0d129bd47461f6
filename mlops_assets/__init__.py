"""mlops-assets: the ML retraining loop of a GitHub repository as one Dagster asset graph.

``mlops_assets.defs`` is the code location, loaded on first use rather than when the package is
imported: Dagster finds it by name (``-m mlops_assets``), and ``mlops-assets run`` can decide
that there is nothing to run before paying for Dagster's import (``prelaunch``). The name is
also the ``defs/`` subpackage's, which Python would bind here once it is imported; the
package's module class keeps ``defs`` the Definitions object, as an eager import did.
"""

import sys
import types

from mlops_assets.fast_exit import skip_final_collection

skip_final_collection()

__all__ = ["defs"]


class _Package(types.ModuleType):
    def __dir__(self) -> list[str]:  # how Dagster finds the Definitions among the members
        return sorted({*super().__dir__(), "defs"})

    @property
    def defs(self):
        from mlops_assets.definitions import defs

        return defs

    @defs.setter
    def defs(self, subpackage) -> None:  # the import system binding ``mlops_assets/defs/``
        pass


sys.modules[__name__].__class__ = _Package
