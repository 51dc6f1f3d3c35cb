"""What each figure counts, one hover away: the bullets of docs/metrics.md, looked up by their bold name.

    st.subheader("Recall list", help=definitions.text("Recall list"))

One wording for the docs and the page's **?**; a name missing from the docs fails loudly
(tests/test_clinic_pages.py checks every name the pages use).
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

METRICS_DOC = Path(__file__).resolve().parent.parent / "docs" / "metrics.md"
_BULLET = re.compile(r"^- \*\*(?P<name>[^*]+)\*\*\s*[:=]?\s*(?P<rest>.*)$")


@cache
def _bullets() -> dict[str, str]:
    """{bold name: the bullet's text as one paragraph}; the first bullet of a name wins."""
    found: dict[str, str] = {}
    name, parts = None, []
    for line in [*METRICS_DOC.read_text(encoding="utf-8").splitlines(), ""]:
        match = _BULLET.match(line)
        if name and (match or not line.startswith("  ")):
            found.setdefault(name, " ".join(parts))
            name, parts = None, []
        if match:
            name, parts = match["name"], [match["rest"]]
        elif name:
            parts.append(line.strip())
    return found


def text(name: str) -> str:
    """The definition of `name` as docs/metrics.md words it (Markdown, for a `help=` tooltip)."""
    try:
        return _bullets()[name]
    except KeyError:
        raise KeyError(f"docs/metrics.md defines no **{name}**") from None
