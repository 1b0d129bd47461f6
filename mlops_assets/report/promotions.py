"""The model's place in the registry, in words: what merging would do, the champion's history."""

from mlops_assets.promotion import CHAMPION, NOT_REGISTERED
from mlops_assets.records import ModelVersion, Promotion, Registration


def _number(value: float) -> str:
    return f"{value:.4g}"


def version_label(version: ModelVersion) -> str:
    """``v3 (test_mae 42.1 ± 3.2, merged in #12)``: the headline with half its interval, and where
    the version came from."""
    parts = []
    if version.value is not None:
        spread = ""
        if version.interval is not None:
            spread = f" ± {_number((version.interval.high - version.interval.low) / 2)}"
        parts.append(f"{version.headline} {_number(version.value)}{spread}")
    if version.pr_number:
        parts.append(f"merged in #{version.pr_number}")
    elif version.commit:
        parts.append(f"commit {version.commit[:7]}")
    return f"v{version.version}" + (f" ({', '.join(parts)})" if parts else "")


def registration_line(registration: Registration) -> str:
    """One line for the comment's status: what this run did to the registry, or would on merge."""
    before = registration.champion_before
    if registration.role == NOT_REGISTERED:
        return f"**Would not be promoted:** {registration.why}."
    version = registration.version
    if registration.promoted is not None:
        replaced = f", replacing {version_label(before)}" if before else " (the first)"
        return (
            f"**Promoted:** v{version.version} is the champion of `{registration.model}`{replaced}."
        )
    if registration.role == CHAMPION:  # the champion already (a rerun of the same model)
        return (
            f"**Champion:** v{version.version} of `{registration.model}` is the champion already."
        )
    alias = f" (alias `{registration.alias}`)" if registration.alias else ""
    registered = f"Registered as v{version.version} of `{registration.model}`{alias}, a candidate"
    if before is None:
        return f"{registered}: merging would make it the first champion."
    return f"{registered}: merging would replace champion {version_label(before)}."


def ledger_table(ledger: list[Promotion], headline: str) -> str:
    """Every move of the champion, newest first."""
    if not ledger:
        return "_No champion yet._"
    rows = [
        f"| # | when (UTC) | champion | replaced | {headline} change | why | run | commit |",
        "|---:|---|---|---|---:|---|---|---|",
    ]
    for move in reversed(ledger):
        change = move.deltas.get(headline)
        rows.append(
            f"| {move.seq} | {move.at[:19].replace('T', ' ')} | v{move.version} "
            f"| {f'v{move.replaced}' if move.replaced else '—'} "
            f"| {'—' if change is None else f'{change:+.4g}'} | {move.reason} "
            f"| `{move.by_run[:8]}` | `{move.commit[:7] or '—'}` |"
        )
    return "\n".join(rows)


def promotions_section(registration: Registration, headline: str) -> str:
    """The champion's history for the comment, collapsed."""
    if not registration.ledger:
        return ""
    moves = len(registration.ledger)
    summary = f"Champion history of <code>{registration.model}</code> ({moves} moves)"
    table = ledger_table(registration.ledger, headline)
    return f"<details><summary>{summary}</summary>\n\n{table}\n\n</details>"
