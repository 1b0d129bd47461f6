"""The data diff against the base branch: rows by hash, columns by kind, drift by KS, the base
CSV read from a real git repository, and the Markdown section of the pull-request comment."""

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from mlops_assets.data.diff import (
    KS_LIMIT_N,
    BaseDataError,
    Retype,
    diff_tables,
    ks_drift,
    read_base_csv,
)
from mlops_assets.report.data_diff import base_data_section, data_diff_section
from mlops_assets.settings import project_dir
from mlops_assets_tests.support.git_repo import GitRepo

SAMPLE_CSV = project_dir() / "data" / "diabetes.csv"


@pytest.fixture(scope="module")
def diabetes() -> pd.DataFrame:
    return pd.read_csv(SAMPLE_CSV)


def with_shifted_bmi(base: pd.DataFrame, rows: int = 100) -> pd.DataFrame:
    """``base`` plus ``rows`` of its own rows appended, their bmi moved up by 3 std."""
    extra = base.sample(rows, random_state=0).copy()
    extra["bmi"] += 3 * base["bmi"].std()
    return pd.concat([base, extra], ignore_index=True)


def by_name(diff, name):
    [column] = [c for c in diff.columns if c.name == name]
    return column


def test_appended_rows_with_a_shifted_feature_flag_that_feature(diabetes):
    diff = diff_tables(diabetes, with_shifted_bmi(diabetes))

    assert (diff.base_rows, diff.head_rows) == (442, 542)
    assert (diff.rows_added, diff.rows_removed, diff.rows_changed) == (100, 0, None)
    assert [c.name for c in diff.columns if c.flagged] == ["bmi"]
    assert diff.columns[0].name == "bmi"  # flagged first
    bmi = diff.columns[0]
    assert bmi.kind == "numeric"
    assert bmi.ks_pvalue < 1e-4  # 100 of 542 rows moved by 3 std
    assert bmi.ks_pvalue == pytest.approx(
        stats.ks_2samp(diabetes["bmi"], with_shifted_bmi(diabetes)["bmi"]).pvalue
    )
    assert bmi.head_mean > bmi.base_mean and bmi.head_std > bmi.base_std
    assert any("KS p" in reason for reason in bmi.reasons)
    # The other features and the target are resampled from the base: no drift.
    target = by_name(diff, "target")
    assert target.ks_pvalue > 0.01 and not target.flagged
    assert [c.name for c in diff.columns[1:]] == sorted(c.name for c in diff.columns[1:])
    assert not diff.unchanged


def test_the_added_rows_are_tested_alone_and_counted_with_multiplicity(diabetes):
    copies = diabetes.sample(40, random_state=1)  # rows the base already has, once each
    diff = diff_tables(diabetes, pd.concat([diabetes, copies]))

    assert (diff.rows_added, diff.rows_removed) == (40, 0)
    assert not diff.flagged  # resampled from the base: no column moved
    bmi = by_name(diff, "bmi")
    assert bmi.new_rows == 40
    assert (bmi.new_min, bmi.new_max) == (copies["bmi"].min(), copies["bmi"].max())
    assert bmi.new_mean == pytest.approx(copies["bmi"].mean())
    assert bmi.new_ks_pvalue == pytest.approx(stats.ks_2samp(diabetes["bmi"], copies["bmi"]).pvalue)
    assert (bmi.base_min, bmi.head_max) == (diabetes["bmi"].min(), diabetes["bmi"].max())

    both = by_name(diff_tables(diabetes, with_shifted_bmi(diabetes)), "bmi")
    assert [reason.split(" (")[0] for reason in both.reasons] == [
        "distribution shifted",
        "added rows differ",
    ]


def test_with_a_key_changed_rows_join_the_added_ones():
    rng = np.random.default_rng(5)
    base = pd.DataFrame({"id": range(300), "height": rng.normal(1.7, 0.1, 300)})
    head = base.copy()
    head.loc[:29, "height"] *= 100  # 30 rows entered in cm
    head = pd.concat([head, pd.DataFrame({"id": [300, 301], "height": [170.0, 180.0]})])

    height = by_name(diff_tables(base, head, key="id"), "height")

    assert height.new_rows == 32 and height.new_min > 100
    assert any(reason.startswith("added or changed rows differ") for reason in height.reasons)


def test_a_replaced_file_is_not_tested_twice(diabetes):
    head = diabetes.assign(bmi=diabetes["bmi"] + 8)  # every row differs: all are added

    diff = diff_tables(diabetes, head)

    assert (diff.rows_added, diff.rows_removed) == (442, 442)
    bmi = by_name(diff, "bmi")
    assert bmi.new_rows == 442 and bmi.new_ks_pvalue is None
    assert bmi.reasons == [f"distribution shifted (KS p = {bmi.ks_pvalue:.2g} < 0.01)"]


def test_rows_are_compared_as_multisets():
    base = pd.DataFrame({"x": [1, 2, 3], "y": ["a", "b", "c"]})
    head = pd.DataFrame({"x": [1, 1, 2, 2, 2, 4], "y": ["a", "a", "b", "b", "b", "d"]})

    diff = diff_tables(base, head)

    # a: one copy more, b: two more, d: new; c: gone.
    assert (diff.rows_added, diff.rows_removed, diff.rows_changed) == (4, 1, None)
    shuffled = base.iloc[[2, 0, 1]]  # order and index play no part
    assert diff_tables(base, shuffled).unchanged


def test_a_key_column_counts_changed_rows():
    base = pd.DataFrame({"id": [1, 2, 3, 4], "x": [1.0, 2.0, 3.0, 4.0], "y": list("abcd")})
    head = pd.DataFrame({"id": [4, 2, 3, 5, 6], "x": [4.0, 2.5, 3.0, 5.0, 6.0], "y": list("dbzee")})

    diff = diff_tables(base, head, key="id")

    # id 1 removed; 5 and 6 added; 2 (x) and 3 (y) changed; 4 moved but is the same row.
    assert (diff.rows_added, diff.rows_removed, diff.rows_changed) == (2, 1, 2)
    assert not diff_tables(base, base.iloc[::-1], key="id").rows_changed
    with pytest.raises(ValueError, match="not unique in the head"):
        diff_tables(base, pd.concat([head, head]), key="id")
    with pytest.raises(ValueError, match="'nope' is not in the base"):
        diff_tables(base, head, key="nope")


def test_new_categories_are_listed_and_flagged():
    base = pd.DataFrame({"region": ["north", "south"] * 50})
    head = pd.DataFrame({"region": ["north", "south"] * 50 + ["east"] * 5 + ["west"]})

    column = diff_tables(base, head).columns[0]

    assert column.kind == "categorical"
    assert column.new_categories == ["east", "west"]  # most frequent first
    assert column.new_category_count == 2
    assert column.flagged and column.reasons == ["2 new categories: 'east', 'west'"]
    assert column.base_mean is None and column.ks_pvalue is None

    many = pd.DataFrame({"region": [f"r{i}" for i in range(25)]})
    column = diff_tables(base, many).columns[0]
    assert len(column.new_categories) == 10 and column.new_category_count == 25


def test_columns_added_removed_and_retyped(diabetes):
    head = diabetes.drop(columns=["s6"]).assign(
        bmi2=diabetes["bmi"] ** 2, sex=diabetes["sex"].map({1.0: "F", 2.0: "M"})
    )

    diff = diff_tables(diabetes, head)

    assert diff.columns_added == ["bmi2"]
    assert diff.columns_removed == ["s6"]
    assert diff.columns_retyped == [Retype("sex", "float64", "object")]
    sex = by_name(diff, "sex")
    assert sex.flagged and sex.kind == "categorical"
    assert sex.reasons[0] == "retyped float64 → object"
    assert sex.new_categories == ["F", "M"] or sex.new_categories == ["M", "F"]
    assert "s6" not in {c.name for c in diff.columns}
    renamed = diff_tables(diabetes, diabetes.add_suffix("_v2"))  # nothing to compare rows by
    assert (renamed.rows_added, renamed.rows_removed) == (442, 442)
    with pytest.raises(ValueError, match="the head table repeats column names: age"):
        diff_tables(diabetes, pd.concat([diabetes, diabetes[["age"]]], axis=1))


def test_an_added_column_or_a_widened_type_alone_changes_no_row(diabetes):
    added = diff_tables(diabetes, diabetes.assign(extra=1.0))
    assert (added.rows_added, added.rows_removed) == (0, 0)
    assert added.columns_added == ["extra"] and not added.unchanged

    base = pd.DataFrame({"n": [1, 2, 3], "y": [0.5, 1.5, 2.5]})
    widened = diff_tables(base, base.astype({"n": "float64"}))
    assert (widened.rows_added, widened.rows_removed) == (0, 0)
    assert widened.columns_retyped == [Retype("n", "int64", "float64")]
    assert by_name(widened, "n").kind == "numeric" and by_name(widened, "n").flagged


def test_a_missing_share_change_flags_the_column(diabetes):
    head = diabetes.copy()
    head.loc[head.sample(frac=0.10, random_state=1).index, "bp"] = np.nan
    head.loc[head.sample(frac=0.03, random_state=2).index, "s1"] = np.nan

    diff = diff_tables(diabetes, head)

    bp, s1 = by_name(diff, "bp"), by_name(diff, "s1")
    assert bp.flagged and bp.reasons == ["missing 0.0% → 10.0%"]
    assert bp.head_missing == pytest.approx(0.10, abs=0.005)
    assert not s1.flagged  # 3 points is under the 5-point threshold
    assert s1.head_missing > 0


def test_an_unchanged_table_says_so(diabetes):
    diff = diff_tables(diabetes, diabetes.copy())

    assert diff.unchanged
    assert (diff.rows_added, diff.rows_removed) == (0, 0)
    assert not any(c.flagged for c in diff.columns)
    assert all(c.ks_pvalue == 1.0 for c in diff.columns)
    section = data_diff_section(diff)
    assert section.startswith("### What changed in the data\n")
    assert "_Data unchanged from the base branch._" in section


def test_the_large_sample_ks_agrees_with_scipy():
    rng = np.random.default_rng(3)
    base = np.round(rng.normal(size=120_000), 2)  # ties, as real data has
    head = np.round(rng.normal(0.01, 1.0, size=110_000), 2)
    assert len(base) * len(head) / (len(base) + len(head)) > KS_LIMIT_N

    statistic, pvalue = ks_drift(base, head)

    expected = stats.ks_2samp(base, head)
    assert statistic == pytest.approx(expected.statistic, rel=1e-12)
    assert pvalue == pytest.approx(expected.pvalue, rel=0.01)
    assert ks_drift(base[:1], head) is None
    # A small batch against a large base, and a mid-size pair: scipy's own p-value, exactly.
    for first, second in ((base, head[:2_000] + 0.2), (base[:30_000], head[:20_000])):
        expected = stats.ks_2samp(first, second)
        statistic, pvalue = ks_drift(first, second)
        assert statistic == pytest.approx(expected.statistic, rel=1e-12)
        assert pvalue == pytest.approx(expected.pvalue, rel=1e-9)


def test_a_million_rows_diff_without_error():
    """Scale, not a timed assertion: hashing and KS are vectorised (a few seconds here)."""
    rng = np.random.default_rng(0)
    n = 1_000_000
    columns = {f"x{i}": rng.normal(size=n) for i in range(8)}
    columns["count"] = rng.integers(0, 1_000, size=n)
    columns["group"] = rng.choice(np.array(["a", "b", "c", "d"], dtype=object), size=n)
    base = pd.DataFrame(columns)
    new = pd.DataFrame(
        {
            **{f"x{i}": rng.normal(size=20_000) for i in range(8)},
            "count": rng.integers(0, 1_000, size=20_000),
            "group": "e",
        }
    )
    new["x0"] += 3.0
    head = pd.concat([base.iloc[10_000:], new], ignore_index=True)

    diff = diff_tables(base, head)

    assert (diff.rows_added, diff.rows_removed) == (20_000, 10_000)
    flagged = {c.name: c for c in diff.columns if c.flagged}
    assert set(flagged) >= {"x0", "group"}
    assert flagged["x0"].ks_pvalue < 1e-10
    assert flagged["group"].new_categories == ["e"]


# --- the base branch's CSV, from a real repository ------------------------------------------

BASE_CSV = "a,b,label\n1,2.5,x\n3,4.5,y\n"


@pytest.fixture
def repo(tmp_path):
    repo = GitRepo(tmp_path / "repo")
    repo.commit({"data/d.csv": BASE_CSV, "data/big.csv.dvc": DVC_FILE}, "base data")
    repo.git("checkout", "--quiet", "-b", "feature")
    repo.commit({"data/d.csv": BASE_CSV + "5,6.5,z\n", "data/new.csv": "q\n1\n"}, "change")
    return repo


DVC_FILE = "outs:\n- md5: 0123456789abcdef0123456789abcdef\n  size: 10\n  path: big.csv\n"


def test_read_base_csv_returns_the_base_content(repo):
    base = read_base_csv(repo.path, "main", "data/d.csv")

    assert base.to_dict("list") == {"a": [1, 3], "b": [2.5, 4.5], "label": ["x", "y"]}
    head = pd.read_csv(repo.path / "data" / "d.csv")
    assert diff_tables(base, head).rows_added == 1
    assert read_base_csv(repo.path, "main", str(repo.path / "data" / "d.csv")).shape == (2, 3)


def test_read_base_csv_says_why_it_cannot(repo, tmp_path):
    with pytest.raises(BaseDataError, match=r"base branch 'origin/main' not fetched") as unknown:
        read_base_csv(repo.path, "origin/main", "data/d.csv")
    assert "`git fetch origin main`" in str(unknown.value)
    assert "fetch-depth: 0" in str(unknown.value)

    with pytest.raises(BaseDataError, match=r"'data/new.csv' did not exist at 'main'"):
        read_base_csv(repo.path, "main", "data/new.csv")

    with pytest.raises(BaseDataError, match=r"tracked by DVC at 'main'.*`dvc pull`"):
        read_base_csv(repo.path, "main", "data/big.csv")

    (tmp_path / "plain").mkdir()
    with pytest.raises(BaseDataError, match="not a git checkout"):
        read_base_csv(tmp_path / "plain", "main", "data/d.csv")


# --- the Markdown section ---------------------------------------------------------------------


def test_the_section_tables_the_flagged_column_and_collapses_the_rest(diabetes):
    head = with_shifted_bmi(diabetes).assign(bmi2=1.0)

    section = data_diff_section(diff_tables(diabetes, head))

    title, summary, *_ = section.split("\n\n")
    assert title == "### What changed in the data"
    assert summary.startswith("**+100 rows**, −0 rows (442 → 542) · columns: +1 (`bmi2`), −0")
    flagged_table, others = section.split("<details><summary>Other columns (10)</summary>")
    assert (
        "| column | why | missing | min | mean | max | std | KS p-value "
        "| added rows (min / mean / max) |" in flagged_table
    )
    [bmi_row] = [line for line in flagged_table.splitlines() if line.startswith("| `bmi` |")]
    assert "distribution shifted" in bmi_row and " → " in bmi_row
    assert "`age`" not in flagged_table
    assert all(f"| `{name}` |" in others for name in ("age", "sex", "s6", "target"))
    assert "`bmi` |" not in others
    assert others.rstrip().endswith("</details>")


def test_a_small_appended_batch_with_a_unit_change_is_flagged_in_the_comment(tmp_path):
    """40 copied rows with bmi + 8 (1.8 std) vanish among 482 in a whole-file KS; the comment
    must still name bmi, say the added rows differ, and show where min, mean and max went."""
    repo = GitRepo(tmp_path / "repo")
    repo.commit({"data/diabetes.csv": SAMPLE_CSV.read_text()}, "the sample")
    repo.git("checkout", "--quiet", "-b", "more-patients")
    base = pd.read_csv(SAMPLE_CSV)
    batch = base.sample(40, random_state=0).assign(bmi=lambda f: f["bmi"] + 8)
    repo.commit({"data/diabetes.csv": pd.concat([base, batch]).to_csv(index=False)}, "40 more")
    csv = repo.path / "data" / "diabetes.csv"

    section = base_data_section(repo.path, "main", "data/diabetes.csv", pd.read_csv(csv))

    assert "**+40 rows**, −0 rows (442 → 482)" in section
    assert "No column flagged" not in section
    flagged, others = section.split("<details><summary>Other columns (10)</summary>")
    header = next(line for line in flagged.splitlines() if line.startswith("| column |"))
    cells = [cell.strip() for cell in header.strip("|").split("|")]
    [bmi_row] = [line for line in flagged.splitlines() if line.startswith("| `bmi` |")]
    bmi = dict(zip(cells, (cell.strip() for cell in bmi_row.strip("|").split("|")), strict=True))
    assert bmi["why"].startswith("added rows differ (KS p = ")
    old, new = base["bmi"], pd.concat([base, batch])["bmi"]
    assert bmi["min"] == f"{old.min():.4g}"  # the batch adds no new low: unchanged, one value
    assert bmi["mean"] == f"{old.mean():.4g} → {new.mean():.4g}"
    assert bmi["max"] == f"{old.max():.4g} → {new.max():.4g}"
    added = batch["bmi"]
    assert bmi["added rows (min / mean / max)"] == (
        f"{added.min():.4g} / {added.mean():.4g} / {added.max():.4g}"
    )
    assert "`age`" not in flagged and "| `age` |" in others  # copied unchanged: not flagged


def test_the_section_without_a_diff_says_why():
    note = "base branch 'main' not fetched: run `git fetch origin main`"

    section = data_diff_section(None, note)

    assert section.startswith("### What changed in the data\n\n")
    assert note in section


def test_a_keyed_retype_summary_names_them():
    base = pd.DataFrame({"id": [1, 2], "sex": [1, 2]})
    head = pd.DataFrame({"id": [1, 2], "sex": ["1", "3"]})

    section = data_diff_section(diff_tables(base, head, key="id"))

    assert "**2 changed**" in section
    assert "retyped: `sex` (int64 → object)" in section


def test_the_modules_load_without_heavy_libraries():
    code = (
        "import sys, mlops_assets.data.diff, mlops_assets.report.data_diff; "
        "print(sorted(m for m in ('pandas', 'numpy', 'scipy', 'dvc') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
