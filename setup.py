"""The compiled parts: the likelihood scorer's and the condition monitor's recursions
(edge/core/scorers/_likelihood_core.c, edge/core/_condition_core.c).

Optional: where no C compiler or Python headers are at hand (a gateway without python3-dev), the install goes
on without it and the scorer runs its Python reference, with the same results. Everything else is in
pyproject.toml. -ffp-contract=off keeps the compiler from fusing a multiply and an add into one rounding
(GCC does so by default on aarch64), so the C gives Python's results bit for bit.
"""

from setuptools import Extension, setup


def compiled(name: str, source: str) -> Extension:
    """One compiled part: optional, with the flags that keep its arithmetic Python's."""
    return Extension(
        name,
        sources=[source],
        depends=["edge/core/_values.h"],
        extra_compile_args=["-O2", "-ffp-contract=off", "-fno-fast-math"],
        optional=True,
    )


setup(
    ext_modules=[
        compiled("edge.core.scorers._likelihood_core", "edge/core/scorers/_likelihood_core.c"),
        compiled("edge.core._condition_core", "edge/core/_condition_core.c"),
    ]
)
