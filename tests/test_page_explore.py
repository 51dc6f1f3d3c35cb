"""The Explore page (AppTest on the sample data): its rows and counts equal queries/explore.py run directly,
its state comes from and goes to the link, it pages, and a selected row shows that patient's history."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from conftest import booking, session, write_export
from pages import APP, drawn_text, fresh_caches, open_page, sample_fixture, sidebar_pair_matching_nothing  # noqa: F401
from streamlit.testing.v1 import AppTest

from queries import explore as x
from queries import labels
from queries.api import Filters, default_as_of


def open_explore(**query_params) -> AppTest:
    return open_page("explore", **query_params)


def rerun(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def last_12_months(con) -> tuple[Filters, object]:
    as_of = default_as_of(con)
    return Filters(start=as_of - timedelta(days=364), end=as_of), as_of


def summary(at: AppTest) -> tuple[int, int, int]:
    """(rows matching, page, pages) from the line above the table."""
    line = next(m.value for m in at.markdown if " match · rows " in m.value)
    numbers = [int(n.replace(",", "")) for n in re.findall(r"[\d,]+", line)]
    return numbers[0], numbers[-2], numbers[-1]


def rows(at: AppTest):
    return at.dataframe[0].value


def button(at: AppTest, key: str):
    return next(b for b in at.button if b.key == key)


def test_opens_on_sessions_with_the_sidebar_period(sample):
    at = open_explore()
    filters, as_of = last_12_months(sample)
    total = x.count_rows(sample, x.Query("sessions"), filters, as_of)
    assert summary(at) == (total, 1, x.page_count(total))
    expected = x.fetch_page(sample, x.Query("sessions"), filters, as_of, 1)
    shown = rows(at)
    assert len(shown) == x.PAGE_SIZE < total  # one page is sent, not every row
    assert list(shown["patient_id"]) == list(expected["patient_id"])
    assert list(shown["body_area"]) == [labels.value(v) for v in expected["body_area"]]
    assert at.query_params["x_entity"] == "sessions"


def test_the_entity_filters_columns_and_sort_come_from_the_link(sample):
    at = open_explore(x_entity="bookings", x_in=["status:no_show", "status:cancelled"], x_contains="treatment:needl",
                      x_cols="booking_id,status,treatment,booked_at", x_sort="booked_at", x_dir="asc")
    filters, as_of = last_12_months(sample)
    query = x.Query("bookings", filters=(x.one_of("status", ["no_show", "cancelled"]), x.contains("treatment", "needl")),
                    columns=("booking_id", "status", "treatment", "booked_at"), sort="booked_at", descending=False)
    total = x.count_rows(sample, query, filters, as_of)
    assert 0 < total < x.count_rows(sample, x.Query("bookings"), filters, as_of)
    assert summary(at)[0] == total
    shown = rows(at)
    assert set(shown["status"]) <= {"No-show", "Cancelled"}
    assert shown["treatment"].str.contains("needl", case=False).all()
    assert list(shown["booking_id"]) == list(x.fetch_page(sample, query, filters, as_of, 1)["booking_id"])
    assert list(shown["booked_at"]) == sorted(shown["booked_at"])
    # The widgets show the link's choices, and the link keeps them.
    assert at.multiselect(key="x_bookings_cols").value == ["booking_id", "status", "treatment", "booked_at"]
    assert at.query_params["x_sort"] == "booked_at" and at.query_params["x_dir"] == "asc"
    assert sorted(at.query_params["x_in"]) == ["status:cancelled", "status:no_show"]


def test_the_sidebar_filters_apply(sample):
    location = sample.execute("select min(location) from fct_sessions").fetchone()[0]
    at = open_explore(period="all", location=location, x_entity="patients")
    as_of = default_as_of(sample)
    total = x.count_rows(sample, x.Query("patients"), Filters(locations=(location,)), as_of)
    assert summary(at)[0] == total
    assert total < x.count_rows(sample, x.Query("patients"), Filters(), as_of)


def test_paging_shows_each_row_once(sample):
    at = open_explore(x_entity="complaints", period="all")
    total, page, pages = summary(at)
    assert page == 1 and pages == x.page_count(total) >= 2
    ids = []
    for expected_page in range(1, pages + 1):
        assert summary(at)[1:] == (expected_page, pages)
        frame = x.fetch_page(sample, x.Query("complaints", columns=("complaint_id",)), Filters(),
                             default_as_of(sample), expected_page)
        ids += list(frame["complaint_id"])
        assert list(rows(at)["patient_id"]) == list(
            x.fetch_page(sample, x.Query("complaints"), Filters(), default_as_of(sample), expected_page)["patient_id"])
        if expected_page < pages:
            button(at, "x_next").click()
            rerun(at)
    assert len(ids) == len(set(ids)) == total
    assert button(at, "x_next").disabled and at.query_params["x_page"] == str(pages)
    button(at, "x_first").click()
    rerun(at)
    assert summary(at)[1] == 1 and "x_page" not in at.query_params


def test_a_page_in_the_link_is_kept(sample):
    at = open_explore(x_entity="consumables", x_page="3")
    assert summary(at)[1] == 3
    filters, as_of = last_12_months(sample)
    expected = x.fetch_page(sample, x.Query("consumables"), filters, as_of, 3)
    assert list(rows(at)["item"]) == list(expected["item"])


def test_a_new_filter_goes_back_to_page_one(sample):
    at = open_explore(x_entity="sessions", x_page="2")
    assert summary(at)[1] == 2
    at.selectbox(key="x_sessions_sort").set_value("price")
    rerun(at)
    assert summary(at)[1] == 1 and at.query_params["x_sort"] == "price"


def test_the_empty_state(sample):
    at = open_explore(x_contains="treatment:no such treatment")
    assert not at.dataframe
    assert any("No rows match these column filters" in i.value for i in at.info)
    location, practitioner = sidebar_pair_matching_nothing(sample)
    at = open_explore(location=location, practitioner=practitioner, x_entity="complaints")
    assert not at.dataframe
    assert any("No complaints in this period with these filters" in i.value for i in at.info)
    assert at.query_params["x_entity"] == "complaints"  # the link still holds the view


def test_a_link_value_that_does_not_fit_is_named(sample):
    at = open_explore(x_entity="sessions", x_min="price:cheap", x_sort="nope")
    warnings = " ".join(w.value for w in at.warning)
    assert "cheap" in warnings and "not a number" in warnings and "nope" in warnings
    filters, as_of = last_12_months(sample)
    assert summary(at)[0] == x.count_rows(sample, x.Query("sessions"), filters, as_of)  # the rest applies


def test_an_invalid_filter_typed_in_is_not_applied(sample):
    at = open_explore(x_entity="sessions", x_min="price:100")
    at.number_input(key="x_sessions_max_price").set_value(50)
    rerun(at)
    assert any("Not applied" in e.value and "above the highest" in e.value for e in at.error)
    filters, as_of = last_12_months(sample)
    assert summary(at)[0] == x.count_rows(sample, x.Query("sessions"), filters, as_of)
    at.number_input(key="x_sessions_max_price").set_value(150)
    rerun(at)
    assert not at.error
    expected = x.Query("sessions", filters=(x.between("price", 100, 150),))
    assert summary(at)[0] == x.count_rows(sample, expected, filters, as_of) < x.count_rows(
        sample, x.Query("sessions"), filters, as_of)
    assert at.query_params["x_max"] == "price:150"


def select_row(at: AppTest, row: int) -> AppTest:
    """A click on a row's box, sent as the browser sends it (the on_select callback runs)."""
    table = at.dataframe[0]
    states = at._tree.get_widget_states()
    state = states.widgets.add()
    state.id = table.proto.id
    state.string_value = json.dumps({"selection": {"rows": [row], "columns": [], "cells": []}})
    at._run(states)
    assert not at.exception, [e.message for e in at.exception]
    return at


def test_selecting_a_row_shows_that_patients_history(sample):
    at = open_explore(x_entity="sessions")
    patient = rows(at)["patient_id"].iloc[2]
    select_row(at, 2)
    assert any(f"History of patient {patient}" in h.value for h in at.subheader)
    as_of = default_as_of(sample)
    events = x.patient_history(sample, patient, as_of)
    history = at.dataframe[1].value
    assert list(history["record_id"]) == list(events["record_id"])
    assert set(history["kind"]) == {"Booking", "Session", "Consumable", "Complaint"} & set(history["kind"])
    chart = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert patient in chart["layout"]["title"]["text"]
    assert at.query_params["x_patient"] == patient
    # The history follows the link too, and closes.
    again = open_explore(x_entity="sessions", x_patient=patient)
    assert any(f"History of patient {patient}" in h.value for h in again.subheader)
    button(again, "x_close_history").click()
    rerun(again)
    assert not any("History of patient" in h.value for h in again.subheader)
    assert "x_patient" not in again.query_params


def test_switching_entity_keeps_each_ones_choices(sample):
    at = open_explore(x_entity="sessions", x_sort="price")
    next(b for b in at.get("button_group") if b.key == "x_entity_input").set_value("bookings")
    rerun(at)
    assert at.query_params["x_entity"] == "bookings" and "x_sort" not in at.query_params
    filters, as_of = last_12_months(sample)
    assert summary(at)[0] == x.count_rows(sample, x.Query("bookings"), filters, as_of)
    next(b for b in at.get("button_group") if b.key == "x_entity_input").set_value("sessions")
    rerun(at)
    assert at.query_params["x_sort"] == "price"


@pytest.mark.parametrize("entity", list(x.ENTITIES))
def test_every_entity_opens_with_its_count(sample, entity):
    at = open_explore(x_entity=entity, period="all")
    total = x.count_rows(sample, x.Query(entity), Filters(), default_as_of(sample))
    assert summary(at)[0] == total > 0
    assert len(rows(at)) == min(total, x.PAGE_SIZE)
    downloads = [d.proto.label for d in at.get("download_button")]
    assert downloads == [f"CSV · all {total:,} rows", f"Excel · all {total:,} rows"]


def test_names_from_the_export_are_shown_as_text(tmp_path, monkeypatch):
    patient, treatment = "[P9](http://evil.example)", "<b>Peel</b> <a href='http://evil.example'>x</a>"
    folder = write_export(tmp_path / "hostile", bookings=[booking("B1", patient, "2025-05-01", treatment=treatment)],
                          sessions=[session("S1", patient, "2025-05-01", treatment=treatment, location="=1+1")])
    monkeypatch.setenv("PRACTICE_DATA", str(folder))
    at = open_explore(x_entity="sessions", period="all")
    assert list(rows(at)["treatment"]) == [treatment]  # a table shows text as text
    select_row(at, 0)
    heading = next(h.value for h in at.subheader if "History of patient" in h.value)
    assert "](http" not in heading and "evil" in heading  # Markdown escaped: no link
    text = drawn_text(json.loads(at.get("plotly_chart")[0].proto.spec))
    assert "<b>" not in text and "<a href" not in text and "&lt;b&gt;Peel" in text


def test_excel_is_refused_past_its_row_limit_and_says_so(sample, monkeypatch):
    monkeypatch.setattr(x, "EXCEL_MAX_ROWS", 10)
    at = open_explore(x_entity="complaints", period="all")
    excel = next(d for d in at.get("download_button") if d.proto.label.startswith("Excel"))
    csv_button = next(d for d in at.get("download_button") if d.proto.label.startswith("CSV"))
    assert excel.proto.disabled and not csv_button.proto.disabled
    assert any("at most 10 rows" in w.value and "download the CSV" in w.value for w in at.warning)
