"""One look for every chart: a plotly template, fixed colours per body area and
category, readable axis formats. Pages pass tidy frames from the queries."""

from __future__ import annotations

import plotly.graph_objects as go
import plotly.io as pio

from queries.contract import BODY_AREAS, COMPLAINT_CATEGORIES, CONCERNS

# Colour-blind-safe palette (Okabe-Ito, then Tableau), assigned once per code so a
# body area or complaint keeps its colour on every page.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442",
           "#999999", "#8C564B", "#17BECF"]
COLOURS = {
    **{code: PALETTE[i % len(PALETTE)] for i, code in enumerate(BODY_AREAS)},
    **{code: PALETTE[i % len(PALETTE)] for i, code in enumerate(COMPLAINT_CATEGORIES)},
}
CONCERN_COLOURS = {code: PALETTE[i % len(PALETTE)] for i, code in enumerate((*CONCERNS, "unknown"))}
PRIMARY = PALETTE[0]
SECONDARY = PALETTE[1]

pio.templates["practice"] = go.layout.Template(
    layout=go.Layout(
        font=dict(family="Source Sans Pro, sans-serif", size=13),
        colorway=PALETTE,
        margin=dict(l=10, r=10, t=90, b=10),
        title=dict(y=0.97, yanchor="top", x=0, xanchor="left", font=dict(size=16)),
        legend=dict(orientation="h", yanchor="bottom", y=1.01, x=0, title_text=""),
        hovermode="x unified",
        xaxis=dict(showgrid=False),
        yaxis=dict(gridcolor="rgba(128,128,128,0.25)", rangemode="tozero"),
    )
)
TEMPLATE = "plotly+practice"
# Transparent backgrounds keep the charts legible in Streamlit's light and dark themes.
BACKGROUND = dict(paper_bgcolor="rgba(0,0,0,0)", plot_bgcolor="rgba(0,0,0,0)")


def _layout(fig: go.Figure, title: str, y_title: str, y_format: str = ",d") -> go.Figure:
    fig.update_layout(template=TEMPLATE, title=dict(text=title), yaxis_title=y_title,
                      yaxis_tickformat=y_format, **BACKGROUND)
    return fig


def sessions_and_revenue(df, title: str, grain: str = "month") -> go.Figure:
    """Sessions per week or month (bars, left axis) and revenue (line, right axis)."""
    if grain == "week":
        # Weeks as labelled categories: a date axis would put its ticks on Sundays, between the bars.
        x = df["period_start"].dt.strftime("%d %b %Y")
        xaxis = dict(type="category", title_text="Week starting (Monday)")
    else:
        x = df["period_start"]
        xaxis = dict(dtick="M1" if len(df) <= 18 else "M3", tickformat="%b %Y")
    fig = go.Figure()
    fig.add_bar(x=x, y=df["count_sessions"], name="Sessions", marker_color=PRIMARY,
                hovertemplate="%{y:,d} sessions")
    fig.add_scatter(x=x, y=df["revenue"], name="Revenue ($)", yaxis="y2", mode="lines+markers",
                    line=dict(color=SECONDARY, width=2), hovertemplate="$%{y:,.0f}")
    fig.update_layout(
        yaxis2=dict(title="Revenue ($)", overlaying="y", side="right", tickformat="$.3~s",
                    showgrid=False, rangemode="tozero"),
        xaxis=xaxis,
    )
    fig = _layout(fig, title, f"Sessions per {grain}")
    _whole_number_ticks(fig, df["count_sessions"].max())
    return fig


def _whole_number_ticks(fig: go.Figure, largest) -> None:
    """Counts of a handful would otherwise get ticks at 0.5 that the format rounds into repeats."""
    if largest is not None and largest < 10:
        fig.update_layout(yaxis_dtick=1)
