"""Controlled vocabularies for site attributes, with multilingual synonyms.

Field teams write "Or et cassitérite", "ouro", "Utilisation du mercure: oui" or
"amalgamation du minerai entier"; this module maps such text to the values of
``layers.schema.COMMODITIES``, ``MERCURY_USE`` and ``PROCESSING``. Matching is on
lower-cased text with accents stripped, so "Cassitérite", "CASSITERITE" and
"cassiterite" are the same key. All functions are vectorised over the distinct
values of a column (a 100k-row file usually has a few dozen distinct spellings).
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Iterable, Mapping
from types import MappingProxyType

import numpy as np
import pandas as pd

from layers.schema import COMMODITIES, MERCURY_USE, PROCESSING


def fold_text(text: object) -> str:
    """Lower-case, accents stripped, whitespace collapsed ("Cassitérite " -> "cassiterite")."""
    if text is None or (isinstance(text, float) and np.isnan(text)) or text is pd.NA:
        return ""
    s = unicodedata.normalize("NFKD", str(text))
    s = "".join(ch for ch in s if not unicodedata.combining(ch))
    return " ".join(s.lower().replace("’", "'").split())


def fold_series(values: pd.Series) -> pd.Series:
    """``fold_text`` for a whole column, vectorised ('' for missing)."""
    s = values.astype("object").where(values.notna(), "").astype("str")
    s = s.str.normalize("NFKD").str.replace(r"[\u0300-\u036f]", "", regex=True).str.lower()
    return s.str.replace("’", "'", regex=False).str.replace(r"\s+", " ", regex=True).str.strip()


# --- commodities ------------------------------------------------------------------
_COMMODITY_WORDS: dict[str, tuple[str, ...]] = {
    "gold": (
        "gold",
        "or",
        "ouro",
        "oro",
        "au",
        "gold ore",
        "minerai d'or",
        "or alluvionnaire",
        "alluvial gold",
        "oro aluvial",
    ),
    "cassiterite": ("cassiterite", "cassiterita", "tin ore", "minerai d'etain", "cassiterites"),
    "coltan": (
        "coltan",
        "colombo-tantalite",
        "columbite-tantalite",
        "columbo-tantalite",
        "tantalum",
        "tantale",
        "tantalo",
        "tantalite",
        "columbite",
        "colombite",
    ),
    "wolframite": ("wolframite", "wolfram", "tungsten", "tungstene", "volframita", "wolframita", "tungstenio"),
    "diamond": ("diamond", "diamonds", "diamant", "diamants", "diamante", "diamantes"),
    "copper": ("copper", "cuivre", "cobre", "cu", "malachite", "heterogenite de cuivre"),
    "cobalt": ("cobalt", "cobalto", "co", "heterogenite"),
    "sapphire": ("sapphire", "sapphires", "saphir", "saphirs", "safira", "safiras", "zafiro", "zafiros"),
    "other_gemstones": (
        "gemstones",
        "gemstone",
        "gems",
        "gem",
        "pierres precieuses",
        "pierres fines",
        "gemas",
        "pedras preciosas",
        "piedras preciosas",
        "tourmaline",
        "tourmalines",
        "turmalina",
        "emerald",
        "emeralds",
        "emeraude",
        "esmeralda",
        "esmeraldas",
        "ruby",
        "rubies",
        "rubis",
        "rubi",
        "amethyst",
        "amethyste",
        "ametista",
        "tanzanite",
        "garnet",
        "grenat",
        "granada",
        "opal",
        "opale",
        "topaz",
        "topaze",
        "aquamarine",
        "aigue-marine",
        "agua-marinha",
        "spinel",
    ),
    "silver": ("silver", "argent", "prata", "plata", "ag"),
    "tin": ("tin", "etain", "estanho", "estano", "sn"),
    "lithium": ("lithium", "litio", "lepidolite", "spodumene", "petalite"),
    "manganese": ("manganese", "manganes", "manganeso", "manganes", "mn"),
    "sand_gravel": (
        "sand",
        "gravel",
        "sand and gravel",
        "sand & gravel",
        "sable",
        "gravier",
        "sable et gravier",
        "areia",
        "cascalho",
        "arena",
        "grava",
        "arena y grava",
        "aggregates",
        "granulats",
    ),
}
for _key in _COMMODITY_WORDS:
    assert _key in COMMODITIES, _key

#: normalised synonym -> commodity of ``schema.COMMODITIES`` (read-only).
COMMODITY_SYNONYMS: Mapping[str, str] = MappingProxyType(
    {fold_text(word): key for key, words in _COMMODITY_WORDS.items() for word in (key, *words)}
)

# Separators between several commodities in one cell. Not " or ": French "or" is gold.
_STRONG_SEP = re.compile(r"\s*[,;/+|&]\s*|\s+-\s+")
_WORD_SEP = re.compile(r"\s+(?:et|and|e|y|avec|with|com|con)\s+")
_BRACKETS = re.compile(r"\(([^)]*)\)|\[([^]]*)\]")


def _match_part(part: str) -> str | None:
    """Commodity of one folded token such as 'or alluvionnaire' or 'cassiterite (sn)'."""
    part = part.strip(" .:-_'\"")
    if not part:
        return None
    if part in COMMODITY_SYNONYMS:
        return COMMODITY_SYNONYMS[part]
    bare = _BRACKETS.sub(" ", part).strip()
    if bare in COMMODITY_SYNONYMS:
        return COMMODITY_SYNONYMS[bare]
    words = re.findall(r"[a-z][a-z'-]*", bare)
    # two-word phrases first ("tin ore"), then single words, skipping 2-letter symbols
    # that are also ordinary words inside phrases ("co", "or" only count when alone)
    for a, b in itertools.pairwise(words):
        if f"{a} {b}" in COMMODITY_SYNONYMS:
            return COMMODITY_SYNONYMS[f"{a} {b}"]
    for w in words:
        if len(w) > 2 and w in COMMODITY_SYNONYMS:
            return COMMODITY_SYNONYMS[w]
        if len(w) > 3 and w.endswith("s") and w[:-1] in COMMODITY_SYNONYMS:
            return COMMODITY_SYNONYMS[w[:-1]]
    if words and words[0] in ("or", "au") and len(words) <= 3:  # "or alluvial", "or primaire"
        return "gold"
    return None


def parse_commodities(text: object) -> list[str]:
    """Every commodity named in one cell, in order, without repeats; ['other'] for unknown text, [] for empty.

    >>> parse_commodities("Or et cassitérite")
    ['gold', 'cassiterite']
    """
    folded = fold_text(text)
    if not folded:
        return []
    if folded in COMMODITY_SYNONYMS:
        return [COMMODITY_SYNONYMS[folded]]
    found: list[str] = []
    for chunk in _STRONG_SEP.split(folded):
        if not chunk:
            continue
        parts = [chunk] if chunk in COMMODITY_SYNONYMS else _WORD_SEP.split(chunk)
        for part in parts:
            c = _match_part(part) or "other"
            if c not in found:
                found.append(c)
    return found or ["other"]


def primary_commodity(found: Iterable[str]) -> str:
    """The first recognised commodity, 'other' when none is."""
    for c in found:
        if c != "other":
            return c
    return "other"


def normalise_commodities(original: pd.Series) -> pd.DataFrame:
    """Columns commodity, commodities (';'-joined) and commodity_original for a column of raw text.

    Empty cells give commodity 'other', commodities '' and commodity_original ''.
    """
    raw = original.astype("object").where(original.notna(), "").astype("str").str.strip()
    uniques = pd.unique(raw.to_numpy())
    table = {u: parse_commodities(u) for u in uniques}
    primary = {u: primary_commodity(v) for u, v in table.items()}
    joined = {u: ";".join(v) for u, v in table.items()}
    return pd.DataFrame(
        {
            "commodity": raw.map(primary).astype("str"),
            "commodities": raw.map(joined).astype("str"),
            "commodity_original": raw.astype("str"),
        },
        index=original.index,
    )


def merge_commodity_lists(values: Iterable[str]) -> str:
    """Union of ';'-joined commodity lists, first-seen order (used when merging duplicate rows)."""
    out: list[str] = []
    for v in values:
        for c in str(v).split(";"):
            if c and c not in out:
                out.append(c)
    return ";".join(out)


# --- mercury use -----------------------------------------------------------------------
_MERCURY_YES = (
    "yes", "y", "oui", "o", "sim", "s", "si", "true", "t", "vrai", "verdadeiro", "verdadero", "1", "x",
    "mercury", "mercure", "mercurio", "hg", "avec mercure", "with mercury", "com mercurio", "con mercurio",
    "utilise", "utilisee", "used", "usado", "amalgamation", "amalgame", "amalgama",
)  # fmt: skip
_MERCURY_NO = (
    "no", "n", "non", "nao", "false", "f", "faux", "falso", "0", "none", "aucun", "aucune", "nenhum", "ninguno",
    "sans mercure", "without mercury", "sem mercurio", "sin mercurio", "pas de mercure", "no mercury",
    "not used", "non utilise", "nao usado", "no usado", "mercury free", "mercury-free",
)  # fmt: skip
_MERCURY_UNKNOWN = ("", "unknown", "inconnu", "desconhecido", "desconocido", "nd", "n/a", "na", "?", "ns", "nsp")
MERCURY_SYNONYMS: Mapping[str, str] = MappingProxyType(
    {**{w: "yes" for w in _MERCURY_YES}, **{w: "no" for w in _MERCURY_NO}, **{w: "unknown" for w in _MERCURY_UNKNOWN}}
)


def _mercury_of(value: object) -> str:
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, int | float | np.integer | np.floating):
        if np.isnan(value):
            return "unknown"
        return "yes" if value > 0 else "no"
    folded = fold_text(value).strip(" .!")
    if folded in MERCURY_SYNONYMS:
        return MERCURY_SYNONYMS[folded]
    try:
        number = float(folded.replace(",", "."))
    except ValueError:
        number = None
    if number is not None and np.isfinite(number):
        return "yes" if number > 0 else "no"
    words = set(re.findall(r"[a-z]+", folded))
    if words & {"sans", "without", "sem", "sin", "pas", "no", "non", "nao"}:
        return "no"
    if words & {"mercure", "mercury", "mercurio", "hg", "oui", "yes", "sim"}:
        return "yes"
    return "unknown"


def normalise_mercury(values: pd.Series) -> pd.Series:
    """'yes' / 'no' / 'unknown' from booleans, 1/0, 'oui/non', 'sim/não', 'mercure', 'sans mercure'…"""
    obj = values.astype("object")
    mask = obj.isna()
    uniques = pd.unique(obj[~mask].to_numpy())
    table = {u: _mercury_of(u) for u in uniques}
    out = obj.where(~mask).map(table).where(~mask, "unknown").fillna("unknown")
    assert set(out.unique()) <= set(MERCURY_USE)
    return out.astype("str")


# --- processing ---------------------------------------------------------------------------
# Ordered: the first rule whose any keyword occurs in the folded text wins. Whole-ore
# amalgamation before the generic "amalgamation" (which counts as concentrate amalgamation,
# the common practice, UNEP 2017 NAP guidance), retort before amalgamation (a retort implies
# amalgamation with mercury recovery).
_PROCESSING_RULES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("whole_ore_amalgamation", (
        "whole ore", "whole-ore", "minerai entier", "minerai brut", "tout venant", "tout-venant", "minerio bruto",
        "minerio integral", "minerio todo", "todo el mineral", "mineral completo", "mineral entero", "mineral bruto",
        "whole_ore",
    )),
    ("retort", ("retort", "retorte", "retorta", "cornue", "retortas")),
    ("cyanidation", (
        "cyanid", "cyanur", "cianur", "cianet", "cyanide", "leach", "lixivia", "cil", "cip", "carbon in pulp",
        "carbon in leach",
    )),
    ("concentrate_amalgamation", (
        "concentrate", "concentre", "concentrado", "amalgam", "mercury", "mercure", "mercurio",
    )),
    ("gravity_only", (
        "gravity", "gravimetr", "gravitair", "gravitic", "gravitac", "gravimetric", "sluice", "panning", "batee",
        "battee", "bateia", "batea", "shaking table", "table a secousses", "mesa vibratoria", "mesa concentradora",
        "jig", "sans mercure", "without mercury", "sem mercurio", "sin mercurio", "mercury free", "mercury-free",
        "lavage", "washing", "canalon", "canaleta", "sluice box", "gravity_only",
    )),
    ("unknown", ("unknown", "inconnu", "desconhecido", "desconocido")),
)  # fmt: skip
for _key, _ in _PROCESSING_RULES:
    assert _key in PROCESSING, _key


def processing_of(text: object) -> str:
    """One value of ``schema.PROCESSING`` for a free-text processing description."""
    folded = fold_text(text)
    if not folded:
        return "unknown"
    if folded in PROCESSING:
        return folded
    # "without mercury" must not count as an amalgamation mention
    negated = re.sub(r"\b(?:sans|without|sem|sin|no)\s+(?:mercure|mercury|mercurio)\b", "gravity", folded)
    words = re.findall(r"[a-z]+", negated)
    for key, needles in _PROCESSING_RULES:
        for n in needles:
            hit = n in words if len(n) <= 3 else n in negated
            if hit:
                return key
    return "unknown"


def normalise_processing(values: pd.Series) -> pd.Series:
    """Column of ``schema.PROCESSING`` values from free text (English, French, Portuguese, Spanish)."""
    obj = values.astype("object").where(values.notna(), "")
    uniques = pd.unique(obj.to_numpy())
    table = {u: processing_of(u) for u in uniques}
    return obj.map(table).astype("str")
