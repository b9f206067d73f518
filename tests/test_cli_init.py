"""`spark-seis init DIR`."""
from __future__ import annotations

import yaml

from spark_seis.cli.main import main
from spark_seis.workflow.job_config import JobConfig


def test_init_creates_a_commented_conf_that_loads(tmp_path, capsys):
    proj = tmp_path / "proj"
    assert main(["init", str(proj)]) == 0
    out = capsys.readouterr().out
    assert "spark-seis ingest" in out
    names = sorted(p.name for p in (proj / "conf").iterdir())
    assert names == ["database.yaml", "job.yaml", "misfit.yaml", "spark-defaults.conf"]
    text = (proj / "conf" / "job.yaml").read_text()
    assert text.startswith("# Created by 'spark-seis init'") and text.count("#") > 10
    assert isinstance(yaml.safe_load(text), dict)
    job = JobConfig.load(proj / "conf" / "job.yaml")
    assert job.work_dir == (proj / "work").resolve()
    assert (proj / "data").is_dir()


def test_init_refuses_to_overwrite_without_force(tmp_path, capsys):
    proj = tmp_path / "proj"
    main(["init", str(proj)])
    (proj / "conf" / "job.yaml").write_text("work_dir: mine\n")
    capsys.readouterr()
    assert main(["init", str(proj)]) == 2
    err = capsys.readouterr().err.strip()
    assert "--force" in err and "\n" not in err and "Traceback" not in err
    assert (proj / "conf" / "job.yaml").read_text() == "work_dir: mine\n"
    assert main(["init", str(proj), "--force"]) == 0
    assert "work_dir: work" in (proj / "conf" / "job.yaml").read_text()
