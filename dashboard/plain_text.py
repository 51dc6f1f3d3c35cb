"""Text nobody checked (names from an export, values from a link, file names, loader messages quoting
them) shown exactly as typed. Streamlit reads labels, captions, metrics and alerts as Markdown; plotly
reads titles, tick labels, legends, hovers and annotations as a subset of HTML. Both are rendered from
here, so there is one rule per renderer. Pages use them as ui.md_plain and charts.plain.

Neither is needed where Streamlit shows text as text: st.dataframe cells and headers, st.text, and the
options of st.selectbox / st.multiselect (but not st.segmented_control or st.pills, whose options are
Markdown)."""

from __future__ import annotations

import html
import re

WORD_JOINER = "\u2060"  # invisible, and breaks up what Streamlit would autolink


def for_markdown(text) -> str:
    """`text` inside Markdown shown as typed: every ASCII punctuation mark escaped (no link, emphasis, HTML,
    LaTeX `$`, colour `:red[…]` or icon syntax), and a word joiner in `://`, `www.` and `@`, which Streamlit
    turns into links even when escaped."""
    text = re.sub(r"(?i)(:)(?=//)|(www)(?=\.)|(?=@)", lambda m: m.group(0) + WORD_JOINER, str(text))
    return re.sub(r"([!-/:-@\[-`{-~])", r"\\\1", text)


def for_plotly(text) -> str:
    """`text` as plotly must get it to draw it literally: `<`, `>` and `&` escaped (plotly draws <b>,
    <a href>, <br> as live markup; quote=False, as it would print &quot; as is), `%{` broken by a word
    joiner so that a name placed in a hovertemplate is not read as a placeholder, and a word joiner before
    a text that starts and ends with `$` (plotly typesets it as LaTeX where MathJax is loaded)."""
    text = html.escape(str(text), quote=False).replace("%{", "%" + WORD_JOINER + "{")
    return WORD_JOINER + text if len(text) > 1 and text.startswith("$") and text.endswith("$") else text
