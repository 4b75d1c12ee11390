"""Controlled vocabularies for site attributes, with multilingual synonyms.

Field teams write "Or et cassitérite", "ouro", "Utilisation du mercure: oui" or
"amalgamation du minerai entier, cornue"; this module maps such text to the values of
``geo.vocab.COMMODITIES``, ``MERCURY_USE``, ``AMALGAMATION``, ``RETORT`` and ``CYANIDATION``. Matching is on
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

from geo.vocab import (
    AMALGAMATION,
    COMMODITIES,
    CYANIDATION,
    LEGACY_PROCESSING_MAP,
    LEGACY_PROCESSING_NOTES,
    MERCURY_USE,
    RETORT,
)


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


# --- processing: amalgamation type, retort, cyanidation ---------------------------------------------
# One free-text description ("amalgamation du concentré + cornue, cyanuration des rejets") names up to
# three things; each is read on its own. Keywords are matched on folded text (words of <= 3 letters
# as whole words).
_WHOLE_ORE_WORDS = (
    "whole ore", "whole-ore", "whole_ore", "minerai entier", "minerai brut", "tout venant", "tout-venant",
    "minerio bruto", "minerio integral", "minerio todo", "todo el mineral", "mineral completo", "mineral entero",
    "mineral bruto",
)  # fmt: skip
_CONCENTRATE_WORDS = ("concentrate", "concentre", "concentrado", "concentrat")
_AMALGAM_WORDS = ("amalgam", "mercury", "mercure", "mercurio", "azogue")
_RETORT_WORDS = ("retort", "retorte", "retorta", "cornue", "retortas")
_OPEN_BURNING_WORDS = ("open burning", "brulage a l'air libre", "queima a ceu aberto", "quema a cielo abierto",
                       "without retort", "sans cornue", "sem retorta", "sin retorta")  # fmt: skip
_CYANIDE_WORDS = ("cyanid", "cyanur", "cianur", "cianet", "cyanide", "leach", "lixivia", "cil", "cip",
                  "carbon in pulp", "carbon in leach")  # fmt: skip
_GRAVITY_WORDS = (
    "gravity", "gravimetr", "gravitair", "gravitic", "gravitac", "gravimetric", "sluice", "panning", "batee",
    "battee", "bateia", "batea", "shaking table", "table a secousses", "mesa vibratoria", "mesa concentradora",
    "jig", "lavage", "washing", "canalon", "canaleta", "sluice box", "gravity_only", "direct smelting",
    "fonte directe", "borax",
)  # fmt: skip
_NO_MERCURY = re.compile(r"\b(?:sans|without|sem|sin|no)\s+(?:mercure|mercury|mercurio|amalgam\w*)\b")
_UNKNOWN_WORDS = ("unknown", "inconnu", "desconhecido", "desconocido")


def _mentions(text: str, needles: tuple[str, ...]) -> bool:
    words = set(re.findall(r"[a-z]+", text))
    return any((n in words) if len(n) <= 3 else (n in text) for n in needles)


def processing_components(text: object) -> tuple[str, str, str, str]:
    """(amalgamation, retort, cyanidation, note) read from a free-text processing description.

    A value of the asm-risk-model 1.x ``processing`` vocabulary is mapped through
    ``geo.vocab.LEGACY_PROCESSING_MAP`` (a retort was a method of its own then; it is an
    add-on now), with a note saying so. Anything not mentioned is ``unknown``.
    """
    folded = fold_text(text)
    if folded in LEGACY_PROCESSING_MAP:
        amalg, retort, cyan = LEGACY_PROCESSING_MAP[folded]
        return amalg, retort, cyan, LEGACY_PROCESSING_NOTES.get(folded, "")
    if not folded or _mentions(folded, _UNKNOWN_WORDS):
        return "unknown", "unknown", "unknown", ""
    no_mercury = bool(_NO_MERCURY.search(folded))
    text_ = _NO_MERCURY.sub(" gravity ", folded)
    retort = (
        "no" if _mentions(text_, _OPEN_BURNING_WORDS) else ("yes" if _mentions(text_, _RETORT_WORDS) else "unknown")
    )
    if _mentions(text_, _WHOLE_ORE_WORDS):
        amalg = "whole_ore"
    elif _mentions(text_, _CONCENTRATE_WORDS) and (_mentions(text_, _AMALGAM_WORDS) or retort == "yes"):
        amalg = "concentrate"
    elif _mentions(text_, _AMALGAM_WORDS) or retort != "unknown":
        amalg = "unknown"  # mercury is used (amalgam retorted or burnt), the type is not said
    elif no_mercury or _mentions(text_, _GRAVITY_WORDS) or _mentions(text_, _CYANIDE_WORDS):
        amalg = "none"
    else:
        return "unknown", "unknown", "unknown", ""
    cyan = "yes" if _mentions(text_, _CYANIDE_WORDS) else ("no" if amalg == "none" and not no_mercury else "unknown")
    if amalg == "none" and retort == "unknown":
        retort = "no"
    return amalg, retort, cyan, ""


def normalise_processing(values: pd.Series) -> pd.DataFrame:
    """Columns ``amalgamation``, ``retort``, ``cyanidation`` and ``notes`` from free processing text.

    English, French, Portuguese and Spanish descriptions, and the 1.x vocabulary
    (``whole_ore_amalgamation``, ``retort``, ...), are read; see :func:`processing_components`.
    """
    obj = values.astype("object").where(values.notna(), "")
    uniques = pd.unique(obj.to_numpy())
    table = {u: processing_components(u) for u in uniques}
    rows = obj.map(table)
    out = pd.DataFrame(
        rows.tolist() if len(rows) else [],
        index=values.index,
        columns=["amalgamation", "retort", "cyanidation", "notes"],
    )
    return out.astype("str")


_YES_NO_WORDS: Mapping[str, str] = MappingProxyType(
    {
        **dict.fromkeys(
            (
                "yes",
                "y",
                "oui",
                "o",
                "sim",
                "s",
                "si",
                "true",
                "t",
                "vrai",
                "1",
                "x",
                "used",
                "utilise",
                "utilisee",
                "usado",
                "usada",
            ),
            "yes",
        ),
        **dict.fromkeys(
            (
                "no",
                "n",
                "non",
                "nao",
                "false",
                "f",
                "faux",
                "falso",
                "0",
                "none",
                "aucun",
                "aucune",
                "not used",
                "non utilise",
                "nao usado",
                "no usado",
            ),
            "no",
        ),
    }
)


def _yes_no_of(value: object, positive: tuple[str, ...]) -> str:
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, int | float | np.integer | np.floating):
        return "unknown" if np.isnan(value) else ("yes" if value > 0 else "no")
    folded = fold_text(value).strip(" .!")
    if folded in _YES_NO_WORDS:
        return _YES_NO_WORDS[folded]
    if re.search(r"\b(?:sans|without|sem|sin|no|non|pas)\b", folded):
        return "no"
    return "yes" if _mentions(folded, positive) else "unknown"


def normalise_amalgamation(values: pd.Series) -> pd.Series:
    """``geo.vocab.AMALGAMATION`` values from an amalgamation column (type names, yes/no, free text)."""

    def one(v: object) -> str:
        folded = fold_text(v).replace("_", " ")
        if folded in ("whole ore", "concentrate", "none", "unknown"):
            return folded.replace(" ", "_")
        yn = _yes_no_of(v, ())
        if yn != "unknown":
            return "unknown" if yn == "yes" else "none"  # "yes": mercury amalgamation, type not said
        amalg = processing_components(v)[0]
        return amalg

    obj = values.astype("object")
    table = {u: one(u) for u in pd.unique(obj.to_numpy())}
    out = obj.map(table).fillna("unknown").astype("str")
    assert set(out.unique()) <= set(AMALGAMATION)
    return out


def normalise_retort(values: pd.Series) -> pd.Series:
    """``geo.vocab.RETORT`` values (yes / no / unknown) from a retort column."""
    obj = values.astype("object")
    table = {u: _yes_no_of(u, _RETORT_WORDS) for u in pd.unique(obj.to_numpy())}
    out = obj.map(table).fillna("unknown").astype("str")
    assert set(out.unique()) <= set(RETORT)
    return out


def normalise_cyanidation(values: pd.Series) -> pd.Series:
    """``geo.vocab.CYANIDATION`` values (yes / no / unknown) from a cyanidation column."""
    obj = values.astype("object")
    table = {u: _yes_no_of(u, _CYANIDE_WORDS) for u in pd.unique(obj.to_numpy())}
    out = obj.map(table).fillna("unknown").astype("str")
    assert set(out.unique()) <= set(CYANIDATION)
    return out


#: column names (normalised: lower case, no accents) under which a site file gives each practice
PRACTICE_COLUMN_NAMES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "mercury_use": (
            "mercury_use",
            "mercury",
            "mercure",
            "utilisation du mercure",
            "usage du mercure",
            "mercurio",
            "uso de mercurio",
            "uso do mercurio",
            "uso de mercúrio",
            "hg",
            "hg_use",
            "mercury_used",
        ),
        "processing": (
            "processing",
            "processing_method",
            "processing method",
            "traitement",
            "methode de traitement",
            "mode de traitement",
            "processamento",
            "beneficiamento",
            "metodo de processamento",
            "procesamiento",
            "metodo de procesamiento",
            "method",
            "technique",
            "extraction method",
        ),
        "amalgamation": (
            "amalgamation",
            "amalgamation_type",
            "amalgamation type",
            "type d'amalgamation",
            "amalgamacao",
            "amalgamacion",
            "tipo de amalgamacion",
        ),
        "retort": (
            "retort",
            "retort_use",
            "retort used",
            "cornue",
            "utilisation de cornue",
            "retorta",
            "uso de retorta",
        ),
        "cyanidation": (
            "cyanidation",
            "cyanide",
            "cyanide_use",
            "cyanuration",
            "cianuracion",
            "cianetacao",
            "lixiviation au cyanure",
        ),
    }
)


def site_practices(given: Mapping[str, pd.Series | None], index: pd.Index) -> tuple[pd.DataFrame, int]:
    """``mercury_use``, ``amalgamation``, ``retort``, ``cyanidation`` and ``notes`` per row, and the count of 1.x rows.

    ``given`` maps each key of :data:`PRACTICE_COLUMN_NAMES` to the file's column (or None).
    The free-text processing column gives all three practices; dedicated columns override it
    where they say something. Amalgamation or a retort means mercury is used, whatever an empty
    mercury cell says; ``mercury_use = yes`` with "no amalgamation" makes the type unknown
    (noted in the row).
    """
    unknown = pd.Series("unknown", index=index, dtype="str")
    merc = given.get("mercury_use")
    mercury = normalise_mercury(merc) if merc is not None else unknown
    proc = given.get("processing")
    if proc is not None:
        parts = normalise_processing(proc)
    else:
        parts = pd.DataFrame({"amalgamation": unknown, "retort": unknown, "cyanidation": unknown, "notes": ""})
    for col, normalise in (
        ("amalgamation", normalise_amalgamation),
        ("retort", normalise_retort),
        ("cyanidation", normalise_cyanidation),
    ):
        own = given.get(col)
        if own is not None:
            value = normalise(own)
            parts[col] = value.where(value != "unknown", parts[col])
    notes = parts["notes"].astype("str")
    n_legacy = int((notes != "").sum())
    clash = (mercury == "yes") & (parts["amalgamation"] == "none")
    parts.loc[clash, "amalgamation"] = "unknown"
    notes = notes.where(~clash, notes + "; mercury_use yes but no amalgamation: type read as unknown")
    implied = (mercury == "unknown") & (
        parts["amalgamation"].isin(["whole_ore", "concentrate"]) | (parts["retort"] == "yes")
    )
    out = pd.DataFrame(
        {
            "mercury_use": mercury.where(~implied, "yes"),
            "amalgamation": parts["amalgamation"],
            "retort": parts["retort"],
            "cyanidation": parts["cyanidation"],
            "notes": notes.str.strip("; "),
        },
        index=index,
    )
    return out.astype("str"), n_legacy
