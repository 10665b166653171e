"""docs/presets.md is the loader's own field tables: regenerated, it must not change."""

from pathlib import Path

from explorer.core.presets.reference import reference

DOC = Path(__file__).resolve().parents[1] / "docs" / "presets.md"


def test_the_preset_reference_in_docs_matches_the_loader():
    assert DOC.read_text(encoding="utf-8") == reference(), (
        "docs/presets.md is out of date: python -m explorer.core.presets.reference > docs/presets.md")


def test_every_key_has_a_meaning():
    empty = [line for line in reference().splitlines() if line.startswith("| `") and line.endswith("|  |")]
    assert not empty, empty
