"""Controlled vocabularies: commodity synonyms, mercury use and processing in four languages."""

from __future__ import annotations

import pandas as pd
import pytest

from layers import commodities as vocab
from layers.schema import AMALGAMATION, COMMODITIES, CYANIDATION, MERCURY_USE, RETORT


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("or", "gold"),
        ("Gold", "gold"),
        ("ouro", "gold"),
        ("oro", "gold"),
        ("AU", "gold"),
        ("Or alluvionnaire", "gold"),
        ("gold (alluvial)", "gold"),
        ("cassitérite", "cassiterite"),
        ("Cassiterite", "cassiterite"),
        ("cassiterita", "cassiterite"),
        ("tin ore", "cassiterite"),
        ("coltan", "coltan"),
        ("Colombo-tantalite", "coltan"),
        ("tantalum", "coltan"),
        ("wolframite", "wolframite"),
        ("wolfram", "wolframite"),
        ("tungsten", "wolframite"),
        ("diamant", "diamond"),
        ("Diamonds", "diamond"),
        ("diamante", "diamond"),
        ("cuivre", "copper"),
        ("copper", "copper"),
        ("cobre", "copper"),
        ("cobalt", "cobalt"),
        ("cobalto", "cobalt"),
        ("sapphire", "sapphire"),
        ("saphir", "sapphire"),
        ("safira", "sapphire"),
        ("silver", "silver"),
        ("argent", "silver"),
        ("prata", "silver"),
        ("plata", "silver"),
        ("tin", "tin"),
        ("étain", "tin"),
        ("estanho", "tin"),
        ("estaño", "tin"),
        ("lithium", "lithium"),
        ("manganese", "manganese"),
        ("manganèse", "manganese"),
        ("sand", "sand_gravel"),
        ("gravel", "sand_gravel"),
        ("sable", "sand_gravel"),
        ("sand and gravel", "sand_gravel"),
        ("tourmaline", "other_gemstones"),
        ("émeraude", "other_gemstones"),
        ("emerald", "other_gemstones"),
        ("ruby", "other_gemstones"),
        ("gemstones", "other_gemstones"),
        ("quartz", "other"),
        ("bauxite", "other"),
    ],
)
def test_single_commodity_synonyms(text: str, expected: str) -> None:
    assert vocab.parse_commodities(text) == [expected]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("or, cassitérite", ["gold", "cassiterite"]),
        ("gold;diamond", ["gold", "diamond"]),
        ("Or et diamant", ["gold", "diamond"]),
        ("ouro e diamante", ["gold", "diamond"]),
        ("oro y plata", ["gold", "silver"]),
        ("Cassitérite/Coltan/Wolframite", ["cassiterite", "coltan", "wolframite"]),
        ("gold, gold", ["gold"]),
        ("quartz, gold", ["other", "gold"]),
        ("", []),
        (None, []),
    ],
)
def test_multi_commodity_cells(text: str | None, expected: list[str]) -> None:
    assert vocab.parse_commodities(text) == expected


def test_every_synonym_maps_into_the_vocabulary() -> None:
    assert set(vocab.COMMODITY_SYNONYMS.values()) <= set(COMMODITIES)
    with pytest.raises(TypeError):
        vocab.COMMODITY_SYNONYMS["x"] = "gold"  # type: ignore[index]


def test_normalise_commodities_primary_is_first_recognised() -> None:
    out = vocab.normalise_commodities(pd.Series(["quartz, or", "Cassitérite", None, "bauxite"]))
    assert out["commodity"].tolist() == ["gold", "cassiterite", "other", "other"]
    assert out["commodities"].tolist() == ["other;gold", "cassiterite", "", "other"]
    assert out["commodity_original"].tolist() == ["quartz, or", "Cassitérite", "", "bauxite"]


def test_merge_commodity_lists_keeps_first_seen_order() -> None:
    assert vocab.merge_commodity_lists(["gold;diamond", "cassiterite;gold", ""]) == "gold;diamond;cassiterite"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("oui", "yes"),
        ("Non", "no"),
        ("sim", "yes"),
        ("não", "no"),
        ("yes", "yes"),
        ("no", "no"),
        ("Sí", "yes"),
        (1, "yes"),
        (0, "no"),
        (1.0, "yes"),
        ("1", "yes"),
        ("0", "no"),
        (True, "yes"),
        (False, "no"),
        ("mercure", "yes"),
        ("sans mercure", "no"),
        ("unknown", "unknown"),
        ("?", "unknown"),
        ("peut-être", "unknown"),
        (None, "unknown"),
    ],
)
def test_mercury_use(value: object, expected: str) -> None:
    out = vocab.normalise_mercury(pd.Series([value], dtype="object"))
    assert out.tolist() == [expected]
    assert expected in MERCURY_USE


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("amalgamation du minerai entier", ("whole_ore", "unknown", "unknown")),
        ("whole ore amalgamation", ("whole_ore", "unknown", "unknown")),
        ("amálgama de minério bruto", ("whole_ore", "unknown", "unknown")),
        ("amalgamation du concentré", ("concentrate", "unknown", "unknown")),
        ("amalgamación de concentrado", ("concentrate", "unknown", "unknown")),
        ("amalgamation", ("unknown", "unknown", "unknown")),  # mercury is used; the type is not said
        ("retorte", ("unknown", "yes", "unknown")),  # a retort is an add-on to amalgamation
        ("amalgamation + retort", ("unknown", "yes", "unknown")),
        ("cornue", ("unknown", "yes", "unknown")),
        ("amalgamation du concentré + cornue, cyanuration des rejets", ("concentrate", "yes", "yes")),
        ("amalgamação de concentrado, queima a céu aberto", ("concentrate", "no", "unknown")),
        ("concentrate amalgamation without retort", ("concentrate", "no", "unknown")),
        ("whole ore amalgamation then cyanide leaching of the tailings", ("whole_ore", "unknown", "yes")),
        ("cianuración", ("none", "no", "yes")),
        ("cyanuration en cuve", ("none", "no", "yes")),
        ("CIL", ("none", "no", "yes")),
        ("gravimétrie", ("none", "no", "no")),
        ("gravity only", ("none", "no", "no")),
        ("sluice box, panning", ("none", "no", "no")),
        ("sans mercure", ("none", "no", "unknown")),
        ("", ("unknown", "unknown", "unknown")),
        ("magic", ("unknown", "unknown", "unknown")),
    ],
)
def test_processing_text_gives_amalgamation_retort_and_cyanidation(text: str, expected: tuple[str, str, str]) -> None:
    assert vocab.processing_components(text)[:3] == expected
    out = vocab.normalise_processing(pd.Series([text]))
    assert out[["amalgamation", "retort", "cyanidation"]].iloc[0].tolist() == list(expected)
    assert expected[0] in AMALGAMATION and expected[1] in RETORT and expected[2] in CYANIDATION


@pytest.mark.parametrize(
    ("legacy", "expected", "note"),
    [
        ("whole_ore_amalgamation", ("whole_ore", "unknown", "unknown"), ""),
        ("concentrate_amalgamation", ("concentrate", "unknown", "unknown"), ""),
        ("retort", ("unknown", "yes", "unknown"), "processing 'retort' read as amalgamation of unknown type"),
        ("cyanidation", ("none", "unknown", "yes"), "processing 'cyanidation' read as no amalgamation"),
        ("gravity_only", ("none", "no", "no"), ""),
        ("unknown", ("unknown", "unknown", "unknown"), ""),
    ],
)
def test_every_legacy_processing_value_keeps_loading_with_a_note(legacy: str, expected: tuple, note: str) -> None:
    amalg, retort, cyan, text = vocab.processing_components(legacy)
    assert (amalg, retort, cyan) == expected
    assert text.startswith(note) and bool(text) == bool(note)


def test_practice_columns_override_the_processing_text_and_imply_mercury() -> None:
    idx = pd.RangeIndex(4)
    given = {
        "mercury_use": pd.Series(["", "non", "oui", ""]),
        "processing": pd.Series(["amalgamation", "gravity only", "gravity only", "retort"]),
        "amalgamation": pd.Series(["minerai entier", None, None, None]),
        "retort": pd.Series(["non", None, None, None]),
        "cyanidation": pd.Series([None, None, "oui", None]),
    }
    out, n_legacy = vocab.site_practices(given, idx)
    assert out["amalgamation"].tolist() == ["whole_ore", "none", "unknown", "unknown"]
    assert out["retort"].tolist() == ["no", "no", "no", "yes"]
    assert out["cyanidation"].tolist() == ["unknown", "no", "yes", "unknown"]
    # amalgamation (row 0) and a retort (row 3) imply mercury; row 2 says yes with "gravity only": type unknown
    assert out["mercury_use"].tolist() == ["yes", "no", "yes", "yes"]
    assert "type read as unknown" in out["notes"].iloc[2] and "old" not in out["notes"].iloc[2]
    assert n_legacy == 1 and "retort" in out["notes"].iloc[3]


@pytest.mark.parametrize(
    ("normalise", "values", "expected"),
    [
        (vocab.normalise_amalgamation, ["Whole ore", "concentrate", "oui", "non", None, "minerai entier", "xyz"],
         ["whole_ore", "concentrate", "unknown", "none", "unknown", "whole_ore", "unknown"]),
        (vocab.normalise_retort, ["oui", "non", None, 1, "retorta", "?"], ["yes", "no", "unknown", "yes", "yes", "unknown"]),
        (vocab.normalise_cyanidation, ["yes", "CIL", "sans cyanure", None], ["yes", "yes", "no", "unknown"]),
    ],
)  # fmt: skip
def test_practice_columns(normalise, values, expected) -> None:
    assert normalise(pd.Series(values, dtype="object")).tolist() == expected


def test_fold_text() -> None:
    assert vocab.fold_text("  Cassitérite  ÉTAIN ") == "cassiterite etain"
    assert vocab.fold_text(float("nan")) == ""
