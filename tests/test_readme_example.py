"""The README's one-station example runs as written and gives the documented result."""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_readme_manager_example(tmp_path, monkeypatch, capsys):
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## One station in Python", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    code = code.replace('d = "tests/data/', f'd = "{ROOT}/tests/data/')
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "README.md", "exec"), {})
    nwin, misfit = capsys.readouterr().out.split()[-2:]
    assert int(nwin) == 3 and abs(float(misfit) - 2.1653) < 1e-3
    assert (tmp_path / "2018p130600.h5").stat().st_size > 0
    assert (tmp_path / "NZ_BFZ.png").read_bytes()[:4] == b"\x89PNG"


def test_pyatoa_style_top_level_names_are_lazy():
    import subprocess
    import sys

    code = ("import sys, spark_seis; assert 'spark_seis.workflow.manager' not in sys.modules; "
            "from spark_seis import Config, Manager; print(Config().eval_tag, Manager.__name__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["default", "Manager"]
