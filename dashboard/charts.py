"""One look for every chart: a plotly template, fixed colours per body area and
category, readable axis formats. Pages pass tidy frames from the queries."""

from __future__ import annotations

import html

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio

from dashboard import labels
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


def plain(text) -> str:
    """Text from an export as plotly must get it to show it literally: plotly draws <b>, <a href>, <br>
    in labels, titles and hovers as markup. quote=False: plotly would print &quot; as is."""
    return html.escape(str(text), quote=False)


def shown(values) -> list[str]:
    """Codes in words (`acne_scars` -> Acne scars), names as typed, all made plain for plotly."""
    return [plain(labels.value(v)) for v in values]


def period_axis(periods: pd.Series, grain: str) -> tuple[pd.Series, dict]:
    """x values and axis settings for a weekly or monthly series."""
    if grain == "week":
        # Weeks as labelled categories: a date axis would put its ticks on Sundays, between the bars.
        return periods.dt.strftime("%d %b %Y"), dict(type="category", title_text="Week starting (Monday)")
    return periods, dict(dtick="M1" if periods.nunique() <= 18 else "M3", tickformat="%b %Y", title_text="")


def sessions_and_revenue(df, title: str, grain: str = "month", symbol: str = "$") -> go.Figure:
    """Sessions per week or month (bars, left axis) and revenue (line, right axis)."""
    x, xaxis = period_axis(df["period_start"], grain)
    fig = go.Figure()
    fig.add_bar(x=x, y=df["count_sessions"], name="Sessions", marker_color=PRIMARY,
                hovertemplate="%{y:,d} sessions")
    fig.add_scatter(x=x, y=df["revenue"], name=f"Revenue ({plain(symbol)})", yaxis="y2", mode="lines+markers",
                    line=dict(color=SECONDARY, width=2), hovertemplate=f"{plain(symbol)}%{{y:,.0f}}")
    fig.update_layout(
        yaxis2=dict(title=f"Revenue ({plain(symbol)})", overlaying="y", side="right", tickformat=".3~s",
                    tickprefix=plain(symbol), showgrid=False, rangemode="tozero"),
        xaxis=xaxis,
    )
    fig = _layout(fig, title, f"Sessions per {grain}")
    _whole_number_ticks(fig, df["count_sessions"].max())
    return fig


def _whole_number_ticks(fig: go.Figure, largest) -> None:
    """Counts of a handful would otherwise get ticks at 0.5 that the format rounds into repeats."""
    if largest is not None and largest < 10:
        fig.update_layout(yaxis_dtick=1)


def _height(rows: int, per_row: int = 28, base: int = 140) -> int:
    return max(260, base + per_row * rows)


def area_volume(df, title: str, has_previous: bool) -> go.Figure:
    """Sessions per body area (horizontal bars, largest on top) with share and change in the hover;
    each bar's customdata is its area code, so a click can set the body-area filter."""
    df = df.sort_values("count_sessions")
    change = (df["change_in_sessions"].map(lambda v: f"{v:+,.0f} vs comparison period")
              if has_previous else pd.Series("no comparison period", index=df.index))
    fig = go.Figure(go.Bar(
        x=df["count_sessions"], y=shown(df["body_area"]), orientation="h",
        marker_color=[COLOURS.get(a, PRIMARY) for a in df["body_area"]],
        text=[f"{n:,} · {s:.0%}" for n, s in zip(df["count_sessions"], df["share_of_sessions"].fillna(0), strict=True)],
        textposition="outside", cliponaxis=False,
        customdata=df[["body_area"]].to_numpy(),
        hovertext=change, hovertemplate="%{y}: %{x:,d} sessions<br>%{hovertext}<extra></extra>",
    ))
    fig.update_layout(height=_height(len(df)), hovermode="closest", showlegend=False,
                      xaxis=dict(title_text="Sessions", showgrid=True, gridcolor="rgba(128,128,128,0.25)"),
                      yaxis=dict(showgrid=False))
    fig = _layout(fig, title, "")
    fig.update_layout(margin=dict(r=70))
    return fig


def area_change(df, title: str) -> go.Figure:
    """Change in sessions per area against the comparison period: diverging bars."""
    df = df.sort_values("change_in_sessions")
    fig = go.Figure(go.Bar(
        x=df["change_in_sessions"], y=shown(df["body_area"]), orientation="h",
        marker_color=[PALETTE[2] if v >= 0 else PALETTE[5] for v in df["change_in_sessions"]],
        customdata=df[["body_area", "count_sessions_previous"]].to_numpy(),
        hovertemplate="%{y}: %{x:+,d} sessions (from %{customdata[1]:,d})<extra></extra>",
    ))
    fig.update_layout(height=_height(len(df)), hovermode="closest", showlegend=False,
                      xaxis=dict(title_text="Change in sessions", zeroline=True, zerolinecolor="rgba(128,128,128,0.6)"))
    return _layout(fig, title, "")


def stacked_by_area(df, title: str, grain: str) -> go.Figure:
    """Sessions per period, stacked by body area (areas in the contract's order, fixed colours)."""
    fig = go.Figure()
    for area in [a for a in BODY_AREAS if a in set(df["body_area"])]:
        part = df[df["body_area"] == area]
        x, xaxis = period_axis(part["period_start"], grain)
        fig.add_bar(x=x, y=part["count_sessions"], name=plain(labels.value(area)), marker_color=COLOURS[area],
                    customdata=part[["body_area"]].to_numpy(),
                    hovertemplate=f"{plain(labels.value(area))}: %{{y:,d}}<extra></extra>")
    _, xaxis = period_axis(df["period_start"], grain)
    fig.update_layout(barmode="stack", xaxis=xaxis)
    fig = _layout(fig, title, f"Sessions per {grain}")
    _whole_number_ticks(fig, df.groupby("period_start")["count_sessions"].sum().max() if len(df) else None)
    return fig


def area_heatmap(df, title: str) -> go.Figure:
    """Body area x month: the darker, the more sessions."""
    table = df.pivot_table(index="body_area", columns="period_start", values="count_sessions", aggfunc="sum",
                           fill_value=0)
    areas = [a for a in reversed(BODY_AREAS) if a in table.index]
    table = table.loc[areas]
    fig = go.Figure(go.Heatmap(
        z=table.to_numpy(), x=[f"{c:%b %Y}" for c in table.columns], y=shown(table.index),
        colorscale="Blues", colorbar=dict(title="Sessions"), xgap=1, ygap=1,
        hovertemplate="%{y}, %{x}: %{z:,d} sessions<extra></extra>",
    ))
    fig.update_layout(height=_height(len(areas), 30, 160), hovermode="closest",
                      xaxis=dict(type="category", title_text=""), yaxis=dict(showgrid=False))
    return _layout(fig, title, "")


def area_by_dimension(df, title: str, dimension_title: str) -> go.Figure:
    """Sessions per body area split by treatment, location or practitioner (stacked horizontal bars)."""
    areas = [a for a in BODY_AREAS if a in set(df["body_area"])]
    fig = go.Figure()
    for i, value in enumerate(df.groupby("dimension_value")["count_sessions"].sum().sort_values(ascending=False).index):
        part = df[df["dimension_value"] == value].set_index("body_area").reindex(areas)
        name = plain(labels.value(value))
        fig.add_bar(y=shown(areas), x=part["count_sessions"].fillna(0), orientation="h", name=name,
                    marker_color=PALETTE[i % len(PALETTE)],
                    hovertemplate=f"%{{y}} · {name}: %{{x:,d}} sessions<extra></extra>")
    fig.update_layout(barmode="stack", height=_height(len(areas)), hovermode="closest",
                      xaxis=dict(title_text="Sessions"), yaxis=dict(autorange="reversed", showgrid=False),
                      legend_title_text=plain(dimension_title))
    return _layout(fig, title, "")


def depth_boxes(df, title: str) -> go.Figure:
    """Needle depth per area as box plots drawn from the query's quartiles (the rows are not sent)."""
    df = df[df["count_sessions"] > 0]
    fig = go.Figure(go.Box(
        y=shown(df["body_area"]), q1=df["depth_q1_mm"], median=df["depth_median_mm"], q3=df["depth_q3_mm"],
        lowerfence=df["depth_min_mm"], upperfence=df["depth_max_mm"], mean=df["depth_mean_mm"],
        orientation="h", marker_color=PRIMARY, boxmean=True, name="Depth",
        hovertemplate="%{y}<extra></extra>",
    ))
    fig.update_layout(height=_height(len(df), 34), hovermode="closest", showlegend=False,
                      xaxis=dict(title_text="Needle depth (mm)", range=[0, 3.1], dtick=0.5, showgrid=True,
                                 gridcolor="rgba(128,128,128,0.25)"),
                      yaxis=dict(showgrid=False))
    return _layout(fig, title, "")


# --- Rebooking

def rebooking_by_month(df, title: str) -> go.Figure:
    """Rebooking rate per cohort month. Months with every window closed are solid bars, months with some
    windows still open are hatched (the rate so far), months with none closed are a shaded 'pending' band:
    never drawn as 0%."""
    fig = go.Figure()
    styles = {"closed": ("Windows closed", 1.0, ""), "closing": ("Some windows still open (rate so far)", 0.55, "/")}
    for status, (name, opacity, pattern) in styles.items():
        part = df[df["window_status"] == status]
        if part.empty:
            continue
        fig.add_bar(
            x=part["month"], y=part["rebooking_rate"], name=name, marker_color=PRIMARY, opacity=opacity,
            marker_pattern_shape=pattern,
            customdata=part[["count_rebooked", "count_eligible", "count_pending"]].to_numpy(),
            hovertemplate="%{x|%b %Y}: %{y:.1%} rebooked<br>%{customdata[0]:,d} of %{customdata[1]:,d} eligible"
                          " · %{customdata[2]:,d} pending<extra></extra>",
        )
    pending = df[df["window_status"] == "open"]
    if not pending.empty:
        first, last = pending["month"].min(), pending["month"].max()
        fig.add_vrect(x0=first - pd.Timedelta(days=15), x1=last + pd.Timedelta(days=16), fillcolor="rgba(128,128,128,0.18)",
                      line_width=0, annotation_text="Pending: 6-month windows still open", annotation_position="top left")
        fig.add_scatter(x=pending["month"], y=[0.02] * len(pending), mode="markers", name="Pending (no rate yet)",
                        marker=dict(symbol="line-ew-open", size=14, color="rgba(128,128,128,0.9)"),
                        customdata=pending[["count_pending"]].to_numpy(),
                        hovertemplate="%{x|%b %Y}: pending, %{customdata[0]:,d} sessions still inside their window"
                                      "<extra></extra>")
    fig.update_layout(xaxis=dict(dtick="M1" if df["month"].nunique() <= 18 else "M3", tickformat="%b %Y"),
                      hovermode="closest", barmode="overlay")
    fig = _layout(fig, title, "Rebooked within 6 months", ".0%")
    fig.update_layout(yaxis_range=[0, 1])
    return fig


def rebooking_by_group(df, title: str) -> go.Figure:
    """Rate per group (horizontal bars) with 'rebooked of eligible' beside each; customdata = the raw value."""
    df = df.sort_values("rebooking_rate", na_position="first")
    text = [f"{r:.0%} · {k:,} of {n:,}" if n else f"pending · {p:,}"
            for r, k, n, p in zip(df["rebooking_rate"].fillna(0), df["count_rebooked"], df["count_eligible"],
                                  df["count_pending"], strict=True)]
    fig = go.Figure(go.Bar(
        x=df["rebooking_rate"], y=shown(df["dimension_value"]), orientation="h", marker_color=PRIMARY,
        text=text, textposition="outside", cliponaxis=False,
        customdata=df[["dimension_value", "count_pending"]].to_numpy(),
        hovertemplate="%{y}: %{x:.1%} rebooked<br>%{text}<br>%{customdata[1]:,d} pending<extra></extra>",
    ))
    fig.update_layout(height=_height(len(df)), hovermode="closest", showlegend=False,
                      xaxis=dict(title_text="Rebooked within 6 months", tickformat=".0%", range=[0, 1.15],
                                 showgrid=True, gridcolor="rgba(128,128,128,0.25)"),
                      yaxis=dict(showgrid=False))
    return _layout(fig, title, "")


def rebooking_curve(df, title: str) -> go.Figure:
    """Cumulative share rebooked by day after the session, one line per group, censoring-aware."""
    fig = go.Figure()
    for i, (group, part) in enumerate(df.groupby("group_value", sort=False)):
        part = part[part["cumulative_rebooking_rate"].notna()]
        name = plain(labels.value(group))
        fig.add_scatter(x=part["day"], y=part["cumulative_rebooking_rate"], mode="lines", name=name,
                        line=dict(shape="hv", width=2.5, color=PALETTE[i % len(PALETTE)]),
                        customdata=part[["count_at_risk"]].to_numpy(),
                        hovertemplate=f"{name}, day %{{x}}: %{{y:.1%}} rebooked"
                                      "<br>%{customdata[0]:,d} sessions still followed<extra></extra>")
    fig.add_vline(x=182, line_dash="dot", line_color="rgba(128,128,128,0.8)", annotation_text="6 months",
                  annotation_position="top left")
    fig.update_layout(hovermode="x unified",
                      xaxis=dict(title_text="Days after the session", range=[0, 185], dtick=30, showgrid=True,
                                 gridcolor="rgba(128,128,128,0.25)"))
    return _layout(fig, title, "Share rebooked by then", ".0%")
