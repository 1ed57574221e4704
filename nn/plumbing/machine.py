"""What this machine can spare: memory, asked of the operating system where it says."""

from __future__ import annotations

import os

from threadpoolctl import threadpool_limits

FALLBACK_MEMORY = 8 << 30  # where the system does not say how much memory it has


def physical_memory() -> int:
    """Bytes of RAM (FALLBACK_MEMORY where the system does not say)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):  # Windows has no sysconf
        return FALLBACK_MEMORY


def memory_budget() -> int:
    """What one training run may use for its working arrays: half of the RAM."""
    return physical_memory() // 2


def blas_for_small_products() -> None:
    """One BLAS thread from now on, for a process that multiplies small matrices (one drawing at a
    time: the window, the page's server): splitting a CNN's 196x400 by 400x32 product over two
    threads costs more than it saves, and on a busy machine a drawing then waited 3 ms for the
    second thread instead of 0.8 ms for one (median, measured with a training run beside it)."""
    threadpool_limits(limits=1, user_api="blas")


def descriptors_free() -> int:
    """How many more files this process may open (ulimit -n), as far as the system says."""
    try:
        import resource  # POSIX's alone: elsewhere, the ImportError below

        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft == resource.RLIM_INFINITY:
            return 1 << 20
        return soft - len(os.listdir("/proc/self/fd"))
    except (ImportError, OSError, ValueError):  # Windows, or no /proc
        return 1 << 20
