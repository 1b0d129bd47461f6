"""TensorFlow without its C++ log lines that say nothing to a user.

TensorFlow 2.21 prints its CUDA and CPU-feature notices at import whatever
``TF_CPP_MIN_LOG_LEVEL`` says (tensorflow/tensorflow#100442), its first device query logs a
``failed call to cuInit`` error on a machine without a GPU, and loading a saved model logs a
harmless ``use_unbounded_threadpool`` error. Those calls run with file descriptor 2 captured;
every line that is not one of those known notices is printed again, so a real error still shows.

TensorFlow is a pyproject extra, not a core dependency: an install without one of the two builds
(``tensorflow``, ``cpu``) gets ``TensorFlowMissing`` here, saying which to install.
"""

import contextlib
import os
import re
import sys
import tempfile

NOISE = re.compile(
    r"^(WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    r"|[IW]\d{4} [\d:. ]+\d+ (port|cudart_stub|cpu_feature_guard)\.cc:\d+\] .*"
    r"|E\d{4} [\d:. ]+\d+ cuda_platform\.cc:\d+\] failed call to cuInit: .*"
    r"|E\d{4} [\d:. ]+\d+ node_def_util\.cc:\d+\] NodeDef mentions attribute "
    r"use_unbounded_threadpool .*"
    r"|To enable the following instructions: .*"
    r"|.*(oneDNN custom operations|Could not find cuda drivers|TensorFlow binary is optimized).*)$"
)


@contextlib.contextmanager
def quiet_tensorflow():
    """Run the block with TensorFlow's known notices left out of standard error."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            for line in captured.read().decode(errors="replace").splitlines():
                if line and not NOISE.match(line):
                    print(line, file=sys.stderr)


MISSING = (
    "TensorFlow is not installed. It is an extra of mlops-assets: install the project with "
    "`pip install -e '.[cpu]'` (tensorflow-cpu, for machines without a GPU such as CI runners) "
    "or `pip install -e '.[tensorflow]'` (the build with GPU support); with make: "
    "`make install TENSORFLOW=cpu` or `make install`."
)


class TensorFlowMissing(ModuleNotFoundError):
    """Training or loading a model without a TensorFlow extra installed."""


def import_tensorflow():
    """``import tensorflow``, quietly; later C++ notices below warnings stay off too."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if "tensorflow" in sys.modules:
        return sys.modules["tensorflow"]
    with quiet_tensorflow():
        try:
            import tensorflow
        except ModuleNotFoundError as exc:
            if exc.name not in ("tensorflow", "keras"):
                raise
            raise TensorFlowMissing(MISSING, name=exc.name) from exc

        tensorflow.config.list_physical_devices("GPU")  # the cuInit notice, caught here
    return tensorflow
