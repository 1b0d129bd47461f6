"""The "What changed in the data" section of the pull-request comment: pure Markdown rendering.

The flagged columns come first in a table, each with why and where its min, mean and max went
(and the new rows' own, when rows were added: a unit mistake in a small batch shows there); the
rest are collapsed, so a reviewer sees what needs a look without scrolling past every column that
did not move.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

    from mlops_assets.data.diff import ColumnDiff, DataDiff

TITLE = "### What changed in the data"
MAX_NAMES = 10  # column names listed in the summary line; the rest are counted
MAX_TABLE_ROWS = 200  # per table, so a wide file cannot crowd the rest of the comment out


def _num(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{value:.4g}"


def _share(value: float) -> str:
    return f"{100 * value:.4g}%"


def _code(name: str) -> str:
    """``name`` as inline code that survives backticks and pipes inside a table cell."""
    name = name.replace("|", "\\|").replace("\n", " ")
    return f"`` {name} ``" if "`" in name else f"`{name}`"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("`", "\\`").replace("\n", " ")


def _arrow(base: str, head: str) -> str:
    return base if base == head else f"{base} → {head}"


def _names(names: list[str]) -> str:
    listed = ", ".join(_code(name) for name in names[:MAX_NAMES])
    more = len(names) - MAX_NAMES
    return listed + (f" and {more} more" if more > 0 else "")


def summary_line(diff: DataDiff) -> str:
    """Rows added, removed and changed, then columns added, removed and retyped, on one line."""
    added = f"+{diff.rows_added:,} rows"
    removed = f"−{diff.rows_removed:,} rows"
    rows = [f"**{added}**" if diff.rows_added else added]
    rows.append(f"**{removed}**" if diff.rows_removed else removed)
    if diff.rows_changed is not None:
        changed = f"{diff.rows_changed:,} changed"
        rows.append(f"**{changed}**" if diff.rows_changed else changed)
    line = ", ".join(rows) + f" ({diff.base_rows:,} → {diff.head_rows:,})"
    columns = [
        f"{sign}{len(names)}" + (f" ({_names(names)})" if names else "")
        for sign, names in (("+", diff.columns_added), ("−", diff.columns_removed))
    ]
    if diff.columns_retyped:
        shown = diff.columns_retyped[:MAX_NAMES]
        retyped = ", ".join(f"{_code(r.name)} ({r.base_dtype} → {r.head_dtype})" for r in shown)
        more = len(diff.columns_retyped) - len(shown)
        columns.append(f"retyped: {retyped}" + (f" and {more} more" if more > 0 else ""))
    return f"{line} · columns: " + ", ".join(columns)


def _moves(column: ColumnDiff) -> list[str]:
    return [
        _arrow(_share(column.base_missing), _share(column.head_missing)),
        _arrow(_num(column.base_mean), _num(column.head_mean)),
        _arrow(_num(column.base_std), _num(column.head_std)),
        _num(column.ks_pvalue),
    ]


def _flagged_row(column: ColumnDiff, new_rows: bool) -> list[str]:
    """A flagged column's cells: why, missing, min, mean, max (base → head), std, KS p-value, and
    with new rows in the diff their min / mean / max."""
    cells = [
        _code(column.name),
        _cell("; ".join(column.reasons)),
        _arrow(_share(column.base_missing), _share(column.head_missing)),
        _arrow(_num(column.base_min), _num(column.head_min)),
        _arrow(_num(column.base_mean), _num(column.head_mean)),
        _arrow(_num(column.base_max), _num(column.head_max)),
        _arrow(_num(column.base_std), _num(column.head_std)),
        _num(column.ks_pvalue),
    ]
    if new_rows:
        shown = (column.new_min, column.new_mean, column.new_max)
        cells.append(" / ".join(_num(value) for value in shown) if column.new_rows else "—")
    return cells


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---:" if h in ("KS p-value",) else "---" for h in header) + "|",
    ]
    lines += ["| " + " | ".join(row) + " |" for row in rows[:MAX_TABLE_ROWS]]
    if len(rows) > MAX_TABLE_ROWS:
        lines += ["", f"_… and {len(rows) - MAX_TABLE_ROWS} more columns._"]
    return lines


def data_diff_section(diff: DataDiff | None, note: str = "") -> str:
    """The section as GitHub Markdown; with no diff, ``note`` says why there is none.

    ``note`` beside a diff is a line of context under the summary (what it was compared with).
    """
    lines = [TITLE, ""]
    if diff is None:
        lines.append(
            f"_No data diff against the base branch:_ {note}"
            if note
            else "_No data diff against the base branch._"
        )
        return "\n".join(lines) + "\n"
    if diff.unchanged:
        lines.append("_Data unchanged from the base branch._")
    else:
        lines.append(summary_line(diff))
    if note:
        lines += ["", f"_{note}_"]
    if diff.unchanged:
        return "\n".join(lines) + "\n"
    flagged = [column for column in diff.columns if column.flagged]
    others = [column for column in diff.columns if not column.flagged]
    lines.append("")
    if flagged:
        header = ["column", "why", "missing", "min", "mean", "max", "std", "KS p-value"]
        new_rows = diff.rows_added > 0 or bool(diff.rows_changed)
        if new_rows:
            header.append(
                ("added rows" if diff.key is None else "added or changed rows")
                + " (min / mean / max)"
            )
        lines += _table(header, [_flagged_row(c, new_rows) for c in flagged])
    else:
        lines.append(
            f"No column flagged (KS p < {diff.alpha:g} over all rows or the added ones, "
            "missing share, new categories)."
        )
    if others:
        lines += [
            "",
            f"<details><summary>Other columns ({len(others)})</summary>",
            "",
            *_table(
                ["column", "kind", "missing", "mean", "std", "KS p-value"],
                [[_code(c.name), c.kind, *_moves(c)] for c in others],
            ),
            "",
            "</details>",
        ]
    return "\n".join(lines) + "\n"


def base_data_section(repo: Path, branch: str, path: str, head: pd.DataFrame) -> str:
    """The section for ``head`` (the CSV at ``path`` now) against ``path`` on ``branch``;
    when the base cannot be read, the section says why instead."""
    from mlops_assets.data.diff import BaseDataError, diff_tables, read_base_csv
    from mlops_assets.git.base import base_revision
    from mlops_assets.git.commands import GitError

    try:
        revision = base_revision(repo, branch)
    except GitError as error:
        return data_diff_section(None, f"no base data: {error}")
    if revision is None:
        return data_diff_section(
            None,
            f"no base data: the base branch '{branch}' is not in this checkout (fetch it, or "
            "use actions/checkout with `fetch-depth: 0`)",
        )
    try:
        return data_diff_section(diff_tables(read_base_csv(repo, revision, path), head))
    except (BaseDataError, ValueError) as error:
        return data_diff_section(None, str(error))
