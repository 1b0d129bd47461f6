"""Code location load: ``import mlops_assets`` (Definitions built) against ``import dagster``.

The webserver, the daemon and every sensor tick pay this cost, so TensorFlow and MLflow must not
be imported by it.
"""

from bench.common import Figure, interleaved, median, python_case, run_python

LOAD = (
    "import sys, mlops_assets; mlops_assets.code_location.get_repository_def(); "
    "print(sorted(m for m in ('tensorflow', 'keras', 'mlflow', 'pandas') if m in sys.modules))"
)


def run(repeats: int = 5) -> list[Figure]:
    heavy = run_python(LOAD).strip()
    times = interleaved(
        {"dagster": python_case("import dagster"), "mlops_assets": python_case(LOAD)}, repeats
    )
    ratio = median(times["mlops_assets"]) / median(times["dagster"])
    return [
        Figure(
            "code location load / import dagster",
            ratio,
            "<= 1.5",
            ratio <= 1.5 and heavy == "[]",
            f"medians {median(times['mlops_assets']):.2f}s / {median(times['dagster']):.2f}s; "
            f"heavy modules loaded: {heavy}",
        )
    ]
