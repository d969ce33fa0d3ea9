"""Blocking work runs on the process's worker pool; parameter groups are parsed in place."""

import asyncio
import inspect
import threading
from collections.abc import Iterator

import pytest

from titiler import concurrency
from titiler.dependencies import BandParams


@pytest.fixture
def one_worker_thread() -> Iterator[None]:
    """A pool of one thread, as a Lambda instance (one request at a time) only ever starts."""
    before = concurrency.worker_pool()._max_workers
    concurrency.configure_worker_threads(1)
    yield
    concurrency.configure_worker_threads(before)


def test_endpoints_run_on_the_same_pool_thread_across_event_loops(one_worker_thread: None) -> None:
    @concurrency.in_worker_thread
    def where() -> tuple[int | None, str]:
        return threading.get_ident(), threading.current_thread().name

    first = asyncio.run(where())
    second = asyncio.run(where())  # a new loop, as Mangum has per Lambda invocation

    assert first == second
    assert first[1].startswith("titiler-worker")
    assert first[0] != threading.get_ident()


def test_worker_threads_keep_one_rasterio_environment(one_worker_thread: None) -> None:
    """Each pool thread has a rasterio environment for its lifetime, so rasterio calls reuse
    it instead of building and tearing down GDAL's environment each time."""
    import rasterio.env

    @concurrency.in_worker_thread
    def environment() -> int | None:
        return id(rasterio.env.local._env) if rasterio.env.hasenv() else None

    first = asyncio.run(environment())
    assert first is not None
    assert asyncio.run(environment()) == first
    assert not rasterio.env.hasenv()  # the caller's thread is left alone


def test_errors_reach_the_caller() -> None:
    @concurrency.in_worker_thread
    def fail() -> None:
        raise KeyError("missing")

    with pytest.raises(KeyError, match="missing"):
        asyncio.run(fail())


def test_wrapped_endpoints_keep_their_signature() -> None:
    def endpoint(z: int, x: int, y: int = 0) -> int:
        return z + x + y

    wrapped = concurrency.in_worker_thread(endpoint)

    assert inspect.iscoroutinefunction(wrapped)
    assert inspect.signature(wrapped) == inspect.signature(endpoint)
    assert asyncio.run(wrapped(1, 2, y=3)) == 6


def test_parameter_groups_are_built_on_the_event_loop() -> None:
    build = concurrency.on_event_loop(BandParams)

    assert inspect.iscoroutinefunction(build)
    assert inspect.signature(build) == inspect.signature(BandParams)
    bands = asyncio.run(build(indexes=[1, 2]))
    assert isinstance(bands, BandParams) and bands.indexes == [1, 2]


def test_pool_size_is_configurable_and_must_be_positive() -> None:
    before = concurrency.worker_pool()._max_workers
    try:
        concurrency.configure_worker_threads(3)
        assert concurrency.worker_pool()._max_workers == 3
        with pytest.raises(ValueError, match="at least one thread"):
            concurrency.configure_worker_threads(0)
    finally:
        concurrency.configure_worker_threads(before)
    assert concurrency.worker_pool()._max_workers == before
