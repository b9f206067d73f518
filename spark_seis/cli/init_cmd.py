"""`spark-seis init DIR`: a project folder with a commented conf/ to edit."""
from __future__ import annotations

import shutil
from pathlib import Path

from .errors import UserError

REPO_CONF = Path(__file__).resolve().parents[2] / "conf"
CONF_FILES = ("job.yaml", "misfit.yaml", "database.yaml", "spark-defaults.conf")
HEADER = ("# Created by 'spark-seis init'. Edit to suit your project; every key is "
          "explained below.\n")

NEXT_STEPS = """\
Next steps:
  cd {dir}
  # 1. edit conf/misfit.yaml (periods, windows, adjoint source) and conf/job.yaml
  # 2. put QuakeML, StationXML and waveforms (MiniSEED, SAC, SPECFEM .semd, ASDF) under data/
  spark-seis ingest data/                  # -> database in work/
  spark-seis run conf/job.yaml             # misfit job on Spark
  spark-seis inspect                       # misfit tables
  spark-seis plot                          # figures in work/figures/"""


def init_project(directory: str | Path, force: bool = False,
                 conf_source: Path = REPO_CONF) -> list[Path]:
    """Create DIR/conf (copies of the repository's conf files), DIR/data, DIR/work."""
    target = Path(directory)
    conf = target / "conf"
    if conf.exists() and any(conf.iterdir()) and not force:
        raise UserError(f"{conf} already exists and is not empty",
                        "pass --force to overwrite its files, or choose another folder")
    sources = [conf_source / name for name in CONF_FILES if (conf_source / name).exists()]
    if not any(p.name == "job.yaml" for p in sources):
        raise UserError(f"template configuration not found in {conf_source}",
                        "run spark-seis from a full checkout of the repository")
    conf.mkdir(parents=True, exist_ok=True)
    (target / "data").mkdir(exist_ok=True)
    (target / "work").mkdir(exist_ok=True)
    written = []
    for src in sources:
        dst = conf / src.name
        if src.suffix == ".yaml":
            dst.write_text(HEADER + src.read_text())
        else:
            shutil.copyfile(src, dst)
        written.append(dst)
    return written


def run_init(args) -> int:
    written = init_project(args.directory, force=args.force)
    for path in written:
        print(f"wrote {path}")
    print(NEXT_STEPS.format(dir=args.directory))
    return 0
