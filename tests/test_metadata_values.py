"""A model whose metadata has the right checksums but values the runtime cannot score with is refused by name."""

from __future__ import annotations

import json
from typing import Any

import pytest

from edge.model.metadata import PREFIX, MetadataError, ModelMetadata


def edited(meta: ModelMetadata, **changes: Any) -> dict[str, str]:
    props = meta.to_props()
    for name, value in changes.items():
        props[PREFIX + name] = json.dumps(value)
    return props


def test_the_fixture_models_metadata_is_usable(fixture_model) -> None:
    meta = fixture_model.metadata
    assert meta.problem() == ""
    assert ModelMetadata.from_props(meta.to_props()) == meta


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"norm_std": [1.0]}, "norm_std has 1 values for 2 channels"),
        ({"norm_std": [1.0, 0.0]}, "norm_std must be finite and above 0"),
        ({"norm_mean": [1.0, float("nan")]}, "norm_mean must be finite"),
        ({"short_mean_sd": [0.1, 0.2, 0.3]}, "short_mean_sd has 3 values for 2 channels"),
        ({"short_mean_sd": [0.1, -0.2]}, "short_mean_sd must be finite and above 0"),
        ({"flat_run_samples": [3, -1]}, "flat_run_samples must be 2 counts of 0 or more"),
        ({"flat_run_samples": [3, 1.5]}, "flat_run_samples must be 2 counts"),
        ({"constant_channels": ["pressure"]}, "constant_channels"),
        ({"channels": []}, "channels must be a non-empty list"),
        ({"window": 0}, "window must be a whole number of 1 or more"),
        ({"warmup": -3}, "warmup and short_mean_window must be whole numbers"),
        ({"sample_period_s": 0}, "sample_period_s must be a number of seconds above 0"),
    ],
)
def test_unusable_values_are_refused_naming_the_field(fixture_model, changes: dict[str, Any], named: str) -> None:
    with pytest.raises(MetadataError, match=r"malformed: .*" + named.replace("(", r"\(")) as caught:
        ModelMetadata.from_props(edited(fixture_model.metadata, **changes))
    assert "export it again with edge-export" in str(caught.value)
