"""Filters decide which objects move out of band."""

from __future__ import annotations

import pickle

import numpy as np
import polars as pl
import pytest
from pydantic import ValidationError

from tapstrace.data.filters import (
    AllFilter,
    NeverFilter,
    SizeFilter,
    SizeFilterConfig,
    TypeFilter,
    TypeFilterConfig,
)
from tapstrace.plugins import registry


class Box:
    """A user object without nbytes: sized by pickling in pickle mode."""

    def __init__(self, payload: bytes) -> None:
        self.payload = payload


def test_registered() -> None:
    assert {"size", "type", "all", "never"} <= set(registry.plugins("filter"))
    assert {"file", "proxystore"} <= set(registry.plugins("transformer"))


def test_size_filter_bounds_are_inclusive() -> None:
    f = SizeFilterConfig(min_bytes=1000, max_bytes=8000).build()
    assert not f(b"x" * 999)
    assert f(b"x" * 1000)
    assert f(np.zeros(1000))  # 8000 bytes
    assert not f(np.zeros(1001))
    assert f([b"x" * 500, b"y" * 500])  # containers count their items
    assert not f(3.0) and not f("short")


def test_size_filter_without_max_and_modes() -> None:
    assert SizeFilter(10)(np.zeros(10**6))
    box = Box(b"x" * 10_000)
    assert not SizeFilter(5000, mode="fast")(box)  # sys.getsizeof of the shell only
    assert SizeFilter(5000, mode="pickle")(box)


def test_size_filter_config_rejects_an_empty_range() -> None:
    with pytest.raises(ValidationError, match="below min_bytes"):
        SizeFilterConfig(min_bytes=10, max_bytes=5)
    with pytest.raises(ValidationError):
        SizeFilterConfig(min_bytes=-1)


def test_type_filter_glob_matches_qualified_and_bare_names() -> None:
    f = TypeFilterConfig(patterns=["numpy.*", "bytes", "*DataFrame"]).build()
    assert f(np.zeros(3))
    assert f(b"abc")
    assert f(pl.DataFrame({"a": [1]}))
    assert not f([1, 2]) and not f("bytes") and not f(bytearray(b"x"))
    assert not TypeFilter(["ndarray*x"])(np.zeros(1))


def test_type_filter_regex_searches() -> None:
    f = TypeFilterConfig(patterns=["nd.rr"], match="regex").build()
    assert f(np.zeros(1)) and not f(b"x")
    with pytest.raises(ValidationError, match="invalid regular expression"):
        TypeFilterConfig(patterns=["(unclosed"], match="regex")
    with pytest.raises(ValidationError):
        TypeFilterConfig(patterns=[])


def test_type_filter_caches_by_type_and_pickles() -> None:
    f = TypeFilter(["builtins.list"])
    assert f([1]) and f([]) and not f((1,))
    assert set(f._cache) == {list, tuple}
    again = pickle.loads(pickle.dumps(f))
    assert again([2]) and not again(b"x") and again.patterns == ("builtins.list",)
    sized = pickle.loads(pickle.dumps(SizeFilter(1, 2, "pickle")))
    assert (sized.min_bytes, sized.max_bytes, sized.mode) == (1, 2, "pickle")


def test_all_and_never() -> None:
    assert AllFilter()(1) and AllFilter()(None)
    assert not NeverFilter()(np.zeros(10**6))


def test_filters_do_not_fetch_lazy_proxies(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from proxystore.proxy import is_resolved

    from tapstrace.data.proxies import ProxyStoreTransformerConfig

    transformer = ProxyStoreTransformerConfig(connector="file", directory=tmp_path).build()
    try:
        proxy = transformer.transform(np.zeros(10_000)).proxy
        assert not TypeFilter(["numpy.*"])(proxy)  # the proxy's own type
        assert not SizeFilter(1000)(proxy)  # measured as the small proxy
        assert not is_resolved(proxy)
        assert float(np.sum(proxy)) == 0.0 and is_resolved(proxy)
    finally:
        transformer.close()
