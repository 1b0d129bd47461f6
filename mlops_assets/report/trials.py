"""A sweep's trials as a Markdown table: the same in the pull-request comment and in the UI."""

import json
import math

from mlops_assets.records import SweepOutcome

WINNER = "🏆"


def trials_section(outcome: SweepOutcome | None) -> str:
    """The trials (their parameters, validation metric, epochs, seconds) with the winner
    marked, and how it was chosen; empty without a sweep."""
    if outcome is None or not outcome.trials:
        return ""
    names = sorted({name for trial in outcome.trials for name in trial.values})
    arrow = "↑" if outcome.higher_is_better else "↓"
    header = ["", "trial", *names, f"validation {outcome.metric} {arrow}", "epochs", "seconds"]
    rows = [
        f"### Sweep: {len(outcome.trials)} trials, chosen on validation {outcome.metric}",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "|".join([":---:", "---:", *["---"] * len(names), "---:", "---:", "---:"]) + "|",
    ]
    for trial in sorted(outcome.trials, key=lambda t: t.index):
        won = trial.index == outcome.winner
        value = f"**{_fmt(trial.value)}**" if won else _fmt(trial.value)
        cells = [
            WINNER if won else "",
            str(trial.index),
            *(f"`{_show(trial.values.get(name))}`" for name in names),
            value,
            str(trial.epochs_run),
            f"{trial.seconds:.1f}",
        ]
        rows.append("| " + " | ".join(cells) + " |")
    rows += [
        "",
        f"{WINNER} trial {outcome.winner} won on the validation rows (held back from the "
        "training split); only it was evaluated on the held-out rows, below.",
    ]
    return "\n".join(rows)


def _show(value) -> str:
    """A value as params.yaml spells it, compact: ``0.005``, ``[64,32]``, ``{"units":8}``."""
    text = (
        json.dumps(value, separators=(",", ":")) if isinstance(value, (list, dict)) else str(value)
    )
    text = "unset" if value is None else text.replace("|", "\\|")
    return text if len(text) <= 40 else text[:39] + "…"


def _fmt(value: float) -> str:
    return f"{value:.4g}" if math.isfinite(value) else "—"
