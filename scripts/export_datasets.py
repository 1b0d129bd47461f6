"""Export scikit-learn's bundled sample data sets as CSV (run once; the pipeline reads only CSVs).

python scripts/export_datasets.py data/            # diabetes.csv (regression, the default)
python scripts/export_datasets.py data/ --all      # also breast_cancer.csv (classification)
"""

import argparse
from pathlib import Path


def export_diabetes(directory: Path) -> Path:
    from sklearn.datasets import load_diabetes

    frame = load_diabetes(as_frame=True, scaled=False).frame
    path = directory / "diabetes.csv"
    frame.to_csv(path, index=False)
    return path


def export_breast_cancer(directory: Path) -> Path:
    from sklearn.datasets import load_breast_cancer

    frame = load_breast_cancer(as_frame=True).frame
    frame.columns = [c.replace(" ", "_") for c in frame.columns]
    path = directory / "breast_cancer.csv"
    frame.to_csv(path, index=False)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=Path)
    parser.add_argument("--all", action="store_true", help="also export breast_cancer.csv")
    args = parser.parse_args()
    args.directory.mkdir(parents=True, exist_ok=True)
    print(export_diabetes(args.directory))
    if args.all:
        print(export_breast_cancer(args.directory))


if __name__ == "__main__":
    main()
