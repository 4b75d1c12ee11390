"""``fetch-data``: download the open real datasets the dashboard can use instead of the demo.

Every file comes from a GitHub repository at a PINNED commit (raw.githubusercontent
URLs built from repo + commit + path) and is checked against a pinned sha256, so
what the tool computes with is exactly what was reviewed. Downloads go to
``<name>.part``, resume with an HTTP Range request when a ``.part`` is already
there (and restart cleanly when the server ignores Range), are verified, then
renamed into place (``os.replace``). ``manifest.json`` records what was fetched.
Only the standard library speaks HTTP; licences and citations are in
docs/data-sources.md.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import logging
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from layers.errors import LayerError

log = logging.getLogger(__name__)

DATA_SUBDIR = "data"
MANIFEST_NAME = "manifest.json"
DEFAULT_BASE = "https://raw.githubusercontent.com/{repo}"
_CHUNK_BYTES = 256 * 1024
_USER_AGENT = "asm-risk fetch-data (+https://github.com/earthrise-media/mining-detector data, CC BY 4.0)"

NATURAL_EARTH_REPO = "martynafford/natural-earth-geojson"
NATURAL_EARTH_COMMIT = "0b9a6ceb0a7032713abd9460ac1e995a9c60cd1e"
AMW_REPO = "earthrise-media/mining-detector"
AMW_COMMIT = "bbbcb2d722c930626f322bec751a22e4acb22750"
AMW_PA_COMMIT = "00549d6138bb8fc95ee470176e895765ecc991c3"  # the HEAD copy of this file is a different, larger version

_NE_LICENCE = "public domain (Natural Earth); GeoJSON conversion CC0 1.0 (martynafford/natural-earth-geojson)"
_NE_CITE = "Made with Natural Earth. Free vector and raster map data @ naturalearthdata.com."
_AMW_LICENCE = "CC BY 4.0"
_AMW_CITE = "Earth Genome, Amazon Mining Watch (github.com/earthrise-media/mining-detector), CC BY 4.0"


class FetchError(LayerError):
    """A download failed or did not match its pinned checksum.

    ``unreachable`` is true when the server could not be reached at all (then the
    remaining files are not tried either).
    """

    def __init__(self, path: str | Path | None, problem: str, fix: str, *, unreachable: bool = False) -> None:
        super().__init__(path, problem, fix)
        self.unreachable = unreachable


@dataclass(frozen=True)
class RemoteFile:
    """One pinned file: where it lives upstream, what it must hash to, what it is for."""

    name: str  # key used in the manifest and in fetched_defaults()
    repo: str
    commit: str
    path: str  # path inside the repository
    sha256: str
    size: int  # bytes
    role: str  # what the dashboard may use it as
    licence: str
    citation: str

    @property
    def filename(self) -> str:
        return self.path.rsplit("/", 1)[-1]


DATASETS: tuple[RemoteFile, ...] = (
    RemoteFile(
        "ne_50m_admin_0_countries",
        NATURAL_EARTH_REPO,
        NATURAL_EARTH_COMMIT,
        "50m/cultural/ne_50m_admin_0_countries.json",
        "27cd8c4db795ace2bac42ec606376f13c9b08e38aff1b8e7af3582ea98d23aa8",
        4_680_858,
        "countries",
        _NE_LICENCE,
        _NE_CITE,
    ),
    RemoteFile(
        "ne_10m_reefs",
        NATURAL_EARTH_REPO,
        NATURAL_EARTH_COMMIT,
        "10m/physical/ne_10m_reefs.json",
        "7e0f89d9e6e45823d7bec31233148f4b41c37ad8eccdfecc3445b23618b6cce3",
        686_574,
        "reefs",
        _NE_LICENCE,
        _NE_CITE,
    ),
    RemoteFile(
        "amw_mining_2024",
        AMW_REPO,
        AMW_COMMIT,
        "data/outputs/website/mining_202400_simplified.geojson",
        "853210966f8f404444bfd3fb45abb6e678904259ba8ee24a7b9fec39d0794d31",
        2_263_548,
        "mining_polygons",
        _AMW_LICENCE,
        _AMW_CITE,
    ),
    RemoteFile(
        "amw_amazon_limit",
        AMW_REPO,
        AMW_COMMIT,
        "data/boundaries/Amazon_ACA.geojson",
        "899358d6675167ac41b31d87e7f383217a074e8847d57a0d440e2f7e8cf72597",
        3_603_398,
        "rainforest",
        _AMW_LICENCE,
        _AMW_CITE,
    ),
    RemoteFile(
        "amw_protected_areas_impacts",
        AMW_REPO,
        AMW_PA_COMMIT,
        "data/boundaries/protected_areas_and_indigenous_territories/out/protected_areas_impacts.geojson",
        "e299f72d26a0292bd5388b0973f88c06a47452f2ebc9fd71c16454cad56cc4aa",
        3_747_512,
        "protected_areas_impacts",
        _AMW_LICENCE,
        _AMW_CITE + "; boundaries standardised by Earth Genome from national government sources",
    ),
)


@dataclass
class FetchReport:
    """What one ``fetch_data`` run did."""

    data_dir: Path
    manifest: Path
    fetched: list[str] = field(default_factory=list)  # downloaded (fully or resumed) this run
    already_present: list[str] = field(default_factory=list)  # verified copy was there
    resumed: list[str] = field(default_factory=list)  # continued from a .part with HTTP Range
    bytes_downloaded: int = 0

    def summary(self) -> str:
        return (
            f"{len(self.fetched)} downloaded ({self.bytes_downloaded / 1e6:.1f} MB), "
            f"{len(self.already_present)} already present, in {self.data_dir}"
        )


def data_dir(cache_dir: Path) -> Path:
    """Where fetched files live: ``<cache_dir>/data``."""
    return Path(cache_dir) / DATA_SUBDIR


def url_for(item: RemoteFile, base_urls: Mapping[str, str] | None = None) -> str:
    """raw.githubusercontent-style URL ``<base>/<commit>/<path>``; ``base_urls`` maps repo -> base."""
    base = (base_urls or {}).get(item.repo, DEFAULT_BASE.format(repo=item.repo))
    return f"{base.rstrip('/')}/{item.commit}/{urllib.parse.quote(item.path)}"


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(4 * 1024 * 1024):
            h.update(chunk)
    return h.hexdigest()


def _read_manifest(path: Path) -> dict[str, Any]:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {"version": 1, "files": {}}
    except (OSError, ValueError):
        log.warning("fetch manifest %s is unreadable; starting a new one", path)
        return {"version": 1, "files": {}}
    if not isinstance(value, dict) or not isinstance(value.get("files"), dict):
        return {"version": 1, "files": {}}
    return value


def _write_manifest(path: Path, manifest: Mapping[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{uuid.uuid4().hex}")
    try:
        tmp.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _select(names: Iterable[str] | None) -> list[RemoteFile]:
    if names is None:
        return list(DATASETS)
    wanted = list(names)
    known = {d.name: d for d in DATASETS}
    unknown = [n for n in wanted if n not in known]
    if unknown:
        raise FetchError(None, f"unknown dataset(s) {unknown}", f"choose among {sorted(known)}")
    return [known[n] for n in wanted]


def fetch_data(
    cache_dir: Path,
    *,
    base_urls: Mapping[str, str] | None = None,
    progress: bool = True,
    names: Iterable[str] | None = None,
    timeout_s: float = 60.0,
) -> FetchReport:
    """Download the pinned open datasets into ``<cache_dir>/data/`` and verify them.

    ``base_urls`` maps a repository ("owner/name") to the URL its files are served
    under (default ``https://raw.githubusercontent.com/<repo>``), for mirrors and tests.
    ``names`` picks a subset of ``DATASETS`` by name. A progress bar is shown when
    ``progress`` is true and stderr is a terminal. Raises ``FetchError`` (a
    ``LayerError``) when a server cannot be reached (at once) or when a file fails
    (HTTP error, checksum mismatch: after trying the other files, which are kept).
    """
    out = data_dir(cache_dir)
    out.mkdir(parents=True, exist_ok=True)
    manifest_path = out / MANIFEST_NAME
    report = FetchReport(data_dir=out, manifest=manifest_path)
    show = progress and sys.stderr.isatty()
    failures: list[FetchError] = []
    for item in _select(names):
        dest = out / item.filename
        if dest.is_file():
            if dest.stat().st_size == item.size and _sha256_file(dest) == item.sha256:
                report.already_present.append(item.name)
                _record(manifest_path, item, base_urls, dest)
                continue
            log.warning("%s does not match its pinned sha256; downloading it again", dest)
            dest.unlink()
        url = url_for(item, base_urls)
        try:
            n_bytes, resumed = _download(url, item, dest, show=show, timeout_s=timeout_s)
        except FetchError as exc:
            if exc.unreachable:
                raise
            log.warning("%s", exc)
            failures.append(exc)
            continue
        report.fetched.append(item.name)
        report.bytes_downloaded += n_bytes
        if resumed:
            report.resumed.append(item.name)
        _record(manifest_path, item, base_urls, dest)
    if len(failures) == 1:
        raise failures[0]
    if failures:
        raise FetchError(
            None,
            f"{len(failures)} files failed ({report.summary()}): " + " | ".join(str(f) for f in failures),
            "see each message; run fetch-data again to retry the failed files",
        )
    return report


def _record(manifest_path: Path, item: RemoteFile, base_urls: Mapping[str, str] | None, dest: Path) -> None:
    manifest = _read_manifest(manifest_path)
    manifest["version"] = 1
    manifest["files"][item.name] = {
        "file": dest.name,
        "url": url_for(item, base_urls),
        "repo": item.repo,
        "commit": item.commit,
        "path": item.path,
        "sha256": item.sha256,
        "size": item.size,
        "role": item.role,
        "licence": item.licence,
        "citation": item.citation,
        "verified_unix_s": round(time.time(), 3),
    }
    _write_manifest(manifest_path, manifest)


def _download(url: str, item: RemoteFile, dest: Path, *, show: bool, timeout_s: float) -> tuple[int, bool]:
    """Fetch ``url`` into ``dest`` via ``dest.part``; returns (bytes transferred, resumed?)."""
    part = dest.with_name(dest.name + ".part")
    offset = part.stat().st_size if part.is_file() else 0
    if offset > item.size:  # cannot be a prefix of the right file
        part.unlink()
        offset = 0
    transferred = 0
    resumed = False
    if offset < item.size:
        transferred, resumed = _transfer(url, item, part, offset, show=show, timeout_s=timeout_s)
    have = part.stat().st_size
    if have < item.size:  # the connection ended early without an error: keep the .part to resume
        raise FetchError(
            url,
            f"download of {item.filename} stopped after {have} of {item.size} bytes",
            "run fetch-data again: it resumes from the partial file",
        )
    got = _sha256_file(part)
    if got != item.sha256:
        size = part.stat().st_size
        part.unlink(missing_ok=True)
        raise FetchError(
            url,
            f"downloaded {size} bytes with sha256 {got}, expected {item.size} bytes with sha256 {item.sha256}; "
            "the partial file was deleted",
            "run fetch-data again; if it fails the same way, the upstream file has changed - report it",
        )
    os.replace(part, dest)
    return transferred, resumed


def _transfer(url: str, item: RemoteFile, part: Path, offset: int, *, show: bool, timeout_s: float) -> tuple[int, bool]:
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        raise FetchError(url, "only http(s) URLs can be fetched", "give base URLs that start with https://")
    headers = {"User-Agent": _USER_AGENT}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    request = urllib.request.Request(url, headers=headers)
    try:
        response = urllib.request.urlopen(request, timeout=timeout_s)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and offset:  # our .part is not a prefix the server recognises: start over
            exc.close()
            part.unlink(missing_ok=True)
            return _transfer(url, item, part, 0, show=show, timeout_s=timeout_s)
        raise FetchError(
            url, f"the server answered HTTP {exc.code} {exc.reason}", "check the URL / mirror, or try again later"
        ) from exc
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise FetchError(
            url,
            f"cannot download {item.filename} ({reason})",
            "check the internet connection (or proxy) and run fetch-data again; partial downloads resume",
            unreachable=True,
        ) from exc
    with response:
        status = response.status
        resumed = False
        if offset and status == 206 and _content_range_start(response.headers.get("Content-Range")) == offset:
            mode, resumed = "ab", True
        else:
            if offset:
                log.info("%s: server ignored the Range request; downloading from the start", item.filename)
            mode, offset = "wb", 0
        transferred = 0
        bar = tqdm(total=item.size, initial=offset, unit="B", unit_scale=True, desc=item.filename, disable=not show)
        try:
            with part.open(mode) as fh:
                while chunk := response.read(_CHUNK_BYTES):
                    room = item.size - offset - transferred
                    if len(chunk) > room:  # never store more than the pinned size (the checksum will fail)
                        fh.write(chunk[: max(room, 0)] + b"\0")
                        transferred += len(chunk)
                        break
                    fh.write(chunk)
                    transferred += len(chunk)
                    bar.update(len(chunk))
        except (http.client.HTTPException, OSError) as exc:
            raise FetchError(
                url,
                f"download of {item.filename} was interrupted after {offset + transferred} bytes ({exc})",
                "run fetch-data again: it resumes from the partial file",
            ) from exc
        finally:
            bar.close()
    return transferred, resumed


def _content_range_start(value: str | None) -> int | None:
    """Start byte of a ``Content-Range: bytes START-END/TOTAL`` header."""
    if not value or not value.startswith("bytes "):
        return None
    try:
        return int(value[6:].split("-", 1)[0])
    except ValueError:
        return None


def fetched_defaults(cache_dir: Path, *, strict: bool = False) -> dict[str, Path]:
    """Role -> path of each fetched layer present and verified (by manifest checksum and size).

    Roles: ``countries`` (Natural Earth 1:50m admin-0), ``reefs`` (Natural Earth 1:10m
    reefs, lines), ``rainforest`` (Amazon limit polygon), ``mining_polygons`` (Amazon
    Mining Watch 2024 detections), ``protected_areas_impacts`` (the protected areas
    that overlap detected mining, Earth Genome's schema, not WDPA's).

    With ``strict=True`` a file the manifest records as fetched but which is now missing, of
    the wrong size or of another pinned version, or an unreadable manifest, raises
    ``FetchError`` saying what is wrong and how to repair it (the default scenario must not
    quietly fall back to the demo, or lose a layer, when the fetched data are damaged).
    """
    out = data_dir(cache_dir)
    manifest_path = out / MANIFEST_NAME
    if strict and manifest_path.exists():
        try:
            raw = json.loads(manifest_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise _damaged(out, f"its manifest {manifest_path.name} cannot be read ({exc})") from exc
        if not isinstance(raw, dict) or not isinstance(raw.get("files"), dict):
            raise _damaged(out, f"its manifest {manifest_path.name} has no 'files' table")
    manifest = _read_manifest(manifest_path)["files"]
    found: dict[str, Path] = {}
    problems: list[str] = []
    for item in DATASETS:
        entry = manifest.get(item.name)
        if entry is None:
            continue  # never fetched (fetch-data --only)
        path = out / item.filename
        if not isinstance(entry, dict) or entry.get("sha256") != item.sha256:
            problems.append(f"{item.filename} was fetched for another pinned version")
        elif not path.is_file():
            problems.append(f"{item.filename} is missing")
        elif path.stat().st_size != item.size:
            problems.append(f"{item.filename} has {path.stat().st_size:,} bytes, not {item.size:,}")
        else:
            found[item.role] = path
    if strict and problems:
        raise _damaged(out, "; ".join(problems))
    return found


def _damaged(folder: Path, problem: str) -> FetchError:
    return FetchError(
        folder,
        f"the data downloaded by fetch-data are damaged: {problem}",
        f"run 'python app.py fetch-data' again to repair them, or delete {folder} to use the built-in demo data",
    )
