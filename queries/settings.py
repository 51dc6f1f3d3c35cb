"""The practice's settings: one `practice.toml` beside the data (docs: README, "Practice settings").

    currency = "€"                      # shown before money; default "$"
    [targets]                           # KPI targets on the Overview cards
    rebooking_rate = { min = 0.60 }
    [recall]                            # the recall list's default bounds (SPEC 2.8)
    min_days = 42
    max_days = 180
    [privacy]                           # marketing views: cells of fewer patients are hidden (SPEC 2.14)
    min_patients_per_cell = 11          # never below 5
    [security]                          # with a users file: a signed-in session ends after this long idle
    idle_minutes = 30                   # whole minutes, 1 or more ($PRACTICE_IDLE_MINUTES wins over it)

A `targets.toml` (the file that held targets before) is still read when
practice.toml has no [targets].
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from queries.kpis import Target, TargetsError, parse_targets, read_targets, read_toml

SETTINGS_NAME = "practice.toml"
TARGETS_NAME = "targets.toml"
RECALL_DEFAULTS = (42, 180)
SMALL_CELL_DEFAULT, SMALL_CELL_FLOOR = 11, 5
IDLE_MINUTES_DEFAULT = 30


class SettingsError(TargetsError):
    """A settings file that cannot be used; the message names the file and the setting."""


@dataclass(frozen=True)
class Settings:
    targets: dict[str, Target] = field(default_factory=dict)
    currency: str = "$"
    recall_min_days: int = RECALL_DEFAULTS[0]
    recall_max_days: int = RECALL_DEFAULTS[1]
    min_patients_per_cell: int = SMALL_CELL_DEFAULT  # SPEC 2.14's k
    idle_minutes: int = IDLE_MINUTES_DEFAULT  # a signed-in session ends after this long without a click


def _whole_days(value, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise SettingsError(f"{where} must be a whole number of days, 0 or more; got {value!r}")
    return value


def parse_settings(raw: dict, file_name: str, legacy_targets: dict[str, Target] | None = None) -> Settings:
    unknown = set(raw) - {"currency", "targets", "recall", "privacy", "security"}
    if unknown:
        raise SettingsError(f"{file_name}: unknown setting {sorted(unknown)[0]!r}; "
                            "expected currency, [targets], [recall], [privacy] or [security]")
    currency = raw.get("currency", "$")
    if not isinstance(currency, str) or not 0 < len(currency.strip()) <= 4:
        raise SettingsError(f"{file_name}: currency must be a short symbol in quotes, such as \"€\"; got {currency!r}")
    recall = raw.get("recall", {})
    if not isinstance(recall, dict) or set(recall) - {"min_days", "max_days"}:
        raise SettingsError(f"{file_name}: [recall] takes min_days and max_days")
    low = _whole_days(recall.get("min_days", RECALL_DEFAULTS[0]), f"{file_name}: [recall] min_days")
    high = _whole_days(recall.get("max_days", RECALL_DEFAULTS[1]), f"{file_name}: [recall] max_days")
    if low > high:
        raise SettingsError(f"{file_name}: [recall] min_days ({low}) is after max_days ({high})")
    privacy = raw.get("privacy", {})
    if not isinstance(privacy, dict) or set(privacy) - {"min_patients_per_cell"}:
        raise SettingsError(f"{file_name}: [privacy] takes min_patients_per_cell")
    k = privacy.get("min_patients_per_cell", SMALL_CELL_DEFAULT)
    if isinstance(k, bool) or not isinstance(k, int) or k < SMALL_CELL_FLOOR:
        raise SettingsError(f"{file_name}: [privacy] min_patients_per_cell must be a whole number of at least "
                            f"{SMALL_CELL_FLOOR}; got {k!r}")
    security = raw.get("security", {})
    if not isinstance(security, dict) or set(security) - {"idle_minutes"}:
        raise SettingsError(f"{file_name}: [security] takes idle_minutes")
    idle = security.get("idle_minutes", IDLE_MINUTES_DEFAULT)
    try:
        idle = parse_idle_minutes(idle)
    except ValueError as exc:
        raise SettingsError(f"{file_name}: [security] {exc}") from None
    targets = raw.get("targets")
    if targets is not None and not isinstance(targets, dict):
        raise SettingsError(f"{file_name}: targets must be a section, [targets]")
    return Settings(
        targets=parse_targets(targets, f"{file_name} [targets]") if targets is not None else (legacy_targets or {}),
        currency=currency.strip(),
        recall_min_days=low,
        recall_max_days=high,
        min_patients_per_cell=k,
        idle_minutes=idle,
    )


def parse_idle_minutes(value, *, text: bool = False) -> int:
    """[security] idle_minutes, or $PRACTICE_IDLE_MINUTES with `text`: a whole number of minutes, 1 or more."""
    if text and isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"idle_minutes must be a whole number of minutes, 1 or more; got {value!r}")
    return value


def read_settings(folder: Path, settings_file: Path | None = None, targets_file: Path | None = None) -> Settings:
    """Settings from `settings_file` (default: practice.toml in `folder`); defaults where there is none.

    Targets: an explicit `targets_file` wins; else practice.toml's [targets]; else targets.toml in `folder`.
    """
    for named in (settings_file, targets_file):
        if named is not None and not named.is_file():
            raise SettingsError(f"{named}: settings file not found")
    settings_file = settings_file or folder / SETTINGS_NAME
    raw = read_toml(settings_file) if settings_file.is_file() else None
    # targets.toml is read only when used: a stale one must not stop a practice.toml with [targets].
    legacy = (read_targets(targets_file or folder / TARGETS_NAME)
              if targets_file is not None or raw is None or "targets" not in raw else {})
    settings = parse_settings(raw, settings_file.name, legacy) if raw is not None else Settings(targets=legacy)
    return replace(settings, targets=legacy) if targets_file is not None else settings
