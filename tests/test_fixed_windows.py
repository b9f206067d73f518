"""Which stored evaluation a fixed-window run re-uses, and how the mode is configured."""
from __future__ import annotations

import pytest

from spark_seis.engine.fixed_windows import parse_mode, source_evaluation
from spark_seis.processing.config import ConfigError
from spark_seis.workflow.job_config import JobConfig

STORED = [(1, 0), (1, 1), (1, 2), (2, 0)]


@pytest.mark.parametrize("mode,current,expected", [
    (False, (1, 1), None),
    (True, (1, 1), (1, 0)),
    (True, (2, 0), (1, 2)),       # previous evaluation, across iterations
    ("ITER", (2, 0), None),       # a new iteration picks anew
    ("ITER", (2, 1), (2, 0)),
    ("ITER", (1, 2), (1, 1)),
    ("ONCE", (2, 1), (1, 0)),
    (True, (1, 0), None),         # nothing stored before the first evaluation
])
def test_source_evaluation(mode, current, expected):
    assert source_evaluation(STORED, current, mode) == expected


def test_mode_parsing_and_job_config_validation(tmp_path):
    assert parse_mode("iter") == "ITER" and parse_mode("true") is True and parse_mode(False) is False
    with pytest.raises(ConfigError, match="--fix-windows"):
        parse_mode("sometimes", "--fix-windows")
    raw = {"work_dir": str(tmp_path), "misfit": {}, "fix_windows": "once"}
    assert JobConfig.from_dict(raw, base=tmp_path).fix_windows == "ONCE"
    with pytest.raises(ConfigError, match="'fix_windows'"):
        JobConfig.from_dict({**raw, "fix_windows": 3}, base=tmp_path)
