"""``python -m mlops_assets run``: the same as the ``mlops-assets`` command."""

import sys

from mlops_assets.cli import main

sys.exit(main())
