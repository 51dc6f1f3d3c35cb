"""queries/settings.py: practice.toml (currency, [targets], [recall]) beside the data, the older targets.toml,
and a clear message naming the file and the setting when one cannot be used."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import SAMPLE_DATA

from queries.kpis import Target, TargetsError
from queries.settings import Settings, SettingsError, parse_settings, read_settings

PRACTICE = """\
currency = "€"

[targets]
rebooking_rate = { min = 0.6 }
no_show_rate = { max = 0.05 }

[recall]
min_days = 30
max_days = 120
"""
LEGACY = 'tip_compliance = { min = 0.99 }\ncomplaints_per_100_sessions = { max = 3.0 }\n'
LEGACY_TARGETS = {"tip_compliance": Target(0.99, None), "complaints_per_100_sessions": Target(None, 3.0)}


def write(folder: Path, **files: str) -> Path:
    """`write(folder, practice="...", targets="...")` writes practice.toml and targets.toml."""
    folder.mkdir(parents=True, exist_ok=True)
    for stem, text in files.items():
        (folder / f"{stem}.toml").write_text(text, encoding="utf-8")
    return folder


# ---------------------------------------------------------------- reading the files

def test_defaults_with_no_file(tmp_path):
    settings = read_settings(tmp_path)
    assert settings == Settings()
    assert (settings.currency, settings.recall_min_days, settings.recall_max_days, settings.targets) == ("$", 42, 180, {})


def test_practice_toml(tmp_path):
    settings = read_settings(write(tmp_path, practice=PRACTICE))
    assert settings == Settings(targets={"rebooking_rate": Target(0.6, None), "no_show_rate": Target(None, 0.05)},
                                currency="€", recall_min_days=30, recall_max_days=120)


@pytest.mark.parametrize("text, expected", [
    pytest.param('currency = " CHF "\n', Settings(currency="CHF"), id="currency trimmed; the rest default"),
    pytest.param("[recall]\nmin_days = 60\n", Settings(recall_min_days=60), id="one bound; the other default"),
    pytest.param("[recall]\nmin_days = 0\nmax_days = 0\n", Settings(recall_min_days=0, recall_max_days=0),
                 id="0 days is allowed"),
    pytest.param("", Settings(), id="an empty file"),
])
def test_practice_toml_partial(tmp_path, text, expected):
    assert read_settings(write(tmp_path, practice=text)) == expected


def test_the_sample_practice_toml():
    settings = read_settings(SAMPLE_DATA)
    assert (settings.currency, settings.recall_min_days, settings.recall_max_days) == ("$", 42, 180)
    assert settings.targets == {"rebooking_rate": Target(0.6, None), "no_show_rate": Target(None, 0.05),
                                "complaints_per_100_sessions": Target(None, 3.0), "tip_compliance": Target(0.99, None)}


@pytest.mark.parametrize("files, expected_targets", [
    pytest.param({"targets": LEGACY}, LEGACY_TARGETS, id="targets.toml alone"),
    pytest.param({"practice": 'currency = "€"\n', "targets": LEGACY}, LEGACY_TARGETS,
                 id="practice.toml without [targets]: targets.toml"),
    pytest.param({"practice": PRACTICE, "targets": LEGACY},
                 {"rebooking_rate": Target(0.6, None), "no_show_rate": Target(None, 0.05)},
                 id="practice.toml's [targets] win over targets.toml"),
    pytest.param({"practice": "[targets]\n", "targets": LEGACY}, {}, id="an empty [targets] means none"),
    pytest.param({"practice": PRACTICE, "targets": "this is not toml ="},
                 {"rebooking_rate": Target(0.6, None), "no_show_rate": Target(None, 0.05)},
                 id="a targets.toml that is not used is not read"),
])
def test_legacy_targets_toml(tmp_path, files, expected_targets):
    assert read_settings(write(tmp_path, **files)).targets == expected_targets


def test_an_explicit_targets_file_wins(tmp_path):
    folder = write(tmp_path / "data", practice=PRACTICE, targets='rebooking_rate = { min = 0.1 }\n')
    explicit = write(tmp_path / "elsewhere", targets=LEGACY) / "targets.toml"
    settings = read_settings(folder, targets_file=explicit)
    assert settings.targets == LEGACY_TARGETS
    assert (settings.currency, settings.recall_min_days, settings.recall_max_days) == ("€", 30, 120)


def test_an_explicit_settings_file(tmp_path):
    folder = write(tmp_path / "data", practice='currency = "£"\n', targets=LEGACY)
    explicit = write(tmp_path / "elsewhere", practice=PRACTICE) / "practice.toml"
    settings = read_settings(folder, settings_file=explicit)
    assert (settings.currency, settings.recall_min_days) == ("€", 30)
    assert settings.targets == {"rebooking_rate": Target(0.6, None), "no_show_rate": Target(None, 0.05)}
    # Without [targets] in it, targets.toml beside the data is still read.
    other = write(tmp_path / "other", practice='currency = "£"\n') / "practice.toml"
    assert read_settings(folder, settings_file=other).targets == LEGACY_TARGETS


# ---------------------------------------------------------------- what cannot be used

@pytest.mark.parametrize("text, message", [
    pytest.param('colour = "red"\n',
                 "practice.toml: unknown setting 'colour'; expected currency, [targets], [recall], [privacy] or "
                 "[security]",
                 id="unknown key"),
    pytest.param("[recall]\nmin = 3\n", "practice.toml: [recall] takes min_days and max_days", id="unknown recall key"),
    pytest.param("recall = 5\n", "practice.toml: [recall] takes min_days and max_days", id="recall not a section"),
    pytest.param("[recall]\nmin_days = 200\nmax_days = 180\n",
                 "practice.toml: [recall] min_days (200) is after max_days (180)", id="min_days > max_days"),
    pytest.param("[recall]\nmin_days = 200\n", "practice.toml: [recall] min_days (200) is after max_days (180)",
                 id="min_days after the default max_days"),
    pytest.param("[recall]\nmin_days = -1\n",
                 "practice.toml: [recall] min_days must be a whole number of days, 0 or more; got -1", id="negative"),
    pytest.param("[recall]\nmax_days = 90.5\n",
                 "practice.toml: [recall] max_days must be a whole number of days, 0 or more; got 90.5",
                 id="not a whole number"),
    pytest.param('[recall]\nmax_days = "90"\n',
                 "practice.toml: [recall] max_days must be a whole number of days, 0 or more; got '90'", id="text"),
    pytest.param("[recall]\nmin_days = true\n",
                 "practice.toml: [recall] min_days must be a whole number of days, 0 or more; got True", id="a boolean"),
    pytest.param('currency = ""\n', "practice.toml: currency must be a short symbol in quotes, such as \"€\"; got ''",
                 id="empty currency"),
    pytest.param('currency = "   "\n', "practice.toml: currency must be a short symbol in quotes", id="blank currency"),
    pytest.param('currency = "euros"\n', "practice.toml: currency must be a short symbol in quotes", id="too long"),
    pytest.param("currency = 5\n", "practice.toml: currency must be a short symbol in quotes, such as \"€\"; got 5",
                 id="currency not text"),
    pytest.param("targets = 3\n", "practice.toml: targets must be a section, [targets]", id="targets not a section"),
])
def test_settings_errors(tmp_path, text, message):
    with pytest.raises(SettingsError, match=re.escape(message)):
        read_settings(write(tmp_path, practice=text))


@pytest.mark.parametrize("files, message", [
    pytest.param({"practice": "[targets]\nbogus = { min = 1 }\n"}, "practice.toml [targets]: bogus is not a KPI",
                 id="a target that is not a KPI names the section"),
    pytest.param({"practice": "[targets]\nrebooking_rate = 0.6\n"}, "practice.toml [targets]: rebooking_rate needs",
                 id="a target without min/max"),
    pytest.param({"practice": "currency = \n"}, "practice.toml: ", id="not TOML"),
    pytest.param({"targets": "bogus = { min = 1 }\n"}, "targets.toml: bogus is not a KPI", id="legacy targets.toml"),
])
def test_target_errors_name_the_file(tmp_path, files, message):
    # The dashboard catches TargetsError; SettingsError is one.
    with pytest.raises(TargetsError, match=re.escape(message)):
        read_settings(write(tmp_path, **files))


def test_settings_error_is_a_targets_error():
    assert issubclass(SettingsError, TargetsError)


def test_parse_settings_names_the_file_it_is_given():
    assert parse_settings({}, "x.toml") == Settings()
    assert parse_settings({}, "x.toml", {"tip_compliance": Target(0.9)}).targets == {"tip_compliance": Target(0.9)}
    with pytest.raises(SettingsError, match=re.escape("uploaded.toml: unknown setting 'x'")):
        parse_settings({"x": 1}, "uploaded.toml")


@pytest.mark.parametrize("which", ["settings_file", "targets_file"])
def test_a_named_file_that_does_not_exist_is_an_error_not_the_defaults(tmp_path, which):
    missing = tmp_path / "typo.toml"
    with pytest.raises(SettingsError, match="typo.toml: settings file not found"):
        read_settings(tmp_path, **{which: missing})


@pytest.mark.parametrize("text, expected", [
    pytest.param("", 11, id="default 11"),
    pytest.param("[privacy]\nmin_patients_per_cell = 5\n", 5, id="5 is the floor"),
    pytest.param("[privacy]\nmin_patients_per_cell = 20\n", 20, id="stricter"),
])
def test_the_small_cell_threshold(tmp_path, text, expected):
    (tmp_path / "practice.toml").write_text(text)
    assert read_settings(tmp_path).min_patients_per_cell == expected


@pytest.mark.parametrize("value", ["4", "0", "11.5", "true", '"eleven"'])
def test_a_small_cell_threshold_below_5_or_not_whole_is_refused(tmp_path, value):
    (tmp_path / "practice.toml").write_text(f"[privacy]\nmin_patients_per_cell = {value}\n")
    with pytest.raises(SettingsError, match=r"min_patients_per_cell must be a whole number of at least 5"):
        read_settings(tmp_path)


@pytest.mark.parametrize("text, expected", [
    pytest.param("", 30, id="default 30"),
    pytest.param("[security]\nidle_minutes = 1\n", 1, id="1 is the least"),
    pytest.param("[security]\nidle_minutes = 480\n", 480, id="a working day"),
])
def test_the_idle_time(tmp_path, text, expected):
    (tmp_path / "practice.toml").write_text(text)
    assert read_settings(tmp_path).idle_minutes == expected


@pytest.mark.parametrize("text, message", [
    pytest.param("[security]\nidle_minutes = 0\n", "[security] idle_minutes must be a whole number of minutes, "
                 "1 or more; got 0", id="zero would sign everyone out at once"),
    pytest.param("[security]\nidle_minutes = 7.5\n", "got 7.5", id="not whole"),
    pytest.param('[security]\nidle_minutes = "30"\n', "got '30'", id="text in the file"),
    pytest.param("[security]\nidle_minutes = true\n", "got True", id="a boolean"),
    pytest.param("[security]\ntimeout = 5\n", "practice.toml: [security] takes idle_minutes", id="unknown key"),
    pytest.param("security = 5\n", "practice.toml: [security] takes idle_minutes", id="not a section"),
])
def test_an_idle_time_that_cannot_be_used_is_refused(tmp_path, text, message):
    (tmp_path / "practice.toml").write_text(text)
    with pytest.raises(SettingsError, match=re.escape(message)):
        read_settings(tmp_path)


@pytest.mark.parametrize("value, expected", [("45", 45), (" 5 ", 5), (10, 10), ("0", None), ("-3", None),
                                             ("ten", None), ("", None), ("1.5", None)])
def test_the_idle_time_from_the_environment(value, expected):
    from queries.settings import parse_idle_minutes

    if expected is None:
        with pytest.raises(ValueError, match="whole number of minutes, 1 or more"):
            parse_idle_minutes(value, text=True)
    else:
        assert parse_idle_minutes(value, text=True) == expected
