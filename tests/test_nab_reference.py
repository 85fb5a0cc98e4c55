"""NAB's scorer as written in bench/nab_scoring.py gives NAB's own per-file scores for the published HTM results.

The fixture (tools/make_nab_reference_fixture.py) holds the 18 development files' HTM scores at or above
the published thresholds, their windows and NAB's expected raw score per file and profile.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from nab_scoring import PROFILES, ScoredFile, corpus_scores, normalised, optimise_threshold

FIXTURE = json.loads((Path(__file__).parent / "fixtures" / "nab_reference.json").read_text())


def htm_files() -> list[ScoredFile]:
    files = []
    for name, f in FIXTURE["files"].items():
        scores = [0.0] * f["rows"]
        for row, score in f["high_scores"]:
            scores[row] = score
        files.append(ScoredFile(name, scores, [tuple(w) for w in f["windows"]], f["probation"]))
    return files


@pytest.mark.parametrize("profile", PROFILES, ids=lambda p: p.name)
def test_each_file_scores_as_nab_scored_it(profile) -> None:
    expected = FIXTURE["profiles"][profile.name]
    assert expected["cost_matrix"]["fpWeight"] == profile.fp and expected["cost_matrix"]["fnWeight"] == profile.fn
    files = htm_files()
    scores = corpus_scores(files, expected["threshold"], profile)
    for f, got in zip(files, scores):
        assert got.score == pytest.approx(expected["score"][f.name], abs=1e-6), f.name
        assert got.null_score == expected["null_per_file"][f.name]
    assert normalised(scores) == pytest.approx(expected["normalised_18_files"], abs=5e-5)


def test_the_optimiser_finds_a_threshold_at_least_as_good_and_scores_it_exactly() -> None:
    files = htm_files()
    published = FIXTURE["profiles"]["standard"]
    threshold, best = optimise_threshold(files)
    assert best >= published["normalised_18_files"] - 1e-9
    assert normalised(corpus_scores(files, threshold)) == pytest.approx(best, abs=1e-9)
