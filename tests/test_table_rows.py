"""A table sends at most ui.MAX_ROWS_SHOWN rows to the browser; its CSV download has every row (issue 8)."""

import pytest
from streamlit.testing.v1 import AppTest


def _page(rows: int) -> None:
    import pandas as pd

    from dashboard import ui

    ui.table_with_download(pd.DataFrame({"patient_id": [f"P{i:05d}" for i in range(rows)], "count_sessions": 1}),
                           "recall_list.csv")


@pytest.mark.parametrize("rows, shown, caption", [
    (10, 10, None),
    (1_000, 1_000, None),
    (1_001, 1_000, "Showing the first 1,000 of 1,001 rows; the CSV has them all."),
    (64_758, 1_000, "Showing the first 1,000 of 64,758 rows; the CSV has them all."),
])
def test_a_long_table_shows_its_first_rows_and_downloads_them_all(rows, shown, caption):
    at = AppTest.from_function(_page, args=(rows,), default_timeout=30).run()
    assert not at.exception
    assert len(at.dataframe[0].value) == shown
    assert [c.value for c in at.caption] == ([caption] if caption else [])
    download = at.get("download_button")[0]
    assert download.proto.label == "Download CSV"
