"""What a user runs: the real `spark-seis` command in subprocesses, on a project made
by `spark-seis init` and filled by `spark-seis ingest` with the bundled NZ data.

Mistakes must stop before Spark starts, with one line naming the file, key or
setting and the fix; configuration files `init` creates are the ones read;
scheduled runs get a project lock, exit codes and a JSON summary.
"""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from spark_seis.cli import main as cli

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "tests" / "data" / "nz_2018p130600"
EVENT = "2018p130600"
BIN = Path(sys.executable).parent / "spark-seis"


def spark_seis(*args: str, cwd: Path, timeout: float = 300, **kwargs) -> subprocess.CompletedProcess:
    """Run the installed `spark-seis` command as a user would."""
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable}
    env.pop("SPARK_SEIS_MONGO_URI", None)
    return subprocess.run([str(BIN), *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout, **kwargs)


def one_error_line(result: subprocess.CompletedProcess) -> str:
    err = result.stderr.strip()
    assert err.startswith("spark-seis: error:"), err
    assert "\n" not in err and "Traceback" not in err, err
    return err


@pytest.fixture(scope="module")
def ingested(tmp_path_factory) -> Path:
    """A project as a user makes it: init, then ingest of the bundled event."""
    project = tmp_path_factory.mktemp("user") / "proj"
    assert cli.main(["init", str(project)]) == 0
    job = str(project / "conf" / "job.yaml")
    assert cli.main(["ingest", "-c", job, "--no-progress", str(DATA / "test_catalog_2018p130600.xml"),
                     str(DATA / "test_dataless_NZ_BFZ.xml"), str(DATA / "mseed")]) == 0
    assert cli.main(["ingest", "-c", job, "--no-progress", "--event", EVENT,
                     "--tag", "synthetic_i01s00", str(DATA / "synthetics_BFZ")]) == 0
    return project


@pytest.fixture()
def project(ingested, tmp_path) -> Path:
    """A private copy of the ingested project (tests edit its conf/)."""
    copy = tmp_path / "proj"
    shutil.copytree(ingested, copy)
    return copy


def assert_spark_not_started(result, project: Path) -> None:
    assert "starting Spark" not in result.stdout
    assert not (project / "work" / "logs" / "spark.log").exists()


# --- issue 15 item 1: an unknown event is an error, not "every event" -------------------
def test_unknown_event_on_the_command_line_names_it_and_the_closest(project):
    result = spark_seis("run", "--event", "2018p130601", cwd=project)
    assert result.returncode == 2
    err = one_error_line(result)
    assert "'2018p130601' is not in the database" in err and "closest known: 2018p130600" in err
    assert "--event" in err
    assert_spark_not_started(result, project)


def test_unknown_event_in_job_yaml_names_the_file(project):
    job = project / "conf" / "job.yaml"
    job.write_text(job.read_text().replace("events: []", "events: [2018p13060]"))
    result = spark_seis("run", cwd=project)
    assert result.returncode == 2
    err = one_error_line(result)
    assert f"events in {job}" in err and "'2018p13060'" in err and "2018p130600" in err
    assert_spark_not_started(result, project)


# --- item 2: the project's own database.yaml and spark-defaults.conf are read ------------
def test_mongo_uri_of_the_projects_database_yaml_is_used(project):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    db_yaml = project / "conf" / "database.yaml"
    db_yaml.write_text(db_yaml.read_text().replace(
        "mongo_uri: null",
        f"mongo_uri: mongodb://127.0.0.1:{port}/?serverSelectionTimeoutMS=300"))
    result = spark_seis("inspect", cwd=project)
    assert result.returncode == 2
    err = one_error_line(result)
    assert f"cannot reach the database at mongodb://127.0.0.1:{port}" in err


def test_misspelled_key_in_database_yaml_names_file_and_suggestion(project):
    db_yaml = project / "conf" / "database.yaml"
    db_yaml.write_text(db_yaml.read_text() + "storage_rot: elsewhere\n")
    result = spark_seis("inspect", cwd=project)
    assert result.returncode == 2
    err = one_error_line(result)
    assert str(db_yaml) in err and "did you mean 'storage_root'?" in err


def test_malformed_line_of_the_projects_spark_defaults_is_reported(project):
    conf = project / "conf" / "spark-defaults.conf"
    lines = conf.read_text().splitlines()
    lines.append("spark.driver.memory=4g")
    conf.write_text("\n".join(lines) + "\n")
    result = spark_seis("run", cwd=project)
    assert result.returncode == 2
    err = one_error_line(result)
    assert f"{conf}:{len(lines)}:" in err and "spark.driver.memory=4g" in err
    assert_spark_not_started(result, project)


# --- item 3: configuration errors name the right file, key and fix -----------------------
def test_misspelled_misfit_key_says_did_you_mean_and_names_misfit_yaml(project):
    misfit = project / "conf" / "misfit.yaml"
    misfit.write_text(misfit.read_text().replace("min_period:", "min_perod:"))
    result = spark_seis("run", cwd=project)
    assert result.returncode == 2
    err = one_error_line(result)
    assert "'min_perod'" in err and "did you mean 'min_period'?" in err
    assert f"edit {misfit}" in err and "job.yaml" not in err
    assert "max_period" not in err  # not the list of every known key


def test_yaml_syntax_error_is_file_line_column_in_one_line(project):
    misfit = project / "conf" / "misfit.yaml"
    lines = misfit.read_text().splitlines()
    lines.insert(10, "min_period: [10.0, 20]]")  # the stray ] is line 11, column 23
    misfit.write_text("\n".join(lines) + "\n")
    result = spark_seis("inspect", cwd=project)
    assert result.returncode == 2
    err = one_error_line(result)
    assert f"{misfit}:11:23: not valid YAML: expected <block end>, but found ']'" in err


def test_component_list_with_an_unknown_code_is_rejected_at_load(project):
    misfit = project / "conf" / "misfit.yaml"
    misfit.write_text(misfit.read_text().replace("component_list: [E, N, Z]",
                                                 "component_list: [X]"))
    result = spark_seis("run", cwd=project)
    assert result.returncode == 2
    err = one_error_line(result)
    assert "'component_list': 'X' is not a component code" in err and str(misfit) in err


def test_run_takes_config_as_option_like_every_subcommand(project, tmp_path):
    result = spark_seis("run", "--config", str(project / "conf" / "nope.yaml"), cwd=tmp_path)
    assert result.returncode == 2
    err = one_error_line(result)
    assert "nope.yaml does not exist" in err and "--config PATH" in err
    assert "unrecognized arguments" not in result.stderr
    result = spark_seis("run", "--config", str(project / "conf" / "job.yaml"),
                        "--event", "nope", cwd=tmp_path)
    assert result.returncode == 2 and "'nope' is not in the database" in result.stderr


# --- item 4: plot of an unknown station, ingest of nothing -------------------------------
def test_plot_of_an_unknown_station_says_so(project):
    result = spark_seis("plot", "--station", "NZ.BFX", "--no-progress", cwd=project)
    assert result.returncode == 2
    err = one_error_line(result)
    assert "--station NZ.BFX: no such station" in err and "closest known: NZ.BFZ" in err
    assert "run 'spark-seis run' first" not in err


def test_ingest_of_nothing_ingestible_fails_saying_nothing_ingested(project):
    junk = project / "junk"
    junk.mkdir()
    (junk / "notes.txt").write_text("not seismic data\n")
    result = spark_seis("ingest", "--no-progress", str(junk), cwd=project)
    assert result.returncode != 0
    err = one_error_line(result)
    assert "nothing ingested" in err
    assert "notes.txt" in result.stdout  # the skipped file and why are listed


# --- item 5: a rerun of the demo keeps the user's configuration --------------------------
def test_demo_keeps_an_edited_configuration(tmp_path, capsys):
    from spark_seis.cli.demo import prepare_project

    project = tmp_path / "demo_output"
    job = prepare_project(project)
    misfit = project / "conf" / "misfit.yaml"
    misfit.write_text(misfit.read_text().replace("min_period: 10.0", "min_period: 8.0"))
    assert prepare_project(project) == job
    assert "min_period: 8.0" in misfit.read_text()
    assert "using the existing configuration" in capsys.readouterr().out


# --- issue 16 item 13: bad settings stop before Spark, in one line -----------------------
@pytest.mark.parametrize("master, expected", [
    ("local[abc]", "--master 'local[abc]': not a Spark master URL"),
    ("foo://bar", "--master 'foo://bar': not a Spark master URL"),
])
def test_invalid_master_is_one_line_before_spark(project, master, expected):
    result = spark_seis("run", "--master", master, cwd=project)
    assert result.returncode == 2
    err = one_error_line(result)
    assert expected in err and "local[*]" in err
    assert_spark_not_started(result, project)


def test_unreachable_standalone_master_is_one_line_naming_it(project):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    job = project / "conf" / "job.yaml"
    job.write_text(job.read_text().replace("master: null", f"master: spark://127.0.0.1:{port}"))
    result = spark_seis("run", cwd=project, timeout=60)
    assert result.returncode == 2
    err = one_error_line(result)
    assert f"spark://127.0.0.1:{port}" in err and "spark.master in" in err
    assert_spark_not_started(result, project)


def test_master_of_the_projects_spark_defaults_is_used_and_checked(project):
    conf = project / "conf" / "spark-defaults.conf"
    conf.write_text(conf.read_text() + "spark.master                          local[x]\n")
    result = spark_seis("run", cwd=project)
    assert result.returncode == 2
    err = one_error_line(result)
    assert f"spark.master in {conf} 'local[x]': not a Spark master URL" in err
    assert_spark_not_started(result, project)


def test_spark_that_cannot_start_is_one_line_pointing_at_the_jvm_log(project):
    conf = project / "conf" / "spark-defaults.conf"
    conf.write_text(conf.read_text().replace("spark.driver.memory                   2g",
                                             "spark.driver.memory                   lots"))
    result = spark_seis("run", "--master", "local[1]", cwd=project)
    assert result.returncode == 2
    err = one_error_line(result)
    log = project / "work" / "logs" / "spark.log"
    assert "Spark did not start (local[1])" in err and str(log) in err
    assert "JAVA_GATEWAY_EXITED" in err or "gateway" in err.lower()
    assert log.read_text().strip()  # the JVM's own reason is kept there


def test_storage_root_that_is_a_file_is_refused_before_spark(project):
    (project / "work" / "not_a_folder").write_text("x")
    db_yaml = project / "conf" / "database.yaml"  # its settings are the ones used
    db_yaml.write_text(db_yaml.read_text().replace("storage_root: wf_data",
                                                   "storage_root: not_a_folder"))
    result = spark_seis("run", cwd=project)
    assert result.returncode == 2
    err = one_error_line(result)
    assert "storage_root" in err and "is a file, not a folder" in err
    assert_spark_not_started(result, project)


def test_unwritable_output_folder_is_refused_before_spark(project):
    if os.geteuid() == 0:
        (project / "work" / "blocked").write_text("a file where a folder must go")
        output = "blocked/output"
    else:
        (project / "work" / "ro").mkdir()
        (project / "work" / "ro").chmod(0o500)
        output = "ro/output"
    job = project / "conf" / "job.yaml"
    job.write_text(job.read_text().replace("output_dir: output", f"output_dir: {output}"))
    result = spark_seis("run", cwd=project)
    assert result.returncode == 2
    err = one_error_line(result)
    assert "output_dir" in err and "cannot write there" in err
    assert_spark_not_started(result, project)


def test_empty_database_is_reported_before_spark(tmp_path):
    assert cli.main(["init", str(tmp_path / "p")]) == 0
    (tmp_path / "p" / "work" / "mongo_store").mkdir(parents=True)
    result = spark_seis("run", cwd=tmp_path / "p")
    assert result.returncode == 2
    err = one_error_line(result)
    assert "is empty" in err and "spark-seis ingest" in err
    assert_spark_not_started(result, tmp_path / "p")


def test_no_stations_for_the_evaluation_is_reported_before_spark(project):
    job = project / "conf" / "job.yaml"
    job.write_text(job.read_text().replace("observed_tag: observed", "observed_tag: obs")
                   .replace("synthetic_tag: null", "synthetic_tag: synthetic_i09s09"))
    result = spark_seis("run", cwd=project)
    assert result.returncode == 2
    err = one_error_line(result)
    assert "no stations to process for i01s00" in err and "'synthetic_i09s09'" in err
    assert_spark_not_started(result, project)


# --- issue 14 item 2 / 15 items 6-7: a scheduled run, end to end --------------------------
def test_scheduled_runs_lock_exit_codes_summary_and_progress(project):
    """One real run (local[2]) with a project spark-defaults setting; a second run
    started meanwhile exits at once (4); a resumed run with nothing new exits 3
    before Spark; run_summary.json says what happened."""
    conf = project / "conf" / "spark-defaults.conf"
    conf.write_text(conf.read_text().replace("spark.driver.memory                   2g",
                                             "spark.driver.memory                   1g"))
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable}
    env.pop("SPARK_SEIS_MONGO_URI", None)
    first = subprocess.Popen([str(BIN), "run", "--master", "local[2]"], cwd=project, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        lock = project / "work" / ".spark-seis-run.lock"
        deadline = time.monotonic() + 120
        while not lock.exists() and first.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert lock.exists(), "the first run never took the project lock"
        second = spark_seis("run", "--master", "local[2]", cwd=project)
        out, err = first.communicate(timeout=600)
    finally:
        if first.poll() is None:
            first.kill()
    assert second.returncode == 4
    busy = one_error_line(second)
    assert "another 'spark-seis run' is running for this project" in busy
    assert f"pid {first.pid}" in busy
    assert "starting Spark" not in second.stdout

    assert first.returncode == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("spark-seis run:") and "checking database" in lines[0]
    assert lines[1] == "to do: 1 station(s) of 1 event(s)"
    assert lines[2].startswith("starting Spark (local[2])...")
    assert lines[3].startswith("Spark started in") and "local[2]" in lines[3]
    # the JVM's start-up warnings went to the log, not the terminal
    assert not [l for l in err.splitlines() if "WARN" in l or "log4j" in l or "WARNING" in l]
    assert (project / "work" / "logs" / "spark.log").exists()
    assert [l for l in err.splitlines() if l.startswith("[misfit]")]
    assert not lock.exists()  # released and removed
    assert not list((project / "work" / "output").glob(".*.lock"))  # nor per-event locks

    summary = json.loads((project / "work" / "output" / "run_summary.json").read_text())
    assert summary["status"] == "done" and summary["exit_code"] == 0
    assert (summary["stations"], summary["ok"], summary["events"]) == (1, 1, 1)
    assert summary["eval_tag"] == "i01s00"
    assert summary["spark"]["spark.driver.memory"] == "1g"  # the project's file was applied
    assert summary["spark"]["spark.master"] == "local[2]"

    again = spark_seis("run", "--resume", cwd=project)
    assert again.returncode == 3, again.stderr
    assert "nothing new to do for i01s00: all 1 station(s) already done" in again.stdout
    assert "starting Spark" not in again.stdout
    summary = json.loads((project / "work" / "output" / "run_summary.json").read_text())
    assert summary["status"] == "nothing_to_do" and summary["exit_code"] == 3


def test_losing_job_of_a_spark_task_lock_gets_one_line():
    """An OutputBusyError raised in a Spark task reaches the user as its own line."""
    from spark_seis.cli.main import _task_error

    text = ("An exception was thrown from the Python worker.\nTraceback (most recent call "
            "last):\n  File \"x.py\", line 1, in f\nspark_seis.engine.commit.OutputBusyError: "
            "/o/2018p130600.h5 is being written by another process; two jobs must not write "
            "the same event at once\n")
    assert _task_error(RuntimeError(text)) == (
        "/o/2018p130600.h5 is being written by another process; two jobs must not write "
        "the same event at once", 4)
    assert _task_error(RuntimeError("something else")) is None


# --- lazy imports: the command line answers at once ------------------------------------
def test_cli_entry_points_import_neither_spark_nor_obspy():
    code = ("import sys, spark_seis.cli.main, spark_seis.cli.run, spark_seis.cli.preflight, "
            "spark_seis.cli.common, spark_seis.workflow.job_config;"
            "print(sorted(m for m in ('pyspark', 'obspy', 'pyflex', 'matplotlib', 'pandas') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, check=True).stdout
    assert out.strip() == "[]"


def test_preflight_error_imports_neither_spark_nor_obspy(project):
    """`run` with a mistake answers from the database alone: no pyspark/obspy/pyflex import."""
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable}
    result = subprocess.run([sys.executable, "-X", "importtime", "-m", "spark_seis", "run",
                             "--event", "nope"], cwd=project, env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 2
    imported = {line.split("|")[-1].strip() for line in result.stderr.splitlines()
                if line.startswith("import time:")}
    assert "pyspark" not in imported and "obspy" not in imported and "pyflex" not in imported
    assert "spark_seis.db.client" in imported  # the check did read the database


def test_preflight_names_the_engines_stations_collection():
    from spark_seis.cli.preflight import STATIONS_COLLECTION
    from spark_seis.engine.output_docs import STATIONS

    assert STATIONS_COLLECTION == STATIONS


def test_inspector_imports_neither_obspy_nor_pyadjoint():
    """`inspect`/`plot` read stored misfits: the numerical stack (obspy, pyadjoint) is not
    loaded just to define Pyatoa's event misfit (it lives in processing.misfit_definitions)."""
    code = ("import sys, spark_seis.cli.inspect_cmd, spark_seis.workflow.inspector;"
            "print(sorted(m for m in ('pyspark', 'obspy', 'pyadjoint', 'pyflex') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, check=True).stdout
    assert out.strip() == "[]"
