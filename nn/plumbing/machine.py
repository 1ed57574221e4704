"""What this machine can spare: memory, asked of the operating system where it says."""

from __future__ import annotations

import os

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
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")


BLAS_BUFFER = 32 << 20  # what OpenBLAS reserves for each thread that multiplies matrices


def one_blas_thread_under_a_memory_limit() -> None:
    """Before NumPy loads: under an address-space limit (ulimit -v), OpenBLAS, as it starts,
    reserves memory for each thread it will use, and when that fails it ends the process with its
    own message. One thread, chosen before it starts, lets NumPy load within 120 MB; without a
    limit this does nothing. (nn/__init__.py calls it, so the entry scripts import nn first.)"""
    if "OPENBLAS_NUM_THREADS" not in os.environ and address_space_limit() is not None:
        os.environ["OPENBLAS_NUM_THREADS"] = "1"


def address_space_limit() -> int | None:
    """The soft address-space limit (ulimit -v) in bytes, or None when there is none."""
    try:
        import resource
    except ImportError:  # Windows
        return None
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    return None if soft == resource.RLIM_INFINITY else soft


def prepare_for_memory_limit() -> None:
    """Under an address-space limit (ulimit -v), OpenBLAS reserves BLAS_BUFFER for each thread the
    first time that thread multiplies matrices, and when the reservation fails it prints its own
    message and ends the process with status 1, whatever the program meant to do about it. So
    when there is a limit: BLAS gets one thread, and the buffers it will need (two: a CNN's two
    halves multiply at once) are reserved now, at the start, where a limit too tight for them is
    a MemoryError like any other. Without a limit, nothing changes."""
    if address_space_limit() is None:
        return
    import threading

    import numpy as np
    from threadpoolctl import threadpool_limits

    import numpy.random  # noqa: F401  (imported lazily otherwise: a failed mapping later is an ImportError)

    threadpool_limits(limits=1, user_api="blas")
    probe = np.empty(2 * BLAS_BUFFER, dtype=np.uint8)  # MemoryError here, not an exit in OpenBLAS
    del probe
    a = np.ones((64, 64), dtype=np.float32)
    start = threading.Barrier(2)

    def multiply() -> None:
        start.wait()
        for _ in range(20):  # long enough that the two overlap, each in a buffer of its own
            a @ a

    helper = threading.Thread(target=multiply)
    helper.start()
    multiply()
    helper.join()


def descriptors_free() -> int:
    """How many more files this process may open (ulimit -n), as far as the system says."""
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft == resource.RLIM_INFINITY:
            return 1 << 20
        return soft - len(os.listdir("/proc/self/fd"))
    except (ImportError, OSError, ValueError):  # Windows, or no /proc
        return 1 << 20
