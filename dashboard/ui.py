"""Small pieces every page uses: number formats, KPI cards, empty states, sections, charts with
their tables, downloads, and charts whose click sets a sidebar filter."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import streamlit as st

from dashboard import auth, definitions, filters, plain_text, source
from queries import labels, privacy
from queries.export import IDENTIFIER_COLUMNS, csv_bytes
from queries.kpis import Kpi, Target

# Columns that name a patient or one of their visits, as queries return them and as tables show them.
IDENTIFYING = frozenset(IDENTIFIER_COLUMNS) | {labels.column(name) for name in IDENTIFIER_COLUMNS}
CARD_WIDTH = 185  # px: the widest card content ("$302.97", "Supplies cost ?") fits without "…"


def day(value) -> str:
    """`31 Oct 2026`, or a dash where there is no date (a file with no loadable rows)."""
    return "—" if value is None or pd.isna(value) else f"{value:%d %b %Y}"


def currency() -> str:
    """The practice's currency symbol (practice.toml), placed before amounts."""
    return source.settings().currency


def fmt(value, unit: str, symbol: str = "$") -> str:
    if value is None:
        return "n/a"
    if unit == "money":
        # Short enough for a card at 1280 px; the card's help gives the exact figure.
        if abs(value) >= 1_000_000:
            return f"{symbol}{value / 1_000_000:,.2f}M"
        if abs(value) >= 100_000:
            return f"{symbol}{value / 1000:,.0f}k"
        if abs(value) >= 10_000:
            return f"{symbol}{value / 1000:,.1f}k"
        return f"{symbol}{value:,.2f}" if abs(value) < 1000 else f"{symbol}{value:,.0f}"
    if unit == "rate":
        return f"{value:.1%}"
    if unit == "per_100":
        return f"{value:.2f}"
    return f"{value:,.0f}"


def fmt_change(current, previous, unit: str, symbol: str = "$") -> str | None:
    """The change since the previous period, in the KPI's own terms (points for rates)."""
    if current is None or previous is None:
        return None
    change = current - previous
    if unit == "rate":
        return f"{change * 100:+.1f} pts"
    if unit == "money":
        return f"{'+' if change >= 0 else '-'}{symbol}{abs(change):,.2f}" if abs(change) < 1000 else \
            f"{'+' if change >= 0 else '-'}{symbol}{abs(change):,.0f}"
    if unit == "per_100":
        return f"{change:+.2f}"
    return f"{change:+,.0f}"


def kpi_card(kpi: Kpi, value, previous=None, target: Target | None = None, note: str | None = None) -> None:
    """A KPI's card. A figure hidden by the small-cell rule (`<k`, marketing) reads `<k` for a count; any other
    figure reads as a dash with `<k patients` as its note; it has no change and no target verdict."""
    symbol = currency()
    if privacy.is_hidden(value):
        shown, note = (value, note) if kpi.unit == "count" else ("—", f"{value} patients")
        value, target = None, None
    else:
        shown = fmt(value, kpi.unit, symbol)
    if privacy.is_hidden(previous):
        previous = None
    help_text = kpi.help
    if kpi.unit == "money" and value is not None:
        help_text += f"\n\nThis period: {symbol}{value:,.2f}."
    if previous is not None:
        help_text += f"\n\nComparison period: {fmt(previous, kpi.unit, symbol)}."
    caption = note or ""
    if target is not None:
        met = target.is_met(value)
        bound = " and ".join(p for p in (
            f"≥ {fmt(target.minimum, kpi.unit, symbol)}" if target.minimum is not None else "",
            f"≤ {fmt(target.maximum, kpi.unit, symbol)}" if target.maximum is not None else "") if p)
        verdict = {True: ":material/check_circle: on target", False: ":material/warning: off target",
                   None: "target"}[met]
        caption = f"{verdict} ({bound})" + (f" · {caption}" if caption else "")
    with st.container(border=True, width=CARD_WIDTH):
        st.metric(kpi.label, shown, delta=fmt_change(value, previous, kpi.unit, symbol),
                  delta_color="normal" if kpi.higher_is_better else "inverse", help=help_text)
        if caption:
            st.caption(caption)


def kpi_unavailable(kpi: Kpi, reason: str) -> None:
    card(kpi.label, "—", CARD_WIDTH, reason, help=kpi.help)


WORD_JOINER = plain_text.WORD_JOINER
md_plain = plain_text.for_markdown  # text from an export (or a link) inside Markdown, shown as typed


def card(label: str, value: str, width: int | str, note: str | None = None, help: str | None = None) -> None:
    """A bordered figure with an optional caption and definition: a card without a KPI's target and delta."""
    with st.container(border=True, width=width):
        st.metric(label, value, help=help)
        if note:
            st.caption(note)


def figure(value, kind: str = "count") -> str:
    """A figure as a marketing table shows it: hidden ones as `<k` (queries/privacy.py), missing ones as a dash."""
    if privacy.is_hidden(value):
        return value
    if value is None or pd.isna(value):
        return "—"
    if kind == "money":
        return f"{currency()}{value:,.0f}"
    return {"count": f"{value:,.0f}", "rate": f"{value:.0%}", "change": f"{value:+,.0f}",
            "change_rate": f"{value:+.0%}", "average": f"{value:,.1f}", "index": f"{value:.2f}"}[kind]


def suppressed_table(frame: pd.DataFrame, file_name: str, kinds: dict[str, str], height: int | str = "auto") -> None:
    """A small-cell protected `frame` (readable headers) with its figures as text (`<k` stays `<k`); the CSV
    holds the same rows, numbers unformatted and hidden figures as `<k`."""
    shown = frame.copy()
    for column, kind in kinds.items():
        shown[column] = shown[column].map(lambda v, kind=kind: figure(v, kind))
    st.dataframe(shown, hide_index=True, width="stretch", height=height,
                 column_config={c: st.column_config.TextColumn(c, alignment="right") for c in kinds})
    download(frame, file_name)


def stop_without_export(entity: str, figures: str) -> None:
    """Stop the page, saying why, when the optional export it is built on (consumables, complaints) is absent."""
    if entity in source.absent_files():
        st.warning(f"This export has no **{entity}.csv**, so there are no {figures} figures to show. Load the "
                   f"practice's {entity} export with the other files on the Data page to see them.",
                   icon=":material/info:")
        st.stop()


def empty_state(message: str) -> None:
    st.info(f"{message} Widen the period or clear some filters in the sidebar.", icon="🔎")


def _column_config(df, symbol: str) -> dict:
    """st.dataframe formats for the columns labels.FORMATS knows, keyed by their readable names."""
    printf = {"count": "%,d", "change": "%+,d", "per_100": "%.2f", "mm": "%.2f mm", "amount": "%,.1f",
              "money": f"{symbol}%,.2f", "money_whole": f"{symbol}%,.0f", "probability": "%.4f", "rate": "percent"}
    config = {}
    for name in df.columns:
        kind = labels.FORMATS.get(name)
        if kind:
            title = labels.column(name, symbol)
            config[title] = st.column_config.NumberColumn(title, format=printf[kind])
        elif pd.api.types.is_datetime64_any_dtype(df[name]):
            title = labels.column(name, symbol)
            has_time = (df[name].dropna().dt.normalize() != df[name].dropna()).any()
            config[title] = st.column_config.DatetimeColumn(title, format="D MMM YYYY, HH:mm" if has_time else "D MMM YYYY")
    return config


# A table sends its rows to the browser: beyond this many, the page shows the first ones and the CSV has them all
# (a 1M-session practice's recall list is tens of thousands of patients).
MAX_ROWS_SHOWN = 1_000


def table_with_download(df, file_name: str, *, dimension_title: str | None = None, height: int | str = "auto") -> None:
    """A readable table (its first MAX_ROWS_SHOWN rows) and, beside it, every row as CSV."""
    symbol = currency()
    shown = labels.frame(df, dimension_title, symbol)
    _first_rows(shown.head(MAX_ROWS_SHOWN), len(shown), _column_config(df, symbol), height)
    download(shown, file_name)


def _first_rows(shown: pd.DataFrame, total: int, config: dict, height: int | str) -> None:
    """A table's rows as sent to the browser, and a caption when they are the first of more."""
    st.dataframe(shown, hide_index=True, width="stretch", height=height, column_config=config or None)
    if total > len(shown):
        st.caption(f"Showing the first {len(shown):,} of {total:,} rows; the CSV has them all.")


def _offered(shown: pd.DataFrame) -> bool | None:
    """Whether the table `shown` names patients; None, once the page says so, when the role may not download it."""
    patient_level = bool(IDENTIFYING & set(map(str, shown.columns)))
    if patient_level and not auth.sees_patients(auth.current_role()):
        st.caption("This table names patients: no download for your role.")
        return None
    return patient_level


def first_rows_with_download(first: pd.DataFrame, total: int, file_name: str, every_row: Callable[[], pd.DataFrame],
                             *, height: int | str = "auto") -> None:
    """table_with_download for a query that gave only its first rows (`first`, of `total`): those shown, and
    every row as CSV, fetched by `every_row` when the button is clicked. That runs on Streamlit's download
    thread, so it may not use st.* (nor source.query's cache): pass it a connection and bound values. The
    file is logged when it is made, as the explorer's are."""
    symbol = currency()
    shown = labels.frame(first, None, symbol)
    _first_rows(shown, total, _column_config(first, symbol), height)
    patient_level = _offered(shown)
    if patient_level is None:
        return
    context = auth.audit_context()

    def csv_file() -> bytes:
        data = csv_bytes(labels.frame(every_row(), None, symbol))
        auth.log_download(context, file_name, total, patient_level)
        return data

    st.download_button("Download CSV", csv_file, file_name=file_name, mime="text/csv", key=f"download_{file_name}",
                       icon=":material/download:", on_click="ignore")


def download(shown: pd.DataFrame, file_name: str, label: str = "Download CSV") -> None:
    """Every CSV download of the app: text that a spreadsheet would run as a formula gets a leading `'`.
    A click is written to the audit log (dashboard/audit.py). A table naming patients is not offered to a
    role that may not see them (marketing's pages have none; this is the backstop)."""
    patient_level = _offered(shown)
    if patient_level is None:
        return
    st.download_button(label, csv_bytes(shown), file_name=file_name, mime="text/csv", key=f"download_{file_name}",
                       icon=":material/download:", on_click=auth.download_callback(file_name, len(shown), patient_level))


def section(title: str, definition: str, caption: str | None = None) -> None:
    """A figure's heading, its definition from docs/metrics.md behind the ?, and an optional one-line caption."""
    st.subheader(title, help=definitions.text(definition))
    if caption:
        st.caption(caption)


def chart(fig, data: pd.DataFrame, file_name: str, *, key: str, on_click: Callable | None = None,
          dimension_title: str | None = None) -> None:
    """A chart, and under it the table behind it (in a popover) with its CSV download."""
    st.plotly_chart(fig, key=key, on_select=on_click or "ignore", selection_mode="points",
                    config={"displaylogo": False})
    with st.popover("Table", icon=":material/table:"):
        table_with_download(data, file_name, dimension_title=dimension_title)


def filter_on_click(chart_key: str, filter_name: str) -> Callable[[], None]:
    """An on_select callback: the clicked bar's or area's value (its `customdata`) becomes the sidebar
    filter `filter_name` (filters.LISTS), and so the URL. It runs before the sidebar is drawn again."""
    def apply() -> None:
        state = st.session_state.get(chart_key) or {}
        points = (state.get("selection") or {}).get("points") or []
        values = []
        for point in points:
            data = point.get("customdata")
            value = data[0] if isinstance(data, list | tuple) else data
            if value is not None and value not in values:
                values.append(value)
        if values:
            st.session_state[f"filter_{filter_name}"] = values
            filters.clear_notices()
    return apply


def url_value(name: str, default, parse: Callable[[str], object]):
    """The value of page-owned URL parameter `name` (filters.PAGE_PARAMS), parsed, or `default` when it is
    absent or does not parse. Pair with set_url_value after the widget, so the link follows it."""
    assert name in filters.PAGE_PARAMS, name
    text = st.query_params.get(name)
    if text is None:
        return default
    try:
        return parse(text)
    except ValueError:
        st.warning(f"{name}={md_plain(repr(text))} in the link is not usable; showing the default.",
                   icon=":material/link_off:")
        return default


def set_url_value(name: str, value, default) -> None:
    """Keep `value` in the link; a default leaves the link clean."""
    if value == default or value is None:
        st.query_params.pop(name, None)
    else:
        st.query_params[name] = str(value)


def one_of(options) -> Callable[[str], str]:
    """A url_value parser accepting only `options`."""
    def parse(text: str) -> str:
        if text not in options:
            raise ValueError(text)
        return text
    return parse
