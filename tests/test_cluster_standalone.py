"""The misfit job on a real Spark standalone cluster (master + 2 workers, 127.0.0.1).

The daemons are started with PySpark's own ``bin/spark-class`` as separate
processes (their own process groups) on free ports, jobs/misfit.py is submitted
with ``spark-submit --master spark://...``, and its outputs are compared with a
``local[2]`` run (the shared session) on an identical copy of the database.
Then one worker (with its executor and Python workers) is killed by pid while
it runs a task: the job must still finish on the other worker, exactly once.
"""
from __future__ import annotations

import contextlib
import ctypes
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np
import pyspark
import pytest
import yaml

from engine_support import build_database
from spark_seis.cli.run import SUMMARY_NAME
from spark_seis.engine.cluster import (
    MasterUnreachableError, check_master_reachable, master_endpoints,
)
from spark_seis.engine.misfit_job import run_misfit_job
from spark_seis.workflow.job_config import JobConfig

ROOT = Path(__file__).resolve().parents[1]
SPARK_HOME = Path(pyspark.__file__).resolve().parent
N_GENERATED = 5  # + NZ.BFZ: 6 stations, 36 traces
OUTPUTS = ("misfit_station", "misfit", "misfit_windows", "elog")
STARTUP_BOUND = 180.0  # seconds; guards against a hang, not a performance claim


# --- the cluster -----------------------------------------------------------------
def free_ports(n: int) -> list[int]:
    """n distinct free TCP ports on 127.0.0.1 (held together so they differ)."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(ppid, []).append(int(entry.name))
    return tree


def descendants(pid: int) -> list[int]:
    tree, out, todo = _children(), [], [pid]
    while todo:
        for child in tree.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def kill_tree(pid: int) -> None:
    """SIGKILL a daemon, its executor JVMs and their Python workers (own process groups)."""
    groups = set()
    for p in [pid, *descendants(pid)]:
        with contextlib.suppress(ProcessLookupError):
            groups.add(os.getpgid(p))
    for group in groups:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(group, signal.SIGKILL)


@dataclass
class Daemon:
    name: str
    proc: subprocess.Popen
    log: Path
    webui: int
    work_dir: Path | None = None


@dataclass
class Cluster:
    url: str
    webui: int
    env: dict
    master: Daemon
    workers: list[Daemon] = field(default_factory=list)

    def state(self) -> dict:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.webui}/json/", timeout=5) as r:
            return json.load(r)

    def logs(self) -> str:
        return "\n".join(f"--- {d.name} ---\n{d.log.read_text()[-3000:]}"
                         for d in (self.master, *self.workers) if d.log.exists())


def _wait(what: str, predicate, cluster: Cluster | None = None, bound: float = STARTUP_BOUND):
    end = time.monotonic() + bound
    while time.monotonic() < end:
        with contextlib.suppress(OSError, ValueError):
            if predicate():
                return
        time.sleep(0.5)
    raise AssertionError(f"{what}: not within {bound} s\n{cluster.logs() if cluster else ''}")


def _spark_env(conf_dir: Path) -> dict:
    env = {**os.environ, "SPARK_HOME": str(SPARK_HOME), "SPARK_LOCAL_IP": "127.0.0.1",
           "SPARK_MASTER_HOST": "127.0.0.1", "SPARK_CONF_DIR": str(conf_dir),
           "SPARK_DAEMON_MEMORY": "256m", "PYSPARK_PYTHON": sys.executable,
           "PYSPARK_DRIVER_PYTHON": sys.executable, "PYTHONPATH": str(ROOT)}
    env.pop("PYSPARK_GATEWAY_PORT", None)
    env.pop("PYSPARK_GATEWAY_SECRET", None)
    return env


def _die_with_parent() -> None:
    """In the child: SIGKILL when the test process dies, even without its teardown."""
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def _start(name: str, args: list[str], env: dict, log: Path, webui: int,
           work_dir: Path | None = None) -> Daemon:
    with open(log, "wb") as out:
        proc = subprocess.Popen([str(SPARK_HOME / "bin" / "spark-class"), *args], env=env,
                                stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True,  # own process group: killable as one
                                preexec_fn=_die_with_parent)
    return Daemon(name, proc, log, webui, work_dir)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    base = tmp_path_factory.mktemp("standalone")
    conf_dir = base / "conf"
    conf_dir.mkdir()
    # no REST submission server (it would take the fixed port 6066)
    props = conf_dir / "spark-defaults.conf"
    props.write_text("spark.master.rest.enabled false\n")
    env = _spark_env(conf_dir)
    port, webui, *worker_ui = free_ports(4)
    cl = Cluster(f"spark://127.0.0.1:{port}", webui, env, None)  # type: ignore[arg-type]
    try:
        cl.master = _start("master", [
            "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1",
            "--port", str(port), "--webui-port", str(webui), "--properties-file", str(props)],
            env, base / "master.log", webui)
        _wait("master up", lambda: cl.state()["status"] == "ALIVE", cl)
        for k, ui in enumerate(worker_ui):
            work = base / f"worker{k}"
            work.mkdir()
            cl.workers.append(_start(f"worker{k}", [
                "org.apache.spark.deploy.worker.Worker", cl.url, "--host", "127.0.0.1",
                "--cores", "1", "--memory", "1g", "--work-dir", str(work),
                "--webui-port", str(ui), "--properties-file", str(props)],
                env, base / f"worker{k}.log", ui, work))
        _wait("two workers registered", lambda: cl.state()["aliveworkers"] == 2, cl)
        yield cl
    finally:
        for daemon in [*cl.workers, *([cl.master] if cl.master else [])]:
            kill_tree(daemon.proc.pid)
            daemon.proc.wait(30)


# --- the job -----------------------------------------------------------------------
def _job_yaml(work: Path) -> Path:
    raw = {"work_dir": str(work), "database": {}, "iteration": 1, "step_count": 0,
           "misfit": {"event_id": None, "min_period": 10.0, "max_period": 100.0},
           "specfem_adjoint_sources": True, "spark": {"master": "local[2]"}}
    path = work.parent / f"{work.name}.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def submit(cl: Cluster, job_yaml: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [str(Path(sys.executable).with_name("spark-submit")), "--master", cl.url,
         "--driver-memory", "768m", "--executor-memory", "768m",
         "--conf", "spark.driver.host=127.0.0.1", "--conf", "spark.driver.bindAddress=127.0.0.1",
         "--conf", f"spark.pyspark.python={sys.executable}",
         "--conf", "spark.ui.enabled=false", *extra,
         str(ROOT / "jobs" / "misfit.py"), str(job_yaml), "--quiet"],
        env=cl.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=_die_with_parent)


def _finish(proc: subprocess.Popen, cl: Cluster) -> tuple[str, str]:
    try:
        out, err = proc.communicate(timeout=300)
    except subprocess.TimeoutExpired:
        kill_tree(proc.pid)
        out, err = proc.communicate()
        raise AssertionError(f"spark-submit hung\n{err[-4000:]}\n{cl.logs()}")
    assert proc.returncode == 0, f"{err[-4000:]}\n{cl.logs()}"
    return out, err


def _documents(work: Path) -> dict[str, list[dict]]:
    from spark_seis.db.client import get_database

    db = get_database(JobConfig.load(_job_yaml(work)).database_config())
    out = {}
    for name in OUTPUTS:
        docs = sorted((dict(d) for d in db.db[name].find({})), key=lambda d: str(d["_id"]))
        out[name] = [{k: v for k, v in d.items() if k not in ("timings", "asdf_file")}
                     for d in docs]
    db.client.close()
    return out


def _hdf5_contents(path: Path) -> dict:
    """Every group/dataset of an ASDF file: name -> (attributes, values).

    pyasdf wraps the event in a new ObsPy Catalog, whose publicID is a random
    UUID in every run: that one attribute is masked.
    """
    contents = {}

    def visit(name, obj):
        attrs = {k: (v.tolist() if isinstance(v, np.ndarray) else v)
                 for k, v in obj.attrs.items()}
        value = obj[()].tobytes() if isinstance(obj, h5py.Dataset) else None
        if name == "QuakeML":
            value = re.sub(rb'<eventParameters publicID="[^"]*"', b"<eventParameters", value)
        contents[name] = (attrs, value)

    with h5py.File(path, "r") as f:
        f.visititems(visit)
    return contents


def _files(work: Path) -> dict[str, object]:
    out_dir = work / "output"
    files: dict[str, object] = {}
    for path in sorted(out_dir.rglob("*")):
        if path.is_dir() or path.name.startswith(".") or path.name == SUMMARY_NAME:
            continue  # the CLI's run summary holds this run's timings: checked apart
        rel = str(path.relative_to(out_dir))
        files[rel] = _hdf5_contents(path) if path.suffix == ".h5" else path.read_bytes()
    return files


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    """One database built once; each run gets an identical copy (same ids)."""
    base = tmp_path_factory.mktemp("cluster_data")
    db, _job = build_database(base / "work", n_generated=N_GENERATED)
    db.client.close()
    return base / "work"


def _copy(pristine: Path, tmp: Path, name: str) -> Path:
    work = tmp / name
    shutil.copytree(pristine, work)
    return work


@pytest.fixture(scope="module")
def local_run(spark, pristine, tmp_path_factory):
    work = _copy(pristine, tmp_path_factory.mktemp("local"), "work")
    job = JobConfig.load(_job_yaml(work))
    summary = run_misfit_job(spark, job, progress=False)
    assert summary.ok == summary.stations == N_GENERATED + 1, summary.dead_reasons
    return _documents(work), _files(work)


def test_cluster_run_equals_local_run(cluster, local_run, pristine, tmp_path):
    work = _copy(pristine, tmp_path, "work")
    out, _err = _finish(submit(cluster, _job_yaml(work)), cluster)
    assert f"misfit job: {N_GENERATED + 1} stations of 1 events" in out
    assert f"{N_GENERATED + 1} ok" in out
    # the work ran on the cluster's executors, one on each worker
    apps = cluster.state()["completedapps"]
    assert apps and apps[-1]["state"] == "FINISHED"
    executors = [p for w in cluster.workers for p in (w.work_dir / apps[-1]["id"]).glob("*")]
    assert len(executors) == 2
    summary = json.loads((work / "output" / SUMMARY_NAME).read_text())
    assert (summary["status"], summary["exit_code"]) == ("done", 0)
    docs, files = local_run
    assert _documents(work) == docs
    assert docs["misfit_station"] and all(d["status"] == "ok" for d in docs["misfit_station"])
    assert _files(work) == files
    assert "2018p130600.h5" in files


def _python_tasks(worker: Daemon) -> list[int]:
    """Python worker processes under this Spark worker: a task has started there.

    (The executor JVM's own command line names pyspark's jars: match the daemon.)
    """
    return [p for p in descendants(worker.proc.pid)
            if any(m in _cmdline(p) for m in ("pyspark.daemon", "pyspark.worker"))]


def test_job_survives_a_worker_killed_mid_job_exactly_once(cluster, local_run, pristine,
                                                           tmp_path):
    work = _copy(pristine, tmp_path, "work")
    proc = submit(cluster, _job_yaml(work))
    victim = None
    try:
        end = time.monotonic() + STARTUP_BOUND
        while victim is None and time.monotonic() < end and proc.poll() is None:
            victim = next((w for w in cluster.workers if _python_tasks(w)), None)
            time.sleep(0.05)
        assert victim is not None, "no task started on any worker"
        survivor = next(w for w in cluster.workers if w is not victim)
        kill_tree(victim.proc.pid)
        victim.proc.wait(30)
        out, err = _finish(proc, cluster)
    finally:
        if proc.poll() is None:
            kill_tree(proc.pid)
    assert proc.returncode == 0
    # the driver lost the executor that was running a task (Spark logs the task's
    # loss only at INFO: it is not the task's fault) and finished on the survivor
    assert "ERROR TaskSchedulerImpl: Lost executor" in err, err[-3000:]
    app = cluster.state()["completedapps"][-1]["id"]
    assert list((survivor.work_dir / app).glob("*"))  # an executor of this job ran there
    assert f"misfit job: {N_GENERATED + 1} stations of 1 events" in out
    assert f"{N_GENERATED + 1} ok" in out
    assert _python_tasks(victim) == [] and victim.proc.poll() is not None
    assert survivor.proc.poll() is None
    docs, files = local_run
    assert _documents(work) == docs
    assert _files(work) == files
    assert not list((work / "output").rglob("*.inprogress"))


# --- an unreachable master ---------------------------------------------------------
def test_unreachable_master_is_named_before_any_work(tmp_path):
    (port,) = free_ports(1)
    url = f"spark://127.0.0.1:{port}"
    work = tmp_path / "work"
    work.mkdir()
    env = _spark_env(tmp_path)
    proc = subprocess.run(
        [str(Path(sys.executable).with_name("spark-submit")), "--master", url,
         "--conf", "spark.ui.enabled=false", str(ROOT / "jobs" / "misfit.py"),
         str(_job_yaml(work))], env=env, capture_output=True, text=True, timeout=300)
    said = proc.stdout + proc.stderr  # spark-submit passes Python's stderr to its stdout
    assert proc.returncode == 2, said[-3000:]
    assert f"spark-seis: error: cannot reach the Spark master {url}" in said
    assert "Connection refused" in said
    assert "All masters are unresponsive" not in said  # no minute of retries
    assert not (work / "output").exists() and not (work / "mongo_store").exists()


def test_master_endpoints_and_check():
    assert master_endpoints("local[2]") == [] and master_endpoints("yarn") == []
    assert master_endpoints("spark://a:7077,b:7078") == [("a", 7077), ("b", 7078)]
    assert master_endpoints("spark://head") == [("head", 7077)]
    assert master_endpoints("k8s://https://api.example:6443") == [("api.example", 6443)]
    assert master_endpoints("k8s://api.example") == [("api.example", 443)]
    check_master_reachable("local[*]")
    check_master_reachable(None)
    (port,) = free_ports(1)
    with pytest.raises(MasterUnreachableError, match=f"spark://127.0.0.1:{port}"):
        check_master_reachable(f"spark://127.0.0.1:{port}")
    with socket.socket() as listener:  # something listening: reachable
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        check_master_reachable(f"spark://127.0.0.1:{listener.getsockname()[1]},"
                               f"127.0.0.1:{port}")
    with pytest.raises(MasterUnreachableError, match="not a number"):
        check_master_reachable("spark://head:port")
