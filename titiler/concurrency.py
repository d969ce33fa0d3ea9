"""Where blocking work runs: a pool of long-lived threads that keep GDAL and PROJ warm.

GDAL and PROJ keep per-thread state (PROJ's context with its open `proj.db`, GDAL's per-thread
error and configuration state) that costs about 8 ms to build on a thread's first read. FastAPI
runs `def` endpoints on AnyIO worker threads, which live only as long as the event loop's root
task. Under uvicorn that is the whole process, but Mangum runs each Lambda invocation as its own
root task: every invocation got a fresh thread and paid that cost again (measured with
`benchmarks/bench_floor.py`: 23 ms per tile through Mangum against 14.6 ms through ASGI).

Endpoints marked `@in_worker_thread` run on this module's pool instead, whose threads live as long
as the process, whatever adapter calls the app.
"""

import asyncio
import contextvars
import functools
import inspect
import threading
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")

#: Threads when `configure_worker_threads` is not called (AnyIO's default limit is 40).
DEFAULT_WORKER_THREADS = 32

_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None
_size = DEFAULT_WORKER_THREADS


def configure_worker_threads(size: int) -> None:
    """Set how many requests may do blocking work at once (threads start only when needed)."""
    global _pool, _size
    if size < 1:
        raise ValueError("the worker pool needs at least one thread")
    with _lock:
        if size == _size:
            return
        _size = size
        previous, _pool = _pool, None
    if previous is not None:
        previous.shutdown(wait=False)  # running work finishes; new work goes to the new pool


def worker_pool() -> ThreadPoolExecutor:
    """The process's pool, created on first use."""
    global _pool
    with _lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(
                max_workers=_size,
                thread_name_prefix="titiler-worker",
                initializer=_enter_thread_gdal_environment,
            )
        return _pool


def _enter_thread_gdal_environment() -> None:
    """Open a rasterio environment for the thread's lifetime.

    Without one, every `rasterio.open`, `shutil.copy` and warp call builds a GDAL environment
    and tears it down again (under the GIL: about 5% of the interpreter time of a JPEG tile
    under load, measured with `py-spy record --gil`). rasterio keeps its environment per
    thread: inside one, warp calls use it as it is and `open`/`copy` only layer a light nested
    environment on it. Options still come from the process environment (titiler.gdal), as
    they do without it.
    """
    import rasterio

    rasterio.Env().__enter__()


async def run_in_worker_thread(function: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    """Run `function` on the pool and await its result (context variables go along)."""
    context = contextvars.copy_context()
    call = functools.partial(context.run, function, *args, **kwargs)
    return await asyncio.get_running_loop().run_in_executor(worker_pool(), call)


def in_worker_thread(endpoint: Callable[P, R]) -> Callable[P, Coroutine[Any, Any, R]]:
    """Turn a blocking endpoint into a coroutine that runs it on the pool.

    FastAPI reads the parameters from the wrapped function (`functools.wraps` keeps
    `__wrapped__`), so the OpenAPI schema and dependency injection are unchanged.
    """

    @functools.wraps(endpoint)
    async def run(*args: P.args, **kwargs: P.kwargs) -> R:
        return await run_in_worker_thread(endpoint, *args, **kwargs)

    return run


def on_event_loop(factory: Callable[P, R]) -> Callable[P, Coroutine[Any, Any, R]]:
    """A dependency FastAPI awaits on the event loop instead of sending to a thread.

    FastAPI runs every `def` dependency and class on a worker thread, about 0.12 ms a hop, six
    hops for a tile. Parameter groups only parse strings, so they are cheaper to run in place.
    The signature is the factory's, so FastAPI reads the same parameters and documents them.
    """

    async def build(*args: P.args, **kwargs: P.kwargs) -> R:
        return factory(*args, **kwargs)

    build.__signature__ = inspect.signature(factory)  # type: ignore[attr-defined]
    build.__name__ = getattr(factory, "__name__", "dependency")
    build.__doc__ = factory.__doc__
    return build
