"""The README's `spark-seis` session runs as written and prints the lines it shows.

The ```console block of "Using spark-seis" is executed command by command with the
installed `spark-seis` (a real Spark run included) in a temporary folder laid out like
the repository; each shown line must appear, in order, in what the command printed
(stdout, then stderr), ``...`` standing for any text (a whole ``...`` line: any lines).
"""
from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent / "spark-seis"


def readme_session() -> list[tuple[str, list[str]]]:
    """(command, shown output lines) of the console block of 'Using spark-seis'."""
    section = (ROOT / "README.md").read_text().split("## Using spark-seis", 1)[1]
    block = re.search(r"```console\n(.*?)```", section, re.S).group(1)
    session: list[tuple[str, list[str]]] = []
    for line in block.splitlines():
        if line.startswith("$ "):
            session.append((line[2:], []))
        elif session:
            session[-1][1].append(line)
    return session


def line_pattern(shown: str) -> re.Pattern:
    return re.compile(".*".join(re.escape(part) for part in shown.split("...")))


def assert_shown_lines_printed(command: str, shown: list[str], printed: list[str]) -> None:
    position = 0
    for expected in shown:
        if expected.strip() == "...":
            continue
        pattern = line_pattern(expected)
        for index in range(position, len(printed)):
            if pattern.fullmatch(printed[index]):
                position = index + 1
                break
        else:
            raise AssertionError(f"README shows for {command!r}:\n  {expected}\nnot printed "
                                 "(in this order); printed:\n  " + "\n  ".join(printed))


def expected_exit_code(shown: list[str]) -> int:
    text = "\n".join(shown)
    if "spark-seis: error:" in text:
        return 2
    return 3 if "nothing new to do" in text else 0


def test_readme_session_runs_and_prints_what_it_shows(tmp_path):
    (tmp_path / "tests").symlink_to(ROOT / "tests")  # '../tests/data/...' as in a checkout
    session = readme_session()
    assert [c.split()[:2] for c in (cmd for cmd, _ in session)][:3] == [
        ["spark-seis", "init"], ["cd", "myproject"], ["spark-seis", "ingest"]]
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable}
    env.pop("SPARK_SEIS_MONGO_URI", None)
    cwd = tmp_path
    for command, shown in session:
        argv = shlex.split(command)
        if argv[0] == "cd":
            cwd = cwd / argv[1]
            continue
        assert argv[0] == "spark-seis", command
        result = subprocess.run([str(BIN), *argv[1:]], cwd=cwd, env=env, capture_output=True,
                                text=True, timeout=600)
        printed = result.stdout.splitlines() + result.stderr.splitlines()
        assert result.returncode == expected_exit_code(shown), (command, result.stderr)
        assert_shown_lines_printed(command, shown, printed)
    assert (tmp_path / "myproject" / "work" / "figures" / "station_map.png").exists()


def test_the_matcher_rejects_a_line_that_was_not_printed():
    printed = ["files read: 3 mseed, 1 quakeml, 3 semd, 1 stationxml"]
    assert_shown_lines_printed("x", ["files read: ... semd, 1 stationxml"], printed)
    try:
        assert_shown_lines_printed("x", ["files read: 3 mseed, 1 quakeml, 1 semd, 1 stationxml"],
                                   printed)
    except AssertionError:
        return
    raise AssertionError("a stale README line was accepted")
