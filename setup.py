"""The compiled parts: the likelihood scorer's and the condition monitor's recursions
(edge/core/scorers/_likelihood_core.c, edge/core/_condition_core.c).

Optional: where no C compiler or Python headers are at hand (a gateway without python3-dev), the install goes
on without it and the scorer runs its Python reference, with the same results. Everything else is in
pyproject.toml. -ffp-contract=off keeps the compiler from fusing a multiply and an add into one rounding
(GCC does so by default on aarch64), so the C gives Python's results bit for bit.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "edge.core.scorers._likelihood_core",
            sources=["edge/core/scorers/_likelihood_core.c"],
            depends=["edge/core/_values.h"],
            extra_compile_args=["-O2", "-ffp-contract=off", "-fno-fast-math"],
            optional=True,
        ),
        Extension(
            "edge.core._condition_core",
            sources=["edge/core/_condition_core.c"],
            depends=["edge/core/_values.h"],
            extra_compile_args=["-O2", "-ffp-contract=off", "-fno-fast-math"],
            optional=True,
        ),
    ]
)
