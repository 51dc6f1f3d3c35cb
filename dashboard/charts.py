"""One look for every chart: a plotly template, fixed colours per body area and
category, readable axis formats. Pages pass tidy frames from the queries."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio

from dashboard import plain_text
from queries import labels
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

# Ours over plotly's own, merged once and made the default, so every figure starts with it. Naming
# "plotly+practice" on each figure merged the two again (deep copies of every trace type's defaults),
# and even naming the merged one copied and checked it: 19 ms a figure, 13 ms, against 3 ms as the
# default (the same JSON; a page like Demand draws nine).
pio.templates["practice"] = pio.templates.merge_templates("plotly", go.layout.Template(
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
))
pio.templates.default = TEMPLATE = "practice"
# Transparent backgrounds keep the charts legible in Streamlit's light and dark themes.
BACKGROUND = dict(paper_bgcolor="rgba(0,0,0,0)", plot_bgcolor="rgba(0,0,0,0)")


def _layout(fig: go.Figure, title: str, y_title: str, y_format: str = ",d") -> go.Figure:
    fig.update_layout(title=dict(text=title), yaxis_title=y_title,
                      yaxis_tickformat=y_format, **BACKGROUND)
    return fig


plain = plain_text.for_plotly  # text from an export as plotly must get it to draw it literally


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


# --- Aftercare

SIGNAL_COLOUR = PALETTE[5]  # vermilion: a month above its upper limit
SEVERITY_COLOURS = {"mild": "#FDD49E", "moderate": "#FC8D59", "severe": "#B30000", "not_recorded": "#BBBBBB"}


def complaint_control_chart(df, title: str) -> go.Figure:
    """u-chart per month: complaints per 100 sessions (line and points), the centre line, each month's upper
    and lower limits as steps, signalling months in red diamonds, still-collecting months hollow on a
    shaded band."""
    fig = go.Figure()
    month = df["month"]
    detail = df[["count_complaints", "count_sessions", "upper_limit_per_100"]].to_numpy()
    hover = ("%{x|%b %Y}: %{y:.2f} per 100 (%{customdata[0]:,d} complaints, %{customdata[1]:,d} sessions)"
             "<br>upper limit %{customdata[2]:.2f}")
    collecting = df[df["is_collecting"]]
    if not collecting.empty:
        fig.add_vrect(x0=collecting["month"].min() - pd.Timedelta(days=15),
                      x1=collecting["month"].max() + pd.Timedelta(days=16), fillcolor="rgba(128,128,128,0.16)",
                      line_width=0, layer="below", annotation_text="still collecting", annotation_position="top left")
    fig.add_scatter(x=month, y=df["upper_limit_per_100"], name="Upper limit", mode="lines",
                    line=dict(shape="hvh", color=SIGNAL_COLOUR, width=1.5, dash="dash"), hoverinfo="skip")
    if (df["lower_limit_per_100"] > 0).any():
        fig.add_scatter(x=month, y=df["lower_limit_per_100"], name="Lower limit", mode="lines",
                        line=dict(shape="hvh", color="rgba(128,128,128,0.9)", width=1.5, dash="dash"),
                        hoverinfo="skip")
    centre = float(df["centre_per_100"].iloc[0]) if len(df) else 0.0
    fig.add_scatter(x=month, y=df["centre_per_100"], name=f"Centre ({centre:.2f})", mode="lines",
                    line=dict(color="rgba(90,90,90,0.9)", width=1.5), hoverinfo="skip")
    fig.add_scatter(x=month, y=df["complaints_per_100"], name="Complaints per 100 sessions", mode="lines",
                    line=dict(color=PRIMARY, width=2), hoverinfo="skip", showlegend=False)
    styles = (
        ("Month", ~df["is_signal"] & ~df["is_collecting"], dict(color=PRIMARY, size=8)),
        ("Still collecting", ~df["is_signal"] & df["is_collecting"],
         dict(color=PRIMARY, size=9, symbol="circle-open", line=dict(width=2))),
        ("Signal: above the upper limit", df["is_signal"],
         dict(color=SIGNAL_COLOUR, size=13, symbol="diamond", line=dict(width=1, color="white"))),
    )
    for name, mask, marker in styles:
        if not mask.any():
            continue
        fig.add_scatter(x=month[mask], y=df.loc[mask, "complaints_per_100"], name=name, mode="markers",
                        marker=marker, cliponaxis=False, customdata=detail[mask.to_numpy()],
                        hovertemplate=hover + "<extra></extra>")
    _, xaxis = period_axis(month, "month")
    fig.update_layout(xaxis=xaxis, hovermode="closest")
    return _layout(fig, title, "Complaints per 100 sessions", ".1f")


def complaint_rate_by_group(df, title: str, dimension_title: str, overall: float | None = None,
                            keep_order: bool = False) -> go.Figure:
    """Complaints per 100 sessions per group (horizontal bars) with "c of n sessions" beside each; each bar's
    customdata is the raw value, so a click can set the sidebar filter. keep_order: the query's order (depth
    bands shallow to deep) top to bottom; else the highest rate on top."""
    if not keep_order:
        df = df.sort_values("complaints_per_100_sessions", ascending=False, kind="stable")
    fig = go.Figure(go.Bar(
        x=df["complaints_per_100_sessions"], y=shown(df["dimension_value"]), orientation="h", marker_color=PRIMARY,
        text=[f"{r:.2f} · {c:,} of {n:,} sessions" for r, c, n in
              zip(df["complaints_per_100_sessions"], df["count_complaints"], df["count_sessions"], strict=True)],
        textposition="outside", cliponaxis=False,
        customdata=df[["dimension_value"]].to_numpy(),
        hovertemplate="%{y}: %{x:.2f} complaints per 100 sessions<extra></extra>",
    ))
    axis_title = "Complaints per 100 sessions"
    if overall is not None:
        fig.add_vline(x=overall, line_dash="dot", line_color="rgba(90,90,90,0.9)")
        axis_title += f" (dotted line: all sessions, {overall:.2f})"
    largest = float(df["complaints_per_100_sessions"].max()) if len(df) else 1.0
    fig.update_layout(height=_height(len(df)), hovermode="closest", showlegend=False,
                      xaxis=dict(title_text=axis_title, range=[0, max(largest, 0.1) * 1.45],
                                 showgrid=True, gridcolor="rgba(128,128,128,0.25)"),
                      yaxis=dict(autorange="reversed", showgrid=False, title_text=plain(dimension_title)))
    return _layout(fig, title, "")


def _categories_in(df) -> list[str]:
    """The complaint categories present, in the contract's order (unknown codes last)."""
    present = list(dict.fromkeys(df["category"]))
    return [c for c in COMPLAINT_CATEGORIES if c in present] + [c for c in present if c not in COMPLAINT_CATEGORIES]


def complaints_by_severity_chart(df, title: str) -> go.Figure:
    """Complaints per category (horizontal bars, most on top), stacked by severity."""
    totals = df.groupby("category")["count_complaints"].sum().sort_values(ascending=False, kind="stable")
    order = list(totals.index)
    fig = go.Figure()
    for severity in [*SEVERITY_COLOURS, *sorted(set(df["severity"]) - set(SEVERITY_COLOURS))]:
        part = df[df["severity"] == severity].set_index("category").reindex(order)
        if part["count_complaints"].isna().all():
            continue
        name = plain(labels.value(severity))
        fig.add_bar(y=shown(order), x=part["count_complaints"].fillna(0), orientation="h", name=name,
                    marker_color=SEVERITY_COLOURS.get(severity, PALETTE[7]),
                    hovertemplate=f"%{{y}} · {name}: %{{x:,d}}<extra></extra>")
    fig.update_layout(barmode="stack", height=_height(len(order)), hovermode="closest",
                      xaxis=dict(title_text="Complaints", showgrid=True, gridcolor="rgba(128,128,128,0.25)"),
                      yaxis=dict(autorange="reversed", showgrid=False), legend_traceorder="normal")
    fig = _layout(fig, title, "")
    if len(totals) and totals.max() < 10:
        fig.update_layout(xaxis_dtick=1)
    return fig


def complaint_timing_chart(df, title: str) -> go.Figure:
    """Complaints per day between session and report (bars stacked by category), days 2-4 shaded as the
    normal healing window."""
    fig = go.Figure()
    fig.add_vrect(x0=1.5, x1=4.5, fillcolor="rgba(0,158,115,0.14)", line_width=0, layer="below",
                  annotation_text="normal healing (redness)", annotation_position="top left")
    for category in _categories_in(df):
        part = df[df["category"] == category]
        name = plain(labels.value(category))
        fig.add_bar(x=part["days_after_session"], y=part["count_complaints"], name=name,
                    marker_color=COLOURS.get(category, PRIMARY),
                    hovertemplate=f"{name}: %{{y:,d}}<extra></extra>")
    last = int(df["days_after_session"].max()) if len(df) else 7
    fig.update_layout(barmode="stack", bargap=0.1, legend_traceorder="normal",
                      xaxis=dict(title_text="Days from session to complaint", dtick=1 if last <= 21 else 7,
                                 range=[min(-0.5, float(df["days_after_session"].min()) - 0.5) if len(df) else -0.5,
                                        max(last, 7) + 0.5]))
    fig = _layout(fig, title, "Complaints")
    _whole_number_ticks(fig, df.groupby("days_after_session")["count_complaints"].sum().max() if len(df) else None)
    return fig


def complaint_resolution_chart(df, title: str) -> go.Figure:
    """Resolved and open complaints per category (stacked horizontal bars), median days to resolve beside."""
    order = list(df["category"])
    fig = go.Figure()
    for column, name, colour in (("count_resolved", "Resolved", PALETTE[2]), ("count_open", "Open", PALETTE[1])):
        fig.add_bar(y=shown(order), x=df[column], orientation="h", name=name, marker_color=colour,
                    hovertemplate=f"%{{y}}: %{{x:,d}} {name.lower()}<extra></extra>")
    medians = ["" if pd.isna(m) else f"median {m:g} days" for m in df["median_days_to_resolve"]]
    fig.add_scatter(y=shown(order), x=df["count_complaints"], mode="text", text=medians, textposition="middle right",
                    showlegend=False, hoverinfo="skip", cliponaxis=False)
    largest = float(df["count_complaints"].max()) if len(df) else 1.0
    fig.update_layout(barmode="stack", height=_height(len(order)), hovermode="closest",
                      xaxis=dict(title_text="Complaints", range=[0, largest * 1.9],
                                 showgrid=True,
                                 gridcolor="rgba(128,128,128,0.25)"),
                      yaxis=dict(autorange="reversed", showgrid=False), legend_traceorder="normal")
    fig = _layout(fig, title, "")
    if largest < 10:
        fig.update_layout(xaxis_dtick=1)
    return fig


def complaints_by_reported_month_chart(df, title: str) -> go.Figure:
    """Complaints per month they were reported, stacked by category."""
    fig = go.Figure()
    for category in _categories_in(df):
        part = df[df["category"] == category]
        name = plain(labels.value(category))
        fig.add_bar(x=part["month"], y=part["count_complaints"], name=name, marker_color=COLOURS.get(category, PRIMARY),
                    hovertemplate=f"{name}: %{{y:,d}}<extra></extra>")
    _, xaxis = period_axis(df["month"], "month")
    fig.update_layout(barmode="stack", xaxis=xaxis, legend_traceorder="normal")
    fig = _layout(fig, title, "Complaints reported")
    _whole_number_ticks(fig, df.groupby("month")["count_complaints"].sum().max() if len(df) else None)
    return fig


# --- Consumables

# Items are the clinic's own names, as many as it stocks: the palette, then lighter partners.
ITEM_PALETTE = [*PALETTE, "#AEC7E8", "#FFBB78", "#98DF8A", "#FF9896", "#C5B0D5", "#C49C94", "#F7B6D2", "#DBDB8D",
                "#9EDAE5", "#393B79"]


def item_colours(items) -> dict:
    """One colour per item, in the order given (largest first), kept on every chart of the page."""
    return {item: ITEM_PALETTE[i % len(ITEM_PALETTE)] for i, item in enumerate(dict.fromkeys(items))}


def _money_axis(symbol: str) -> dict:
    return dict(tickprefix=plain(symbol), tickformat=",.0f", showgrid=True, gridcolor="rgba(128,128,128,0.25)")


def consumable_cost_by_item(df, title: str, symbol: str = "$") -> go.Figure:
    """Cost per item (horizontal bars, costliest on top) with the sessions using it beside each bar."""
    colours = item_colours(df["item"])
    money = plain(symbol)
    fig = go.Figure(go.Bar(
        x=df["cost"], y=shown(df["item"]), orientation="h", marker_color=[colours[i] for i in df["item"]],
        text=[f"{money}{c:,.0f} · {n:,} sessions" for c, n in zip(df["cost"], df["count_sessions"], strict=True)],
        textposition="outside", cliponaxis=False,
        customdata=[[q, plain(u)] for q, u in zip(df["quantity"], df["unit"].fillna(""), strict=True)],
        hovertemplate=f"%{{y}}: {money}%{{x:,.2f}}<br>%{{customdata[0]:,.1f}} %{{customdata[1]}} used<extra></extra>",
    ))
    largest = float(df["cost"].max()) if len(df) else 1.0
    fig.update_layout(height=_height(len(df)), hovermode="closest", showlegend=False,
                      xaxis=dict(title_text=f"Cost ({money})", range=[0, max(largest, 1) * 1.35], **_money_axis(symbol)),
                      yaxis=dict(autorange="reversed", showgrid=False))
    return _layout(fig, title, "")


def consumable_cost_per_period(df, title: str, grain: str, symbol: str = "$", order=None) -> go.Figure:
    """Consumable cost per week or month, stacked by item (`order`: the items largest first, for colours)."""
    order = [i for i in (order if order is not None else df["item"]) if i in set(df["item"])]
    colours = item_colours(order)
    money = plain(symbol)
    fig = go.Figure()
    for item in dict.fromkeys(order):
        part = df[df["item"] == item]
        x, _ = period_axis(part["period_start"], grain)
        name = plain(item)
        fig.add_bar(x=x, y=part["cost"], name=name, marker_color=colours[item],
                    hovertemplate=f"{name}: {money}%{{y:,.2f}}<extra></extra>")
    _, xaxis = period_axis(df["period_start"], grain)
    # Many items: the legend goes beside the bars, largest item first (the bottom of each stack).
    fig.update_layout(barmode="stack", xaxis=xaxis)
    fig = _layout(fig, title, f"Cost per {grain} ({money})", ",.0f")
    fig.update_layout(yaxis_tickprefix=money, margin=dict(t=60),
                      legend=dict(orientation="v", x=1.02, xanchor="left", y=1, yanchor="top", traceorder="normal",
                                  font=dict(size=11)))
    return fig


def consumable_cost_per_session_by_group(df, title: str, dimension_title: str, symbol: str = "$") -> go.Figure:
    """Consumable cost per session per group (horizontal bars, costliest on top); customdata = the raw value."""
    money = plain(symbol)
    fig = go.Figure(go.Bar(
        x=df["cost_per_session"], y=shown(df["dimension_value"]), orientation="h", marker_color=PRIMARY,
        text=[f"{money}{c:,.2f} · {n:,} sessions" for c, n in
              zip(df["cost_per_session"], df["count_sessions"], strict=True)],
        textposition="outside", cliponaxis=False,
        customdata=df[["dimension_value"]].to_numpy(),
        hovertemplate=f"%{{y}}: {money}%{{x:,.2f}} per session<extra></extra>",
    ))
    largest = float(df["cost_per_session"].max()) if len(df) else 1.0
    fig.update_layout(height=_height(len(df)), hovermode="closest", showlegend=False,
                      xaxis=dict(title_text=f"Cost per session ({money})", range=[0, max(largest, 1) * 2.0],
                                 **_money_axis(symbol)),
                      yaxis=dict(autorange="reversed", showgrid=False, title_text=plain(dimension_title)))
    return _layout(fig, title, "")


def numbing_by_area_chart(df, title: str) -> go.Figure:
    """Numbing per session that used it, per body area (horizontal bars; one colour per unit as recorded, since
    ml and g do not add up), with the share of the area's sessions that used any."""
    fig = go.Figure()
    areas = list(dict.fromkeys(df["body_area"]))
    for i, unit in enumerate(dict.fromkeys(df["unit"])):
        part = df[df["unit"] == unit]
        name = plain(unit)
        fig.add_bar(
            x=part["quantity_per_session"], y=shown(part["body_area"]), orientation="h", name=f"Amount ({name})",
            marker_color=PALETTE[(i + 4) % len(PALETTE)],
            text=[f"{q:.1f} {name} · {s:.0%} of sessions" for q, s in
                  zip(part["quantity_per_session"], part["share_of_sessions"], strict=True)],
            textposition="outside", cliponaxis=False,
            customdata=part[["count_sessions_with_numbing", "count_sessions"]].to_numpy(),
            hovertemplate=f"%{{y}}: %{{x:.2f}} {name} per session<br>%{{customdata[0]:,d}} of %{{customdata[1]:,d}} "
                          "sessions used numbing<extra></extra>",
        )
    largest = float(df["quantity_per_session"].max()) if len(df) else 1.0
    units = " or ".join(plain(u) for u in dict.fromkeys(df["unit"]))
    fig.update_layout(barmode="group", height=_height(len(areas) * max(1, df["unit"].nunique())), hovermode="closest",
                      showlegend=df["unit"].nunique() > 1,
                      xaxis=dict(title_text=f"{units} per session that used numbing",
                                 range=[0, max(largest, 0.1) * 2.0], showgrid=True, gridcolor="rgba(128,128,128,0.25)"),
                      yaxis=dict(autorange="reversed", showgrid=False))
    return _layout(fig, title, "")


def tip_compliance_by_month_chart(df, title: str) -> go.Figure:
    """Sterile-tip compliance per month (line, in %), the sessions without a tip in the hover."""
    months = pd.to_datetime(df["dimension_value"], format="%Y-%m")
    fig = go.Figure(go.Scatter(
        x=months, y=df["tip_compliance"], mode="lines+markers", name="Sterile-tip compliance",
        line=dict(color=PALETTE[2], width=2), marker=dict(size=7, color=PALETTE[2]), cliponaxis=False,
        customdata=df[["count_with_needle_tip", "count_micro_needling_sessions", "count_without_needle_tip"]].to_numpy(),
        hovertemplate="%{x|%b %Y}: %{y:.1%} · %{customdata[0]:,d} of %{customdata[1]:,d} sessions had a tip, "
                      "%{customdata[2]:,d} without<extra></extra>",
    ))
    lowest = float(df["tip_compliance"].min()) if len(df) else 1.0
    _, xaxis = period_axis(months, "month")
    fig.update_layout(xaxis=xaxis, hovermode="closest", showlegend=False)
    fig = _layout(fig, title, "Sessions with a sterile tip", ".0%")
    # Compliance lives near 100%: start the axis just below the lowest month so the dips show (the title says so).
    bottom = max(0.0, min(0.9, lowest - 0.05))
    fig.update_layout(yaxis=dict(range=[bottom, 1.01], rangemode="normal",
                                 title_text="Sessions with a sterile tip" + (f" (axis from {bottom:.0%})" if bottom else "")))
    return fig


def tip_compliance_by_group_chart(df, title: str, dimension_title: str) -> go.Figure:
    """Sterile-tip compliance per location or practitioner (horizontal bars, in %), the sessions without a tip
    beside each bar; customdata = the raw value, so a click can set the sidebar filter."""
    df = df.sort_values("tip_compliance", kind="stable")
    fig = go.Figure(go.Bar(
        x=df["tip_compliance"], y=shown(df["dimension_value"]), orientation="h", marker_color=PALETTE[2],
        text=[f"{r:.1%} · {w:,} of {n:,} without" for r, w, n in
              zip(df["tip_compliance"], df["count_without_needle_tip"], df["count_micro_needling_sessions"], strict=True)],
        textposition="outside", cliponaxis=False,
        customdata=df[["dimension_value"]].to_numpy(),
        hovertemplate="%{y}: %{x:.1%} of micro-needling sessions had a sterile tip<extra></extra>",
    ))
    fig.update_layout(height=_height(len(df)), hovermode="closest", showlegend=False,
                      xaxis=dict(title_text="Micro-needling sessions with a sterile tip", tickformat=".0%",
                                 range=[0, 1.4], tickvals=[0, 0.25, 0.5, 0.75, 1], showgrid=True,
                                 gridcolor="rgba(128,128,128,0.25)"),
                      yaxis=dict(showgrid=False, title_text=plain(dimension_title)))
    return _layout(fig, title, "")


def lot_comparison_chart(df, lot: str, title: str) -> go.Figure:
    """Complaints per 100 sessions of each lot of the same item(s), in order of first use: the traced lot
    highlighted, flagged lots in red, and the dashed rate of the traced lot's other lots."""
    df = df.sort_values(["first_used_on", "lot"], kind="stable")
    chosen = df["lot"] == lot
    colours = [PRIMARY if c else SIGNAL_COLOUR if f else "rgba(128,128,128,0.55)"
               for c, f in zip(chosen, df["is_flagged"], strict=True)]
    fig = go.Figure(go.Bar(
        x=shown(df["lot"]), y=df["complaints_per_100_sessions"], marker_color=colours,
        marker_line=dict(color=[PRIMARY if c else "rgba(0,0,0,0)" for c in chosen], width=2),
        customdata=df[["count_complaints", "count_sessions"]].to_numpy(),
        hovertemplate="%{x}: %{y:.2f} per 100 (%{customdata[0]:,d} complaints, %{customdata[1]:,d} sessions)"
                      "<extra></extra>",
        name="Lots",
    ))
    other = df.loc[chosen, "other_lots_complaints_per_100_sessions"]
    x_title = "Lot, in order of first use"
    if len(other) and pd.notna(other.iloc[0]):
        fig.add_hline(y=float(other.iloc[0]), line_dash="dash", line_color="rgba(90,90,90,0.9)")
        x_title += f" · dashed line: its other lots together, {float(other.iloc[0]):.2f}"
    fig.update_layout(hovermode="closest", showlegend=False,
                      xaxis=dict(type="category", tickangle=-60 if len(df) > 12 else 0, title_text=x_title,
                                 tickfont=dict(size=10 if len(df) > 24 else 12)),
                      height=380)
    return _layout(fig, title, "Complaints per 100 sessions", ".1f")


# --- Demand
# The Demand page's figures come through queries/privacy.py: a hidden count arrives as NaN and is drawn as
# the label `hidden` says (`<11`), never as 0 or as a bar of some size.

HIDDEN_COLOUR = "rgba(128,128,128,0.35)"


def _nullable(values) -> list:
    """NaN as null: plotly.js stacks bars wrongly after a NaN in a packed array."""
    return [None if pd.isna(v) else float(v) for v in values]


def demand_by_month(cells, totals, title: str, hidden: str, concerns: list[str], share: bool = False) -> go.Figure:
    """Bookings per month stacked by concern (`cells`: month, concern, count_bookings; `concerns` in stacking
    order, largest first), or each concern's share of the month. The grey part is the month's total (`totals`:
    month, count_bookings, is_partial_month) minus the concerns shown: the hidden ones, together."""
    totals = totals.sort_values("month")
    ticks = [f"{m:%b %Y}" + (" (part)" if p else "") for m, p in
             zip(totals["month"], totals["is_partial_month"], strict=True)]
    fig = go.Figure()
    shown_sum = pd.Series(0.0, index=totals["month"])
    value = "%{y:.1f}%" if share else "%{y:,d}"
    for concern in concerns:
        part = cells[cells["concern"] == concern].set_index("month")["count_bookings"].reindex(totals["month"])
        shown_sum = shown_sum.add(part.fillna(0))
        name = plain(labels.value(concern))
        fig.add_bar(x=ticks, y=_nullable(part), name=name, marker_color=CONCERN_COLOURS.get(concern, PRIMARY),
                    hovertemplate=f"{name}: {value}<extra></extra>")
    rest = totals.set_index("month")["count_bookings"] - shown_sum
    if (rest > 0).any():
        name = plain(f"Hidden concerns ({hidden} patients each)")
        fig.add_bar(x=ticks, y=_nullable(rest.where(rest > 0)), name=name, marker_color=HIDDEN_COLOUR,
                    marker_pattern_shape="/", hovertemplate=f"{name}: {value}<extra></extra>")
    fig.update_layout(barmode="stack", barnorm="percent" if share else None, legend_traceorder="normal",
                      xaxis=dict(type="category", title_text=""))
    fig = _layout(fig, title, "Share of the month's bookings (%)" if share else "Bookings made", ",d")
    fig.update_layout(margin=dict(t=110))
    return fig


def demand_heatmap(values, text, title: str, colour_title: str, hidden: str, *, rows: list[str],
                   colorscale="Blues", zmid: float | None = None, colour_format: str = ",d") -> go.Figure:
    """`rows` (concerns, top first) × columns: colour from `values` (NaN: hidden or nothing), the figure in each
    cell from `text` (the same shape, already formatted); hidden cells grey, marked `hidden`."""
    rows = [r for r in rows if r in values.index][::-1]
    values, text = values.loc[rows], text.loc[rows]
    x, y = shown(values.columns), shown(values.index)
    is_hidden = text.map(lambda t: t == hidden).to_numpy()
    fig = go.Figure(go.Heatmap(
        z=[_nullable(row) for row in values.to_numpy()], x=x, y=y,
        text=[[plain(t) for t in row] for row in text.to_numpy()], texttemplate="%{text}", textfont=dict(size=12),
        colorscale=colorscale, zmid=zmid, xgap=2, ygap=2,
        showscale=pd.Series(values.to_numpy().ravel()).dropna().nunique() > 1,  # one value: no scale to read
        colorbar=dict(title=plain(colour_title), tickformat=colour_format, thickness=14),
        hovertemplate="%{y} · %{x}: %{text}<extra></extra>",
    ))
    if is_hidden.any():
        fig.add_heatmap(z=[[1 if h else None for h in row] for row in is_hidden], x=x, y=y,
                        text=[[plain(hidden) if h else "" for h in row] for row in is_hidden], texttemplate="%{text}",
                        textfont=dict(size=12, color="#444444"), colorscale=[[0, "#DDDDDD"], [1, "#DDDDDD"]],
                        showscale=False, xgap=2, ygap=2,
                        hovertemplate=f"%{{y}} · %{{x}}: {plain(f'hidden ({hidden} patients)')}<extra></extra>")
    fig.update_layout(height=_height(len(rows), 34, 150), hovermode="closest",
                      xaxis=dict(type="category", title_text="", side="top"),
                      yaxis=dict(type="category", showgrid=False))
    fig = _layout(fig, title, "")
    fig.update_layout(margin=dict(t=80))
    return fig


def year_over_year(df, title: str, period_label: str, previous_label: str, hidden: str, concerns: list[str]) -> go.Figure:
    """Bookings per concern (`concerns`, top first) in the period and on the same dates a year earlier
    (df: concern, count_bookings, count_bookings_previous, change_rate; NaN: hidden, drawn as the label only)."""
    concerns = [c for c in concerns if c in set(df["concern"])][::-1]
    df = df.set_index("concern").loc[concerns]
    fig = go.Figure()
    for column, name, colour in (("count_bookings_previous", previous_label, SECONDARY),
                                 ("count_bookings", period_label, PRIMARY)):
        values = df[column]
        text = [hidden if pd.isna(v) else f"{v:,.0f}" for v in values]
        if column == "count_bookings":
            text = [t if pd.isna(r) else f"{t} ({r:+.0%})" for t, r in zip(text, df["change_rate"], strict=True)]
        fig.add_bar(y=shown(concerns), x=values.fillna(0).to_numpy(), orientation="h", name=plain(name),
                    marker_color=colour, text=[plain(t) for t in text], textposition="outside", cliponaxis=False,
                    hovertemplate=f"%{{y}} · {plain(name)}: %{{text}}<extra></extra>")
    fig.update_layout(barmode="group", height=_height(len(concerns), 44), hovermode="closest",
                      xaxis=dict(title_text="Bookings made", showgrid=True, gridcolor="rgba(128,128,128,0.25)"),
                      yaxis=dict(showgrid=False), legend=dict(traceorder="reversed"))
    fig = _layout(fig, title, "")
    fig.update_layout(margin=dict(r=90))
    return fig


def conversion_by_group(df, title: str, overall: float | None, hidden: str) -> go.Figure:
    """Consultation conversion per group, top first (df: dimension_value, conversion_rate as a number, NaN when
    hidden or with nothing eligible, and `label`: the text beside the bar, already formatted)."""
    df = df.iloc[::-1]
    has_overall = overall is not None and pd.notna(overall)
    fig = go.Figure(go.Bar(
        y=shown(df["dimension_value"]), x=df["conversion_rate"].fillna(0).to_numpy(), orientation="h",
        marker_color=PRIMARY, text=[plain(t) for t in df["label"]], textposition="outside", cliponaxis=False,
        textfont=dict(size=12), hovertemplate="%{y}: %{text}<extra></extra>",
    ))
    if has_overall:
        fig.add_vline(x=overall, line_dash="dash", line_color="rgba(90,90,90,0.9)")
    fig.update_layout(height=_height(len(df), 34), hovermode="closest", showlegend=False,
                      xaxis=dict(title_text="Converted within 90 days" + (
                          f" · dashed: all, {overall:.0%}" if has_overall else ""), range=[0, 1.9],
                          tickvals=[0, 0.25, 0.5, 0.75, 1], tickformat=".0%", showgrid=True,
                          gridcolor="rgba(128,128,128,0.25)"),
                      yaxis=dict(showgrid=False))
    fig = _layout(fig, title, "", ".0%")
    fig.update_layout(yaxis_tickformat=None, margin=dict(r=10))
    return fig
