"""A user's uploaded layers over the server's own: validated and loaded once, through the layer cache.

``load_uploaded_layer`` is the one parse of an upload: it goes through the same cached loader
(``scoring.pipeline.load_sites_cached`` / ``load_protected_areas_cached``) with the same
parameters that ``load_scenario`` uses for ``sources_with_uploads``, so building the workspace's
dataset afterwards reads the cache entry instead of parsing the file again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from layers import countries as countries_mod
from layers.schema import LoadResult
from layers.site_options import SiteOptions
from scoring.pipeline import LayerSources, demo_sites_path, load_protected_areas_cached, load_sites_cached

UPLOAD_KINDS: tuple[str, ...] = ("sites", "protected_areas")


def sources_with_uploads(
    settings,
    uploads: Mapping[str, Path],
    *,
    options: SiteOptions | None = None,
    names: Mapping[str, str] | None = None,
) -> LayerSources:
    """The server's layers with the uploaded ``sites`` / ``protected_areas`` files in their place.

    ``options`` are the analyst's columns and defaults for the uploaded sites; ``names`` the file
    names the user gave (messages and exports name the data by them). A demo server with only
    protected areas uploaded scores the demo sites against them.
    """
    unknown = set(uploads) - set(UPLOAD_KINDS)
    if unknown:
        raise ValueError(f"unknown upload kinds {sorted(unknown)}; one of {UPLOAD_KINDS}")
    base = LayerSources.from_settings(settings)
    sources = replace(base, **{kind: Path(path) for kind, path in uploads.items()})
    if "sites" in uploads:  # the server's own options are for the server's own sites file
        sources = replace(sources, sites_options=options or SiteOptions(), sites_layer=None, sites_crs=None)
    if names:
        sources = replace(sources, display_names=tuple(sorted((k, str(v)) for k, v in names.items())))
    if sources.sites is None:
        sources = replace(sources, sites=demo_sites_path(settings))
    return sources


def load_uploaded_layer(settings, kind: str, path: Path, options: SiteOptions | None = None) -> LoadResult:
    """Validate and load one uploaded file, seeding the layer cache with the result.

    ``options``: the analyst's columns and defaults (sites). The protected areas come back lazily
    (counts, rejected rows and warnings known; rows left in the cache entry), as the pipeline will use them.
    """
    if kind not in UPLOAD_KINDS:
        raise ValueError(f"unknown upload kind {kind!r}; one of {UPLOAD_KINDS}")
    sources = replace(LayerSources.from_settings(settings), **{kind: Path(path)})
    if kind == "sites":  # the same parameters as sources_with_uploads gives the pipeline: one cache entry
        sources = replace(sources, sites_options=options or SiteOptions(), sites_layer=None, sites_crs=None)
        return load_sites_cached(sources, settings, countries_mod.load_countries(sources.countries), None)
    return load_protected_areas_cached(sources, settings)
