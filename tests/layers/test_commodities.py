"""Controlled vocabularies: commodity synonyms, mercury use and processing in four languages."""

from __future__ import annotations

import pandas as pd
import pytest

from layers import commodities as vocab
from layers.schema import COMMODITIES, MERCURY_USE, PROCESSING


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
        ("amalgamation du minerai entier", "whole_ore_amalgamation"),
        ("whole ore amalgamation", "whole_ore_amalgamation"),
        ("amálgama de minério bruto", "whole_ore_amalgamation"),
        ("amalgamation du concentré", "concentrate_amalgamation"),
        ("amalgamación de concentrado", "concentrate_amalgamation"),
        ("amalgamation", "concentrate_amalgamation"),
        ("retorte", "retort"),
        ("amalgamation + retort", "retort"),
        ("cornue", "retort"),
        ("cianuración", "cyanidation"),
        ("cyanuration en cuve", "cyanidation"),
        ("CIL", "cyanidation"),
        ("gravimétrie", "gravity_only"),
        ("gravity only", "gravity_only"),
        ("sluice box, panning", "gravity_only"),
        ("sans mercure", "gravity_only"),
        ("gravity_only", "gravity_only"),
        ("", "unknown"),
        ("magic", "unknown"),
    ],
)
def test_processing(text: str, expected: str) -> None:
    assert vocab.processing_of(text) == expected
    assert vocab.normalise_processing(pd.Series([text])).tolist() == [expected]
    assert expected in PROCESSING


def test_fold_text() -> None:
    assert vocab.fold_text("  Cassitérite  ÉTAIN ") == "cassiterite etain"
    assert vocab.fold_text(float("nan")) == ""
