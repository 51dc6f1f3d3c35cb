"""Where the bundled sample data is (importable from the page test modules)."""

from pathlib import Path

SAMPLE_DATA = Path(__file__).resolve().parent.parent / "sample_data" / "default"
