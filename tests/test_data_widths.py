"""data/widths.py: a config's token width against the data's, and its clipped buckets."""

import pytest

from jaxtune.data.widths import clip_buckets, config_width


def test_a_config_without_max_length_reads_the_whole_width():
    assert config_width({}, 40) == 40
    assert config_width({"max_length": None}, 40) == 40


@pytest.mark.parametrize("max_length", [1, 7, 39, 40, 41, 1000])
def test_config_width_is_max_length_capped_at_the_data_width(max_length):
    width = config_width({"max_length": max_length}, 40)
    assert width == (max_length if max_length <= 40 else 40)


@pytest.mark.parametrize("width", [1, 3, 4, 5, 9, 10, 11])
def test_clipped_buckets_rise_to_the_width_and_keep_every_shorter_bucket(width):
    buckets = (4, 6, 10)
    clipped = clip_buckets(buckets, width)
    assert clipped[-1] == width
    assert list(clipped) == sorted(set(clipped))  # strictly increasing, no repeat of width
    assert set(clipped[:-1]) == {b for b in buckets if b < width}


def test_a_width_below_every_bucket_is_one_bucket():
    assert clip_buckets((8, 16), 5) == (5,)
    assert clip_buckets((), 5) == (5,)
