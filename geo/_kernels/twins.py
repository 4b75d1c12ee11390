"""How the kernels are built: cached on disk, and as serial/parallel twins.

Every numba function of this package is built by :func:`jit` or :func:`twins`, never by a bare
``numba.njit``:

* **Twins.** A kernel with a ``prange`` loop is built twice from the same source: a serial
  build (``prange`` acts as ``range``), which compiles quickly and serves tests and small
  inputs, and a parallel build (numba threads), compiled only the first time a large input
  needs it. :class:`Twins` picks one by the size of the work, against :data:`PARALLEL_MIN`.
* **Cache names carry a fingerprint.** numba's on-disk cache is checked against the source file
  of the function it compiled, not the files of the helpers that function calls (numba's
  "cache invalidation" limitation). The kernels call helpers in sibling modules and compile
  ``geo.crs``'s formulas, so each kernel is cached under its name plus :data:`FINGERPRINT`, a
  hash of all those sources: after an edit of any of them every kernel compiles afresh instead
  of loading a stale build (old entries stay behind in ``__pycache__``, unused).
"""

from __future__ import annotations

import hashlib
import os
import types
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numba
from numba import njit

__all__ = ["FINGERPRINT", "PARALLEL_MIN", "Twins", "chunked", "jit", "source_fingerprint", "twins"]

#: work units (candidate pairs, scaled per kernel) from which the parallel twin is used; read at
#: call time, so a benchmark can lower it to build and time the parallel twins on a small input
PARALLEL_MIN = 100_000


def source_fingerprint(paths: Iterable[Path]) -> str:
    """A short hash of the names and contents of ``paths`` (an unreadable file counts as empty)."""
    h = hashlib.sha256()
    for p in paths:
        h.update(p.name.encode() + b"\0")
        try:
            h.update(p.read_bytes())
        except OSError:
            h.update(b"\0")
    return h.hexdigest()[:12]


#: the sources compiled into the kernels: this package and ``geo.crs``
KERNEL_SOURCES = (*sorted(Path(__file__).parent.glob("*.py")), Path(__file__).parents[1] / "crs.py")
FINGERPRINT = source_fingerprint(KERNEL_SOURCES)


def _renamed(func: types.FunctionType, name: str) -> types.FunctionType:
    """A copy of ``func`` under another name (numba names its cache files after ``__qualname__``)."""
    out = types.FunctionType(func.__code__, func.__globals__, name, func.__defaults__, func.__closure__)
    out.__qualname__ = name
    out.__doc__ = func.__doc__
    return out


def jit(func: types.FunctionType) -> Callable:
    """``numba.njit(cache=True)`` of ``func``, cached under a name that carries :data:`FINGERPRINT`."""
    return njit(cache=True)(_renamed(func, f"{func.__name__}__{FINGERPRINT}"))


@dataclass(frozen=True)
class Twins:
    """The serial and the parallel build of one kernel.

    ``scale`` (numerator, denominator) converts the kernel's work unit into pairs: the parallel
    build runs from ``PARALLEL_MIN * num // den`` units of work.
    """

    serial: Callable
    parallel: Callable
    scale: tuple[int, int] = (1, 1)

    def for_work(self, n: int) -> Callable:
        """The build to run for ``n`` units of work (always the serial one in a process forked after a
        parallel build ran, see :func:`_forked`)."""
        num, den = self.scale
        if n < PARALLEL_MIN * num // den or _THREADS["forked"]:
            return self.serial
        _THREADS["used"] = True
        return self.parallel


#: whether this process has run a parallel build, and whether it was forked from one that had
_THREADS = {"used": False, "forked": False}


def _forked() -> None:
    """In a child forked after a parallel build ran (gunicorn's workers of a preloaded app, a fork-started
    process pool): GNU OpenMP, numba's threading layer here, cannot start threads again in such a child
    and terminates it ("fork() called from a process already using GNU OpenMP, this is unsafe"), so the
    child runs the serial builds, whose results are the same."""
    if _THREADS["used"]:
        _THREADS["forked"] = True


os.register_at_fork(after_in_child=_forked)


def twins(scale: tuple[int, int] = (1, 1), **options: object) -> Callable[[types.FunctionType], Twins]:
    """Decorator: build ``func`` as :class:`Twins` (serial and ``parallel=True``), both cached.

    ``options`` go to both ``numba.njit`` calls (e.g. ``error_model="numpy"``).
    """

    def build(func: types.FunctionType) -> Twins:
        serial = njit(cache=True, **options)(_renamed(func, f"{func.__name__}__{FINGERPRINT}"))
        parallel = njit(cache=True, parallel=True, **options)(
            _renamed(func, f"{func.__name__}_parallel__{FINGERPRINT}")
        )
        return Twins(serial, parallel, scale)

    return build


@contextmanager
def chunked(size: int) -> Iterator[None]:
    """Within the block, the parallel builds' ``prange`` loops hand out ``size`` iterations at a
    time to whichever thread is free (``numba.set_parallel_chunksize``), instead of one equal share
    per thread: for loops whose iterations cost very different amounts. Results do not depend on it."""
    previous = numba.set_parallel_chunksize(size)
    try:
        yield
    finally:
        numba.set_parallel_chunksize(previous)
