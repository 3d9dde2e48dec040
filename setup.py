"""Builds cfx's optional compiled core (Cython in C++ mode): cfx/core/_book.pyx
(an order CSV's replay), cfx/core/_orderbook.pyx (a scenario's book),
cfx/core/_columns.pyx, cfx/core/_schedule.pyx (a scenario's event
schedule), cfx/core/_agentctx.pyx (the agents' context, its C interface),
cfx/core/_common.pyx (what the compiled agents share),
cfx/core/_mmcore.pyx (the market maker's hot path),
cfx/core/_noisecore.pyx (the noise trader's), cfx/core/_valuecore.pyx
(the value trader's), cfx/core/_takercore.pyx (the momentum and
basis traders'), cfx/sim/_fanout.pyx (the scenario loop's dispatch
and routing of a command's events), cfx/sim/_context.pyx (the agents'
context), cfx/sim/_eventcols.pyx (the run writer's events and trades
table columns), cfx/clearing/_clearing.pyx (a command's events into
clearing), cfx/_engine.pyx (the engine's common command path: a
submit, a modify, a cancel) and cfx/_journal.pyx (the journal's record
writer).
Everything else is in pyproject.toml.

The extension is optional: with ``CFX_NO_EXTENSION=1``, without Cython, or
when compiling fails (no C++ compiler), the package installs without it and
cfx uses the pure-Python engine (`cfx.core.available()` is then False).
"""

import os
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext


class OptionalBuildExt(build_ext):
    """build_ext that warns instead of failing: the extension only speeds cfx up."""

    def run(self) -> None:
        try:
            super().run()
        except Exception as e:  # no compiler at all (distutils' platform errors)
            print(f"cfx: compiled core not built ({e}); the pure-Python engine will be used", file=sys.stderr)

    def build_extension(self, ext: Extension) -> None:
        try:
            super().build_extension(ext)
        except Exception as e:  # the compiler failed or is missing
            print(f"cfx: {ext.name} not built ({e}); the pure-Python engine will be used", file=sys.stderr)


def extensions() -> list:
    if os.environ.get("CFX_NO_EXTENSION"):
        return []
    try:
        from Cython.Build import cythonize
    except ImportError:
        print("cfx: Cython not found; the compiled core is not built", file=sys.stderr)
        return []
    flags = ["-O3", "-std=c++17"]
    return cythonize(
        [
            Extension("cfx.core._book", ["cfx/core/_book.pyx"], language="c++", extra_compile_args=flags),
            Extension("cfx.core._columns", ["cfx/core/_columns.pyx"], language="c++", extra_compile_args=flags),
            Extension("cfx.core._orderbook", ["cfx/core/_orderbook.pyx"], language="c++", extra_compile_args=flags),
            Extension("cfx.core._schedule", ["cfx/core/_schedule.pyx"], language="c++", extra_compile_args=flags),
            Extension("cfx.core._agentctx", ["cfx/core/_agentctx.pyx"], language="c++", extra_compile_args=flags),
            Extension("cfx.sim._fanout", ["cfx/sim/_fanout.pyx"], language="c++", extra_compile_args=flags),
            Extension("cfx.sim._context", ["cfx/sim/_context.pyx"], language="c++", extra_compile_args=flags),
            Extension("cfx.sim._eventcols", ["cfx/sim/_eventcols.pyx"], language="c++", extra_compile_args=flags),
            Extension(
                "cfx.clearing._clearing", ["cfx/clearing/_clearing.pyx"], language="c++", extra_compile_args=flags
            ),
            Extension("cfx._engine", ["cfx/_engine.pyx"], language="c++", extra_compile_args=flags),
            Extension("cfx._journal", ["cfx/_journal.pyx"], language="c++", extra_compile_args=flags),
            # the compiled agents' decisions (the maker's, the noise and value traders') must be the Python
            # reference's to the bit: no fused multiply-adds
            Extension(
                "cfx.core._common",
                ["cfx/core/_common.pyx"],
                language="c++",
                extra_compile_args=[*flags, "-ffp-contract=off"],
            ),
            Extension(
                "cfx.core._mmcore",
                ["cfx/core/_mmcore.pyx"],
                language="c++",
                extra_compile_args=[*flags, "-ffp-contract=off"],
            ),
            Extension(
                "cfx.core._noisecore",
                ["cfx/core/_noisecore.pyx"],
                language="c++",
                extra_compile_args=[*flags, "-ffp-contract=off"],
            ),
            Extension(
                "cfx.core._valuecore",
                ["cfx/core/_valuecore.pyx"],
                language="c++",
                extra_compile_args=[*flags, "-ffp-contract=off"],
            ),
            Extension(
                "cfx.core._takercore",
                ["cfx/core/_takercore.pyx"],
                language="c++",
                extra_compile_args=[*flags, "-ffp-contract=off"],
            ),
        ],
        language_level=3,
        quiet=True,
    )


setup(ext_modules=extensions(), cmdclass={"build_ext": OptionalBuildExt})
