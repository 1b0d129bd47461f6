"""The data diff of a pull request: what its CSV changes against the base branch's CSV.

Rows are compared by row hash, as multisets (or by a key column, which also finds changed rows);
columns by name and dtype kind; each common column by missing share, range, mean, spread and a
two-sample Kolmogorov-Smirnov test, or by new categories. The head's new rows are also tested
against the base's alone: 40 rows with a unit mistake vanish in a whole-file test of 482. A
column is *flagged* when the change is more than sampling noise, so a reviewer reads the few that
matter first. Everything is vectorised: a million-row file takes seconds. pandas, numpy and scipy
are imported inside the functions, because the code location imports this package and must stay
light.
"""

from __future__ import annotations

import io
import os
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from mlops_assets.git.commands import GitError, check_repository, git, git_bytes
from mlops_assets.redaction import redact_url

if TYPE_CHECKING:
    from collections.abc import Sequence

    import numpy as np
    import pandas as pd

MISSING_SHARE_CHANGE = 0.05  # an absolute change of the missing share beyond this is flagged
MAX_NEW_CATEGORIES = 10  # new categories listed per column; the rest are counted
# Above this effective sample size (n1*n2/(n1+n2)) the KS p-value is Kolmogorov's limiting
# distribution: scipy's finite-n p-value costs ~0.5 s per column at a million rows, and the two
# differ by well under 1% (relative) there. Below it, the p-value is scipy.stats.ks_2samp's.
KS_LIMIT_N = 50_000
SCIPY_EXACT_N = 10_000  # up to this many values a side, scipy.stats.ks_2samp decides alone
MAX_WORKERS = 8  # threads for the per-column statistics


class BaseDataError(ValueError):
    """The base branch's data could not be read; the message says why and what to run."""


@dataclass(frozen=True)
class Retype:
    """A column whose dtype kind differs between base and head (int64 -> object)."""

    name: str
    base_dtype: str
    head_dtype: str


@dataclass(frozen=True)
class ColumnDiff:
    """One column present on both sides: how its values moved, and whether that needs a look."""

    name: str
    kind: str  # "numeric" (both sides numeric) or "categorical"
    base_dtype: str
    head_dtype: str
    base_missing: float  # share of missing values, 0..1
    head_missing: float
    base_min: float | None = None
    head_min: float | None = None
    base_mean: float | None = None
    head_mean: float | None = None
    base_max: float | None = None
    head_max: float | None = None
    base_std: float | None = None
    head_std: float | None = None
    ks_statistic: float | None = None  # numeric, both sides with >= 2 non-missing values
    ks_pvalue: float | None = None
    # The head's new rows (added, or changed by key) against all of the base's; numeric only.
    new_rows: int = 0  # non-missing values among them
    new_min: float | None = None
    new_mean: float | None = None
    new_max: float | None = None
    new_ks_statistic: float | None = None  # when the new rows are some, not all, of the head's
    new_ks_pvalue: float | None = None
    new_categories: list[str] = field(default_factory=list)  # at most MAX_NEW_CATEGORIES
    new_category_count: int = 0
    flagged: bool = False
    reasons: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class DataDiff:
    """Base against head: row and column changes, and one ``ColumnDiff`` per common column."""

    base_rows: int
    head_rows: int
    rows_added: int
    rows_removed: int
    rows_changed: int | None  # None without a key: a changed row is one removed plus one added
    columns_added: list[str]
    columns_removed: list[str]
    columns_retyped: list[Retype]
    columns: list[ColumnDiff]  # flagged first, then by name
    key: str | None = None
    alpha: float = 0.01

    @property
    def unchanged(self) -> bool:
        """No row added, removed or changed, and the same columns with the same kinds."""
        return not (
            self.rows_added
            or self.rows_removed
            or self.rows_changed
            or self.columns_added
            or self.columns_removed
            or self.columns_retyped
        )

    @property
    def flagged(self) -> list[ColumnDiff]:
        return [column for column in self.columns if column.flagged]


def _kind(dtype) -> str:
    from pandas.api.types import is_numeric_dtype

    numeric = is_numeric_dtype(dtype) and dtype.kind != "c"  # complex numbers have no order
    return "numeric" if numeric else "categorical"


def _hash_ready(series: pd.Series) -> pd.Series:
    """Numbers as float64 with one zero and one NaN, so int 3 and float 3.0 hash alike."""
    import numpy as np
    import pandas as pd

    if _kind(series.dtype) != "numeric":
        return series
    values = series.to_numpy(dtype="float64", na_value=np.nan) + 0.0  # -0.0 -> 0.0
    values[np.isnan(values)] = np.nan
    return pd.Series(values, copy=False)


def _row_hashes(frame: pd.DataFrame, columns: list) -> np.ndarray:
    """One uint64 per row over ``columns`` in that order; the index plays no part."""
    import pandas as pd

    ready = pd.DataFrame(
        {i: _hash_ready(frame[name].reset_index(drop=True)) for i, name in enumerate(columns)}
    )
    return pd.util.hash_pandas_object(ready, index=False).to_numpy()


def _multiset_rows(base_hashes: np.ndarray, head_hashes: np.ndarray) -> tuple[np.ndarray, int]:
    """(added mask over head, removed) counting multiplicity: two copies of a row against one is
    one added, the later copy, so an appended batch is the rows that were appended."""
    import numpy as np

    base_values, base_counts = np.unique(base_hashes, return_counts=True)
    head_values, inverse, head_counts = np.unique(
        head_hashes, return_inverse=True, return_counts=True
    )
    at = np.minimum(np.searchsorted(base_values, head_values), max(len(base_values) - 1, 0))
    in_base = np.zeros(len(head_values), dtype=np.int64)
    if len(base_values):
        found = base_values[at] == head_values
        in_base[found] = base_counts[at[found]]
    added = (in_base == 0)[inverse]
    # A row the base has fewer copies of: its later copies are added. Rare, so ranked alone.
    partial = np.flatnonzero(((in_base > 0) & (head_counts > in_base))[inverse])
    if len(partial):
        hashes = head_hashes[partial]
        order = np.argsort(hashes, kind="stable")
        ordered = hashes[order]
        first = np.flatnonzero(np.append(True, ordered[1:] != ordered[:-1]))
        nth = np.arange(len(ordered)) - np.repeat(first, np.diff(np.append(first, len(ordered))))
        added[partial[order]] = nth >= in_base[inverse[partial[order]]]  # copies past the base's
    return added, len(base_hashes) - (len(head_hashes) - int(added.sum()))


def _check_key(base: pd.DataFrame, head: pd.DataFrame, key: str) -> None:
    """Raise ``ValueError`` unless ``key`` is a column of both tables, unique in each."""
    for side, frame in (("base", base), ("head", head)):
        if key not in frame.columns:
            raise ValueError(f"key column '{key}' is not in the {side} table")
        duplicated = int(frame[key].duplicated().sum())
        if duplicated:
            raise ValueError(
                f"key column '{key}' is not unique in the {side} table "
                f"({duplicated} repeated values)"
            )


def _keyed_rows(
    base: pd.DataFrame, head: pd.DataFrame, key: str, columns: list
) -> tuple[np.ndarray, int, int]:
    """(new-row mask over head, removed, changed) by ``key``: changed rows keep their key but not
    their values; the mask holds the added rows and the changed ones (their new values)."""
    import pandas as pd

    position = pd.Index(base[key]).get_indexer(pd.Index(head[key]))
    found = position >= 0
    matched = int(found.sum())
    new = ~found
    if columns and matched:
        base_hashes = _row_hashes(base, columns)
        head_hashes = _row_hashes(head, columns)
        new[found] = base_hashes[position[found]] != head_hashes[found]
    return new, len(base) - matched, int(new.sum()) - (len(head) - matched)


def _compare_rows(
    base: pd.DataFrame, head: pd.DataFrame, key: str | None, columns: list
) -> tuple[np.ndarray, int, int | None]:
    """(new-row mask over head, removed, changed): by ``key`` when given, else as multisets of
    row hashes. Without a key the mask is the added rows; with one, the added and changed."""
    import numpy as np

    if key is not None:
        return _keyed_rows(base, head, key, columns)
    if not columns:  # no column in common: no row of head can be one of base
        return np.ones(len(head), dtype=bool), len(base), None
    return (*_multiset_rows(_row_hashes(base, columns), _row_hashes(head, columns)), None)


def _ks_statistic(first: np.ndarray, second: np.ndarray) -> float:
    """The two-sample KS statistic of two sorted arrays, in O(m log n) for the smaller size m.

    Between two distinct values of the smaller sample its CDF is flat and the other's rises, so
    the largest gap is at one of its values or just below one: two binary searches per distinct
    value find it. A small added batch against a million base rows costs a few milliseconds.
    """
    import numpy as np

    small, large = (first, second) if len(first) <= len(second) else (second, first)
    starts = np.flatnonzero(np.append(True, small[1:] != small[:-1]))  # runs of equal values
    values = small[starts]
    below = np.abs(starts / len(small) - np.searchsorted(large, values, "left") / len(large))
    ends = np.append(starts[1:], len(small))
    upto = np.abs(ends / len(small) - np.searchsorted(large, values, "right") / len(large))
    return float(max(below.max(), upto.max()))


def ks_drift(base: np.ndarray, head: np.ndarray) -> tuple[float, float] | None:
    """The two-sample KS statistic and p-value of two float arrays without NaN; None below 2.

    ``scipy.stats.ks_2samp`` (two-sided, its default method) decides while it can be exact (up to
    ``SCIPY_EXACT_N`` values a side). Above, the same statistic, vectorised on sorted arrays, with
    the p-value ``ks_2samp`` would give (its asymptotic mode) up to ``KS_LIMIT_N``, and beyond
    that Kolmogorov's limiting distribution.
    """
    import numpy as np
    from scipy import stats

    n1, n2 = len(base), len(head)
    if n1 < 2 or n2 < 2:
        return None
    if max(n1, n2) <= SCIPY_EXACT_N:
        result = stats.ks_2samp(base, head)
        return float(result.statistic), float(result.pvalue)
    statistic = _ks_statistic(np.sort(base), np.sort(head))
    effective_n = np.round(n1 * n2 / (n1 + n2))
    if effective_n <= KS_LIMIT_N:
        pvalue = float(stats.kstwo.sf(statistic, effective_n))  # as ks_2samp's "asymp" mode
    else:
        pvalue = float(stats.kstwobign.sf(np.sqrt(effective_n) * statistic))
    return statistic, min(max(pvalue, 0.0), 1.0)


def _mean_std(values: np.ndarray) -> tuple[float | None, float | None]:
    if len(values) == 0:
        return None, None
    mean = float(values.mean())
    return mean, (float(values.std(ddof=1)) if len(values) >= 2 else None)


def _min_max(values: np.ndarray) -> tuple[float | None, float | None]:
    if len(values) == 0:
        return None, None
    return float(values.min()), float(values.max())


def _missing_share(series: pd.Series) -> float:
    return float(series.isna().mean()) if len(series) else 0.0


def _new_categories(base: pd.Series, head: pd.Series, as_text: bool) -> tuple[list[str], int]:
    """Head values absent from base, most frequent first (at most MAX_NEW_CATEGORIES), and a
    count."""
    import pandas as pd

    head_counts = head.value_counts(dropna=True)
    head_values = pd.Index(head_counts.index)
    base_values = pd.Index(base.dropna().unique())
    if as_text:  # a retyped column: 3 and "3" are the same category
        head_values = head_values.astype(str)
        base_values = base_values.astype(str)
    new = head_values[~head_values.isin(base_values)]
    return [str(value) for value in new[:MAX_NEW_CATEGORIES]], len(new)


def _quote(values: list[str], shown: int = 3) -> str:
    listed = ", ".join(repr(value) for value in values[:shown])
    return listed + (", …" if len(values) > shown else "")


def _column_diff(name: object, base: pd.Series, head: pd.Series, alpha: float) -> ColumnDiff:
    import numpy as np

    base_kind, head_kind = _kind(base.dtype), _kind(head.dtype)
    kind = "numeric" if base_kind == head_kind == "numeric" else "categorical"
    retyped = base.dtype.kind != head.dtype.kind
    values = {
        "name": str(name),
        "kind": kind,
        "base_dtype": str(base.dtype),
        "head_dtype": str(head.dtype),
        "base_missing": _missing_share(base),
        "head_missing": _missing_share(head),
    }
    reasons = []
    if retyped:
        reasons.append(f"retyped {base.dtype} → {head.dtype}")
    if kind == "numeric":
        base_values = base.dropna().to_numpy(dtype="float64", na_value=np.nan)
        head_values = head.dropna().to_numpy(dtype="float64", na_value=np.nan)
        values["base_mean"], values["base_std"] = _mean_std(base_values)
        values["head_mean"], values["head_std"] = _mean_std(head_values)
        values["base_min"], values["base_max"] = _min_max(base_values)
        values["head_min"], values["head_max"] = _min_max(head_values)
        drift = ks_drift(base_values, head_values)
        if drift is not None:
            values["ks_statistic"], values["ks_pvalue"] = drift
            if drift[1] < alpha:
                reasons.append(f"distribution shifted (KS p = {drift[1]:.2g} < {alpha:g})")
    else:
        listed, count = _new_categories(base, head, as_text=base_kind != head_kind)
        values["new_categories"], values["new_category_count"] = listed, count
        if count:
            label = "category" if count == 1 else "categories"
            reasons.append(f"{count} new {label}: {_quote(listed)}")
    if abs(values["head_missing"] - values["base_missing"]) > MISSING_SHARE_CHANGE:
        reasons.append(f"missing {values['base_missing']:.1%} → {values['head_missing']:.1%}")
    return ColumnDiff(**values, flagged=bool(reasons), reasons=reasons)


def _new_rows_diff(
    column: ColumnDiff,
    base: pd.Series,
    head: pd.Series,
    new: np.ndarray,
    alpha: float,
    label: str,
) -> ColumnDiff:
    """``column`` with the head's new rows (``new``, a mask over head) tested against the base.

    A whole-file KS test dilutes a small batch among the unchanged rows; this one does not.
    When every head row is new the whole-file test already is this test, so it is not repeated.
    ``alpha`` is the per-column level already divided among the columns tested (Bonferroni): a
    batch drawn from the base's own rows would otherwise flag some column in about one PR of
    ten with ten columns.
    """
    import numpy as np

    if column.kind != "numeric" or not new.any():
        return column
    base_values = base.dropna().to_numpy(dtype="float64", na_value=np.nan)
    new_values = head.to_numpy(dtype="float64", na_value=np.nan)[new]
    new_values = new_values[~np.isnan(new_values)]
    new_min, new_max = _min_max(new_values)
    values = {
        "new_rows": len(new_values),
        "new_min": new_min,
        "new_mean": _mean_std(new_values)[0],
        "new_max": new_max,
    }
    reasons = list(column.reasons)
    drift = None if new.all() else ks_drift(base_values, new_values)
    if drift is not None:
        values["new_ks_statistic"], values["new_ks_pvalue"] = drift
        if drift[1] < alpha:
            reasons.append(f"{label} differ (KS p = {drift[1]:.2g} < {alpha:.2g})")
    return replace(column, **values, flagged=bool(reasons), reasons=reasons)


def diff_tables(
    base: pd.DataFrame, head: pd.DataFrame, key: str | None = None, alpha: float = 0.01
) -> DataDiff:
    """What ``head`` changes against ``base``: rows, columns, and each common column's values.

    Without ``key`` rows are multisets of row hashes over the common columns (so an added column
    alone changes no row) and ``rows_changed`` is None: an edited row is one removed, one added.
    With ``key`` (unique on both sides) rows are matched by it, and edited rows count as changed.
    A column is flagged when its KS p-value is below ``alpha``, its missing share moves by more
    than ``MISSING_SHARE_CHANGE``, it has new categories, or its dtype kind changed; a numeric one
    also when the head's new rows alone (added; with ``key``, added or changed) differ from the
    base's by KS at ``alpha`` divided by the number of numeric columns.
    """
    for side, frame in (("base", base), ("head", head)):
        if frame.columns.has_duplicates:
            repeated = sorted({str(name) for name in frame.columns[frame.columns.duplicated()]})
            raise ValueError(f"the {side} table repeats column names: {', '.join(repeated)}")
    head_names = set(head.columns)
    base_names = set(base.columns)
    common = [name for name in base.columns if name in head_names]
    compared = [name for name in common if name != key]
    if key is not None:
        _check_key(base, head, key)
    # Sorting, searching and hashing release the GIL: columns run side by side on every core.
    workers = max(1, min(MAX_WORKERS, os.cpu_count() or 1, len(common) + 1))
    pairs = [(name, base[name], head[name]) for name in common]  # only this thread indexes
    label = "added rows" if key is None else "added or changed rows"
    with ThreadPoolExecutor(max_workers=workers) as pool:
        rows = pool.submit(_compare_rows, base, head, key, compared)
        columns = list(pool.map(lambda pair: _column_diff(*pair, alpha), pairs))
        new, removed, changed = rows.result()
        batch_alpha = alpha / max(1, sum(column.kind == "numeric" for column in columns))
        columns = list(
            pool.map(
                lambda column, pair: _new_rows_diff(
                    column, pair[1], pair[2], new, batch_alpha, label
                ),
                columns,
                pairs,
            )
        )
    added = len(head) - (len(base) - removed)
    columns.sort(key=lambda column: (not column.flagged, column.name))
    return DataDiff(
        base_rows=len(base),
        head_rows=len(head),
        rows_added=added,
        rows_removed=removed,
        rows_changed=changed,
        columns_added=[str(name) for name in head.columns if name not in base_names],
        columns_removed=[str(name) for name in base.columns if name not in head_names],
        columns_retyped=[
            Retype(str(name), str(base[name].dtype), str(head[name].dtype))
            for name in common
            if base[name].dtype.kind != head[name].dtype.kind
        ],
        columns=columns,
        key=key,
        alpha=alpha,
    )


# --- the base branch's file -------------------------------------------------------------------

_URL = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'\"]+")


def _redacted(text: str) -> str:
    return _URL.sub(lambda match: redact_url(match.group(0)), text)


def _object_type(repo: Path, revision: str, path: str) -> str | None:
    try:
        return git(repo, "cat-file", "-t", f"{revision}:{path}")
    except GitError:
        return None


def _repo_path(repo: Path, path: str | Path) -> str:
    """``path`` as git names it at a revision: relative to the repository, with forward slashes."""
    given = Path(path)
    if given.is_absolute():
        try:
            given = given.resolve().relative_to(Path(repo).resolve())
        except ValueError:
            raise BaseDataError(f"cannot read the base data: {path} is outside {repo}") from None
    return PurePosixPath(given.as_posix()).as_posix().removeprefix("./")


def _dvc_bytes(repo: Path, revision: str, path: str) -> bytes:
    try:
        import dvc.api

        with dvc.api.open(path, rev=revision, repo=str(repo), mode="rb") as handle:
            return handle.read()
    except Exception as exc:  # noqa: BLE001  (DVC raises many kinds; all mean "not readable")
        raise BaseDataError(
            f"'{path}' is tracked by DVC at '{revision}' ({path}.dvc) and its content could not "
            f"be read ({type(exc).__name__}: {_redacted(str(exc))}): run `dvc pull` on the base "
            "branch (or `dvc fetch --all-branches`) with the DVC remote's credentials"
        ) from None


def read_base_csv(
    repo: Path, revision: str, path: str, na_values: Sequence[str] | None = None
) -> pd.DataFrame:
    """The CSV at ``path`` as it was at ``revision``, read as ``raw_data`` reads the head's.

    Raises ``BaseDataError`` saying why when it cannot be: the revision is not in the checkout
    (a shallow CI clone), the file did not exist there, it is DVC-tracked and not in the cache
    or remote, or it is no CSV.
    """
    import pandas as pd

    repo = Path(repo)
    if not repo.is_dir():
        raise BaseDataError(f"cannot read the base data: {repo} is not a directory")
    if not revision or revision.startswith("-"):
        raise BaseDataError(f"cannot read the base data: '{revision}' is not a revision")
    try:
        check_repository(repo)
    except GitError:
        raise BaseDataError(f"cannot read the base data: {repo} is not a git checkout") from None
    try:
        git(repo, "rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}")
    except GitError:
        branch = revision.removeprefix("refs/remotes/").removeprefix("origin/")
        raise BaseDataError(
            f"base branch '{revision}' not fetched: run `git fetch origin {branch}` or use "
            "actions/checkout with fetch-depth: 0"
        ) from None
    name = _repo_path(repo, path)
    if _object_type(repo, revision, f"{name}.dvc") == "blob":
        content = _dvc_bytes(repo, revision, name)
    else:
        found = _object_type(repo, revision, name)
        if found is None:
            raise BaseDataError(
                f"'{name}' did not exist at '{revision}' (added by this change): "
                "no base data to diff against"
            )
        if found != "blob":
            raise BaseDataError(f"'{name}' at '{revision}' is a {found}, not a CSV file")
        try:
            content = git_bytes(repo, "show", f"{revision}:{name}")
        except GitError as error:
            raise BaseDataError(f"cannot read '{name}' at '{revision}': {error}") from None
    if content.startswith(b"version https://git-lfs.github.com/spec/"):
        raise BaseDataError(
            f"'{name}' at '{revision}' is a Git LFS pointer: run `git lfs fetch origin {revision}`"
        )
    try:
        return pd.read_csv(
            io.BytesIO(content), encoding="utf-8", skipinitialspace=True, na_values=na_values
        )
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:  # EmptyDataError too
        raise BaseDataError(
            f"'{name}' at '{revision}' is not a readable CSV ({type(exc).__name__}: {exc})"
        ) from None
