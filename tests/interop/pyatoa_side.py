"""Pyatoa 0.4.2 side of the interoperability suite (run by Pyatoa's own python).

stdin: {"tasks": [...]}; stdout: one JSON line {"results": [...]}.
Tasks:
  {"do": "write", "file", "config": {Config kwargs}, "remove_response",
   "fix_windows": [iter, step] | null, "obs", "syn", "inv", "event"}
      Pyatoa's Manager on the given files; flow(); write_to_dataset().
  {"do": "load", "file", "code", "path", "remeasure": bool, "fix": bool}
      Manager.load(code, path, windows=True, adjsrcs=True); optionally
      standardize/preprocess/window (fresh or fixed)/measure again.
  {"do": "inspect", "dir"}
      Inspector.discover(dir); misfit at station, event and step level.
Every result carries the WARNING (and higher) records of Pyatoa's logger and
Python warnings raised meanwhile, so the test can require "no warning".
"""
import json
import logging
import sys
import warnings

import numpy as np
import obspy
import pyasdf

import pyatoa
from pyatoa import Config, Inspector, Manager

RECORDS = []


class Collect(logging.Handler):
    def emit(self, record):
        if record.levelno >= logging.WARNING:
            RECORDS.append(record.getMessage())


pyatoa.logger.addHandler(Collect())


def plain(value):
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def summary(mgmt):
    return {
        "windows": {c: [[int(w.left), int(w.right)] for w in ws]
                    for c, ws in (mgmt.windows or {}).items()},
        "misfits": {c: float(a.misfit) for c, a in (mgmt.adjsrcs or {}).items()},
        "adjsrc_types": {c: a.adjsrc_type for c, a in (mgmt.adjsrcs or {}).items()},
        "total": None if not mgmt.adjsrcs else float(sum(a.misfit for a in mgmt.adjsrcs.values())),
    }


def config_summary(cfg):
    return {"pyflex": plain(vars(cfg.pyflex_config)), "pyadjoint": plain(vars(cfg.pyadjoint_config)),
            "synthetic_tag": cfg.synthetic_tag, "event_id": cfg.event_id,
            "iteration": cfg.iteration, "step_count": cfg.step_count,
            "min_period": cfg.min_period, "max_period": cfg.max_period,
            "adj_src_type": cfg.adj_src_type, "component_list": list(cfg.component_list)}


def read_npz(path):
    """Traces saved by read_sem.py (samples + headers, no pickle)."""
    st = obspy.Stream()
    with np.load(path, allow_pickle=False) as npz:
        for i, m in enumerate(json.loads(str(npz["meta"]))):
            net, sta, loc, cha = m["id"].split(".")
            st += obspy.Trace(npz[f"data{i}"], header={
                "network": net, "station": sta, "location": loc, "channel": cha,
                "delta": m["delta"], "starttime": obspy.UTCDateTime(m["starttime"])})
    return st


def do_write(task):
    """Manager.flow() on files; write_to_dataset() unless "write": false."""
    cfg = Config(**task["config"])
    st_obs = obspy.read(task["obs"])
    st_syn = read_npz(task["syn"]) if task["syn"].endswith(".npz") else obspy.read(task["syn"])
    inv = obspy.read_inventory(task["inv"])
    event = obspy.read_events(task["event"])[0]
    with pyasdf.ASDFDataSet(task["file"], mode="a" if task.get("write", True) else "r") as ds:
        mgmt = Manager(ds=ds, config=cfg, event=event, inv=inv, st_obs=st_obs, st_syn=st_syn)
        kwargs = {"remove_response": task["remove_response"]}
        if task["remove_response"]:
            kwargs["output"] = cfg.unit_output
        if task.get("fix_windows"):
            it, step = task["fix_windows"]
            mgmt.flow(fix_windows=True, iteration=it, step_count=step, **kwargs)
        else:
            mgmt.flow(**kwargs)
        if task.get("write", True):
            mgmt.write_to_dataset()
        return {**summary(mgmt), "time_offset": mgmt.stats.time_offset_sec}


def do_load(task):
    with pyasdf.ASDFDataSet(task["file"], mode="r") as ds:
        mgmt = Manager(ds=ds)
        nested = "/" in task["path"]  # Pyatoa's load() splits the path into iter/step
        mgmt.load(task["code"], path=task["path"], windows=nested, adjsrcs=nested)
        out = {"stored": summary(mgmt), "config": config_summary(mgmt.config),
               "remove_response": getattr(mgmt.config, "remove_response", None)}
        if task.get("remeasure"):
            stored_windows = mgmt.windows
            remove = bool(getattr(mgmt.config, "remove_response", False))
            kwargs = {"remove_response": remove}
            if remove:
                kwargs["output"] = mgmt.config.unit_output
            mgmt.standardize().preprocess(**kwargs)
            if task.get("fix"):
                mgmt.windows = stored_windows
                it, step = task["path"].split("/")
                mgmt.retrieve_windows_from_dataset(iteration=it, step_count=step)
            else:
                mgmt.window()
            mgmt.measure()
            out["remeasured"] = summary(mgmt)
        return out


def do_inspect(task):
    insp = Inspector(tag="interop")
    insp.discover(task["dir"])
    out = {}
    for level in ("station", "event", "step"):
        df = insp.misfit(level=level).reset_index()
        out[level] = json.loads(df.to_json(orient="records"))
    return out


def main():
    req = json.load(sys.stdin)
    results = []
    for task in req["tasks"]:
        RECORDS.clear()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                out = {"do_" + task["do"]: globals()["do_" + task["do"]](task)}
                out["ok"] = True
            except Exception as exc:  # reported to the test, which fails on it
                out = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        out["warnings"] = list(RECORDS) + [
            str(w.message) for w in caught
            if not issubclass(w.category, (DeprecationWarning, PendingDeprecationWarning))]
        results.append(out)
    print(json.dumps({"results": results}))


if __name__ == "__main__":
    main()
