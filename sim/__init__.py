"""Agent-based simulation of international rule-making competition in AI governance."""

import os as _os
import platform as _platform


def _pin_blas_kernel() -> None:
    """Byte-identical results across machines: OpenBLAS picks its matrix kernels by CPU, and
    its AVX-512 (SkylakeX) kernels round differently from the AVX2 (Haswell) ones, so the same
    scenario and seed gave different last bits on an AVX-512 machine. On x86-64 CPUs with AVX2
    the Haswell kernels are used everywhere (set before numpy loads; an explicit
    OPENBLAS_CORETYPE wins). Other CPUs (ARM) keep their own kernels: docs/reliability.md."""
    if _platform.machine().lower() not in ("x86_64", "amd64"):
        return
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as fh:
            flags = next((line for line in fh if line.startswith("flags")), "")
    except OSError:
        return
    if " avx2" in flags and " fma" in flags and _os.environ.get("OPENBLAS_CORETYPE", "Haswell") == "Haswell":
        global BLAS_KERNEL
        BLAS_KERNEL = "haswell"
        _os.environ["OPENBLAS_CORETYPE"] = "Haswell"


BLAS_KERNEL: str | None = None  # the OpenBLAS kernel runs must use (checked in sweep workers)
_pin_blas_kernel()

__version__ = "0.1.0"
