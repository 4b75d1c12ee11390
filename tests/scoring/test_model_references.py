"""The model references every export carries are the ones docs/risk-model.md cites (section 8: what was read)."""

from __future__ import annotations

from pathlib import Path

from scoring.writers import MODEL_REFERENCES, about_text

DOC = Path(__file__).resolve().parents[2] / "docs" / "risk-model.md"


def test_each_reference_is_cited_in_the_risk_model_document():
    doc = DOC.read_text(encoding="utf-8")
    sources = doc[doc.index("## 8. Defaults and their sources") : doc.index("## 9.")]
    for ref in MODEL_REFERENCES:
        lead = ref.split(",")[0].split(" (")[0]  # authors and year, or the title
        assert lead in sources, lead
    assert len(set(MODEL_REFERENCES)) == len(MODEL_REFERENCES)


def test_about_text_names_version_fingerprint_and_references():
    from layers.risk_config import default_risk_config

    cfg = default_risk_config().with_overrides({"weights.reef": 0.1})
    about = about_text(cfg, ["sites: x"], is_demo=False, n_rows=3)
    assert f"Method: {cfg.version}" in about and f"Configuration fingerprint: {cfg.fingerprint}" in about
    assert cfg.fingerprint != default_risk_config().fingerprint and "reef = 0.1" in about
    assert all(f"  - {ref}" in about for ref in MODEL_REFERENCES)
