"""`spark-seis plot`: per-station waveform/window/adjoint-source figures from the
ASDF files (``<output_dir>/<event>.h5``) and summary figures from the database."""
from __future__ import annotations

import warnings
from pathlib import Path
from typing import Callable

from .common import Progress, load_job, open_database
from .errors import UserError


def plot_asdf_stations(asdf_file: str | Path, out_dir: str | Path, aux_path: str,
                       stations: list[str] | None = None,
                       progress: Callable[[int, int, str], None] | None = None,
                       ) -> tuple[list[Path], list[tuple[str, str]]]:
    """One PNG per station of one ASDF file (Pyatoa layout) at ``aux_path``.

    The stored raw waveforms are standardized and preprocessed again with the
    Config stored at ``Configs/<aux_path>`` so the windows (sample indices of
    the processed traces) line up. Returns (figures, [(station, why not)]).
    """
    import pyasdf

    from spark_seis.io import asdf_store
    from spark_seis.workflow.manager import Manager, ManagerError
    from spark_seis.workflow.plot import plot_station

    out_dir = Path(out_dir)
    figures, problems = [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = pyasdf.ASDFDataSet(str(asdf_file), mode="r")
    try:
        codes = sorted(ds.waveforms.list())
        if stations:
            codes = [c for c in codes if c in stations]
        for i, code in enumerate(codes):
            net, sta = code.split(".")[:2]
            try:
                mgr = Manager().load(code, path=aux_path, ds=ds)
                if not mgr.st_obs or not mgr.st_syn:
                    problems.append((code, "observed or synthetic waveforms missing in "
                                           f"{Path(asdf_file).name}"))
                    continue
                note = ""
                try:
                    mgr.standardize().preprocess()
                except ManagerError as exc:
                    note = f" (raw data: {exc})"
                windows = asdf_store.read_windows(ds, net, sta, aux_path)
                adjsrcs = asdf_store.read_adjoint_sources(ds, net, sta, aux_path)
                misfit = sum(a["misfit"] for a in adjsrcs.values()) if adjsrcs else None
                title = (f"{code}  {Path(asdf_file).stem}  {aux_path}  "
                         f"{mgr.config.min_period:g}-{mgr.config.max_period:g} s  "
                         f"misfit={'n/a' if misfit is None else f'{misfit:.4g}'}{note}")
                comps = [c for c in mgr.config.component_list
                         if mgr.st_obs.select(component=c) or mgr.st_syn.select(component=c)]
                figures.append(plot_station(
                    mgr.st_obs, mgr.st_syn, windows, adjsrcs, out_dir / f"{code}.png",
                    comps or None, title, mgr.time_offset_sec,
                    unit_output=mgr.config.unit_output,
                    adj_src_type=mgr.config.adj_src_type))
            except Exception as exc:  # noqa: BLE001 - one bad station never stops the rest
                problems.append((code, f"{type(exc).__name__}: {exc}"))
            finally:
                if progress:
                    progress(i + 1, len(codes), code)
    finally:
        del ds
    return figures, problems


def check_station_known(db, code: str) -> None:
    """--station NET.STA must name a station of the database; else say the closest."""
    import difflib

    known = set()
    for coll in ("site", "channel", db.wf_collection):
        for d in db.db[coll].find({}, {"net": 1, "sta": 1}):
            known.add(f"{d.get('net', '')}.{d.get('sta', '')}")
    if code in known:
        return
    close = difflib.get_close_matches(code, sorted(known), n=3, cutoff=0.5)
    hint = (f"closest known: {', '.join(close)}" if close else
            f"the database has {len(known)} station(s)"
            + (f", e.g. {', '.join(sorted(known)[:3])}" if known else ""))
    raise UserError(f"--station {code}: no such station in the database ({hint})",
                    "give --station as NET.STA of an ingested station")


def station_coordinates(db):
    """net, sta, lat, lon of every station known to site (or channel) documents."""
    import pandas as pd

    rows = {}
    for coll in ("site", "channel"):
        for d in db.db[coll].find({}, {"net": 1, "sta": 1, "lat": 1, "lon": 1}):
            if d.get("lat") is None or d.get("lon") is None:
                continue
            rows.setdefault((d.get("net"), d.get("sta")), (d["lat"], d["lon"]))
    return pd.DataFrame([{"net": n, "sta": s, "lat": la, "lon": lo}
                         for (n, s), (la, lo) in sorted(rows.items())],
                        columns=["net", "sta", "lat", "lon"])


def source_coordinates(db, events: set[str] | None = None):
    import pandas as pd

    from spark_seis.engine.normalization import event_name

    rows = []
    for d in db.db["source"].find({}, {"quakeml": 0}):
        name = event_name(d)
        if events and name not in events and str(d["_id"]) not in events:
            continue
        if d.get("lat") is not None and d.get("lon") is not None:
            rows.append({"event": name, "lat": d["lat"], "lon": d["lon"]})
    return pd.DataFrame(rows, columns=["event", "lat", "lon"])


def run_plot(args) -> int:
    from spark_seis.processing.config import format_iter, format_step
    from spark_seis.workflow.inspector import Inspector
    from spark_seis.workflow.plot import misfit_unit
    from spark_seis.workflow.summary_plots import (plot_event_misfits, plot_station_map,
                                                   plot_window_histogram)

    job = load_job(args.config)
    if args.station:
        check_station_known(open_database(job, must_exist=True), args.station)
    out = Path(args.out) if args.out else job.work_dir / "figures"
    iteration = args.iteration if args.iteration is not None else job.misfit.iteration
    step = args.step if args.step is not None else job.misfit.step_count
    aux_path = (f"{format_iter(iteration)}/{format_step(step)}"
                if iteration is not None and step is not None else job.misfit.aux_path)
    written: list[Path] = []
    problems: list[tuple[str, str]] = []
    if not args.no_stations:
        files = sorted(Path(job.output_dir).glob("*.h5"))
        if args.event:
            files = [f for f in files if f.stem == args.event]
        if not files:
            raise UserError(f"no ASDF files{' for event ' + args.event if args.event else ''}"
                            f" in {job.output_dir}",
                            "run 'spark-seis run' first, check --event, or pass "
                            "--no-stations for the summary figures only")
        for f in files:
            progress = Progress(f"plot {f.stem}", enabled=not args.no_progress)
            figs, probs = plot_asdf_stations(
                f, out / f.stem / aux_path.replace("/", ""), aux_path,
                [args.station] if args.station else None, progress=progress)
            written += figs
            problems += [(f"{f.stem} {code}", why) for code, why in probs]
    if not args.no_summary:
        db = open_database(job, must_exist=True)
        inspector = Inspector(db, event=args.event, station=args.station)
        if inspector.empty:
            narrowed = " and ".join(f"{k} {v}" for k, v in (("event", args.event),
                                                            ("station", args.station)) if v)
            problems.append(("summary", f"no misfit documents for {narrowed}" if narrowed
                             else "no misfit documents in the database "
                                  "(run 'spark-seis run' first)"))
        else:
            written.append(plot_event_misfits(
                inspector, out / "misfit_per_event.png",
                misfit_unit(job.misfit.adj_src_type, job.misfit.unit_output)))
            written.append(plot_window_histogram(inspector, out / "window_counts.png"))
        events = set(inspector.stations["event"].astype(str)) if not inspector.empty else None
        stations = station_coordinates(db)
        if args.station:
            stations = stations[(stations["net"] + "." + stations["sta"]) == args.station]
        written.append(plot_station_map(
            stations, out / "station_map.png", source_coordinates(db, events),
            inspector.stations if not inspector.empty else None,
            misfit_unit(job.misfit.adj_src_type, job.misfit.unit_output)))
    for path in written:
        print(f"wrote {path}")
    for what, why in problems:
        print(f"skipped {what}: {why}")
    print(f"{len(written)} figure(s) in {out}")
    if not written:
        raise UserError("no figures were made", "see the reasons above")
    return 0
