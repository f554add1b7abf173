"""layout.py: the sweep directory's names, documented once, and population paths."""

from pathlib import Path

import pytest

from jaxtune import layout

NAMES = {
    name: value for name, value in vars(layout).items() if name.isupper() and isinstance(value, str)
}


def test_every_name_is_distinct():
    assert len(set(NAMES.values())) == len(NAMES)


@pytest.mark.parametrize("name", sorted(NAMES))
def test_every_name_is_documented_in_the_module_docstring(name):
    assert NAMES[name] in layout.__doc__


def test_a_new_sweep_keeps_the_spec_and_rebuilds_its_data_cache_apart_from_its_results():
    # --overwrite deletes DATA_CACHE at claim time and EARLIER_SWEEP once the spec resolved:
    # the two must not overlap, and neither may hold the spec the new sweep is run from.
    assert set(layout.DATA_CACHE).isdisjoint(layout.EARLIER_SWEEP)
    assert layout.SPEC_FILE not in (*layout.DATA_CACHE, *layout.EARLIER_SWEEP)
    assert set(layout.DATA_CACHE) <= set(NAMES.values())
    assert set(layout.EARLIER_SWEEP) <= set(NAMES.values())


@pytest.mark.parametrize(
    "population, folder", [(0, "000"), (7, "007"), (123, "123"), (1234, "1234")]
)
def test_population_path_numbers_with_three_digits_at_least(tmp_path, population, folder):
    path = layout.population_path(str(tmp_path), layout.SNAPSHOTS_DIR, population)
    assert path == Path(tmp_path) / layout.SNAPSHOTS_DIR / f"population_{folder}"


def test_population_paths_sort_in_population_order_below_a_thousand(tmp_path):
    paths = [layout.population_path(tmp_path, layout.PARAMS_DIR, p) for p in (10, 2, 100, 0)]
    assert [int(p.name.removeprefix("population_")) for p in sorted(paths)] == [0, 2, 10, 100]
