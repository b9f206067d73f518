"""Inspector: misfit tables from the collections the misfit job writes (Pyatoa-style).

Sources (``spark_seis.engine.output_docs``): ``misfit_station`` (one document per
event, station and evaluation, with ``status``, ``nwin``, ``total_misfit``),
``misfit`` (per component), ``misfit_windows`` (per window) and ``elog``
documents with ``stage: misfit`` (reasons of dead stations). Every document
carries ``source_id``, ``event``, ``net``, ``sta``, ``iteration``,
``step_count`` and ``eval_tag``.

Conventions (Pyatoa 0.4.2's Inspector): station ``unscaled_misfit`` = sum of
component misfits, station ``misfit`` = unscaled_misfit / number of windows;
event misfit = sum of station misfits / (2 * number of windows) (Tape et al. 2010,
``spark_seis.processing.misfit_definitions.event_misfit``); the misfit of an evaluation
(iteration/step) = mean of its event misfits.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Iterable, Mapping

import pandas as pd

from spark_seis.processing.misfit_definitions import event_misfit

STATIONS = "misfit_station"
MISFITS = "misfit"
WINDOWS = "misfit_windows"
ELOG = "elog"

KEYS = ["event", "source_id", "iteration", "step_count", "eval_tag"]
STATION_COLUMNS = KEYS + ["net", "sta", "station", "status", "nwin", "total_misfit",
                          "distance_km", "baz", "asdf_file"]
COMPONENT_COLUMNS = KEYS + ["net", "sta", "station", "component", "nwin", "misfit",
                            "adjsrc_type"]
WINDOW_COLUMNS = KEYS + ["net", "sta", "station", "component", "window_index",
                         "left_index", "right_index", "relative_starttime", "relative_endtime",
                         "cc_shift_in_seconds", "dlnA", "max_cc_value"]
EVENT_COLUMNS = ["event", "source_id", "iteration", "step_count", "eval_tag", "nsta",
                 "nsta_ok", "nsta_dead", "nwin", "summed_misfit", "misfit"]
EVAL_COLUMNS = ["iteration", "step_count", "eval_tag", "nevents", "nsta", "nsta_dead",
                "nwin", "summed_misfit", "misfit"]
DEAD_COLUMNS = KEYS + ["net", "sta", "station", "status", "reasons"]


class NoMisfitData(LookupError):
    """No misfit documents match: the job has not run yet, or the filters are wrong."""


def _frame(docs: Iterable[Mapping[str, Any]], columns: list[str]) -> pd.DataFrame:
    rows = []
    for doc in docs:
        row = {k: v for k, v in doc.items() if k != "_id"}
        row["source_id"] = str(row.get("source_id"))
        row.setdefault("event", row["source_id"])
        row["station"] = f"{row.get('net', '')}.{row.get('sta', '')}"
        rows.append(row)
    df = pd.DataFrame(rows)
    for col in columns:
        if col not in df:
            df[col] = None
    extra = [c for c in df.columns if c not in columns and not isinstance(
        df[c].dropna().iloc[0] if df[c].notna().any() else None, (dict, list))]
    return df[columns + extra] if len(df) else pd.DataFrame(columns=columns)


def _eval_label(iteration: Any, step_count: Any) -> tuple[Any, Any]:
    return (None if iteration is None or (isinstance(iteration, float) and math.isnan(iteration))
            else int(iteration),
            None if step_count is None or (isinstance(step_count, float) and math.isnan(step_count))
            else int(step_count))


class Inspector:
    """Misfit tables of one or many events, stations, iterations and steps.

    ``Inspector(db)`` reads everything; ``Inspector(db, event=..., iteration=...,
    step_count=..., eval_tag=..., station='NET.STA')`` narrows it down.
    ``Inspector.from_documents({collection: [docs]})`` works without a database.
    """

    def __init__(self, db: Any = None, *, event: str | None = None,
                 iteration: int | None = None, step_count: int | None = None,
                 eval_tag: str | None = None, station: str | None = None,
                 documents: Mapping[str, list[dict]] | None = None) -> None:
        query: dict[str, Any] = {}
        if iteration is not None:
            query["iteration"] = int(iteration)
        if step_count is not None:
            query["step_count"] = int(step_count)
        if eval_tag is not None:
            query["eval_tag"] = eval_tag
        if station is not None:
            parts = station.split(".")
            if len(parts) != 2:
                raise ValueError(f"station must be NET.STA, not {station!r}")
            query.update({"net": parts[0], "sta": parts[1]})
        self.query = query
        self.event = event
        if documents is not None:
            docs = {c: [d for d in documents.get(c, [])
                        if all(d.get(k) == v for k, v in query.items())]
                    for c in (STATIONS, MISFITS, WINDOWS, ELOG)}
        else:
            docs = self._read(db, query)
        if event is not None:
            docs = {c: [d for d in v if str(d.get("event")) == str(event)
                        or str(d.get("source_id")) == str(event)] for c, v in docs.items()}
        docs[ELOG] = [d for d in docs[ELOG] if d.get("stage") == "misfit"]
        self.stations = _frame(docs[STATIONS], STATION_COLUMNS)
        self.components = _frame(docs[MISFITS], COMPONENT_COLUMNS)
        self.windows = _frame(docs[WINDOWS], WINDOW_COLUMNS)
        self._elog = docs[ELOG]

    @classmethod
    def from_documents(cls, documents: Mapping[str, list[dict]], **filters: Any) -> "Inspector":
        return cls(None, documents=documents, **filters)

    @staticmethod
    def _read(db: Any, query: dict) -> dict[str, list[dict]]:
        if db is None:
            raise ValueError("Inspector needs a Database or documents")
        out = {}
        for coll in (STATIONS, MISFITS, WINDOWS):
            out[coll] = list(db.db[coll].find(dict(query)))
        out[ELOG] = list(db.db[ELOG].find({**query, "stage": "misfit"}))
        return out

    # ------------------------------------------------------------ checks
    @property
    def empty(self) -> bool:
        return len(self.stations) == 0

    def require_data(self) -> "Inspector":
        if self.empty:
            what = ", ".join(f"{k}={v}" for k, v in self.query.items())
            if self.event:
                what = ", ".join(filter(None, [f"event={self.event}", what]))
            raise NoMisfitData("no misfit results" + (f" for {what}" if what else ""))
        return self

    @property
    def evaluations(self) -> list[tuple[int | None, int | None]]:
        """(iteration, step_count) pairs present, sorted."""
        pairs = {_eval_label(i, s) for i, s in zip(self.stations["iteration"],
                                                      self.stations["step_count"])}
        return sorted(pairs, key=lambda p: (p[0] or 0, p[1] or 0))

    # ------------------------------------------------------------ tables
    def station_table(self) -> pd.DataFrame:
        """One row per event, station and evaluation, with Pyatoa's Inspector
        definitions: ``unscaled_misfit`` = sum of the component misfits,
        ``misfit`` = unscaled_misfit / nwin (NaN without windows)."""
        cols = ["event", "iteration", "step_count", "station", "status", "nwin",
                "unscaled_misfit", "misfit", "distance_km", "baz"]
        df = self.stations.copy()
        df["unscaled_misfit"] = pd.to_numeric(df["total_misfit"], errors="coerce")
        nwin = pd.to_numeric(df["nwin"], errors="coerce")
        df["misfit"] = df["unscaled_misfit"] / nwin.where(nwin > 0)
        return df[cols].sort_values(
            ["iteration", "step_count", "event", "station"], na_position="first"
        ).reset_index(drop=True)

    def component_table(self) -> pd.DataFrame:
        cols = ["event", "iteration", "step_count", "station", "component", "nwin",
                "misfit"]
        return self.components[cols].sort_values(
            ["iteration", "step_count", "event", "station", "component"],
            na_position="first").reset_index(drop=True)

    def window_table(self) -> pd.DataFrame:
        return self.windows.sort_values(
            ["iteration", "step_count", "event", "station", "component", "window_index"],
            na_position="first").reset_index(drop=True)

    def event_table(self) -> pd.DataFrame:
        """Event misfit = sum of station misfits / (2 * nwin) (Pyatoa)."""
        rows = []
        group_keys = ["event", "source_id", "eval_tag"]
        for (event, sid, tag), g in self.stations.groupby(group_keys, dropna=False, sort=True):
            it, st = _eval_label(g["iteration"].iloc[0], g["step_count"].iloc[0])
            ok = g["status"] == "ok"
            nwin = int(pd.to_numeric(g["nwin"], errors="coerce").fillna(0).sum())
            misfits = pd.to_numeric(g["total_misfit"], errors="coerce").dropna()
            rows.append({"event": event, "source_id": sid, "iteration": it, "step_count": st,
                         "eval_tag": tag, "nsta": len(g), "nsta_ok": int(ok.sum()),
                         "nsta_dead": int((~ok).sum()), "nwin": nwin,
                         "summed_misfit": float(misfits.sum()),
                         "misfit": event_misfit(misfits.tolist(), nwin)})
        df = pd.DataFrame(rows, columns=EVENT_COLUMNS)
        return df.sort_values(["iteration", "step_count", "event"],
                              na_position="first").reset_index(drop=True)

    def evaluation_table(self) -> pd.DataFrame:
        """One row per iteration/step: mean of the event misfits (Pyatoa's step misfit)."""
        events = self.event_table()
        rows = []
        for tag, g in events.groupby("eval_tag", dropna=False, sort=True):
            finite = g["misfit"].dropna()
            rows.append({"iteration": g["iteration"].iloc[0], "step_count": g["step_count"].iloc[0],
                         "eval_tag": tag, "nevents": len(g), "nsta": int(g["nsta"].sum()),
                         "nsta_dead": int(g["nsta_dead"].sum()), "nwin": int(g["nwin"].sum()),
                         "summed_misfit": float(g["summed_misfit"].sum()),
                         "misfit": float(finite.mean()) if len(finite) else float("nan")})
        df = pd.DataFrame(rows, columns=EVAL_COLUMNS)
        return df.sort_values(["iteration", "step_count"], na_position="first").reset_index(drop=True)

    def dead_table(self) -> pd.DataFrame:
        """Stations whose status is not ``ok``, with the reasons from their elog."""
        reasons: dict[tuple, list[str]] = {}
        for doc in self._elog:
            key = (str(doc.get("source_id")), f"{doc.get('net')}.{doc.get('sta')}",
                   doc.get("eval_tag"))
            for entry in doc.get("logdata") or []:
                text = entry.get("message") if isinstance(entry, dict) else str(entry)
                if text:
                    reasons.setdefault(key, []).append(str(text))
        dead = self.stations[self.stations["status"] != "ok"]
        rows = []
        for _, row in dead.iterrows():
            key = (row["source_id"], row["station"], row["eval_tag"])
            rows.append({**{k: row[k] for k in DEAD_COLUMNS if k in row and k != "reasons"},
                         "reasons": "; ".join(reasons.get(key, [])) or str(row["status"])})
        df = pd.DataFrame(rows, columns=DEAD_COLUMNS)
        return df.sort_values(["iteration", "step_count", "event", "station"],
                              na_position="first").reset_index(drop=True)

    def misfit(self, level: str = "event") -> pd.DataFrame:
        """Pyatoa-style entry point: level is station, component, window, event or step."""
        tables = {"station": self.station_table, "component": self.component_table,
                  "window": self.window_table, "event": self.event_table,
                  "step": self.evaluation_table, "iteration": self.evaluation_table,
                  "dead": self.dead_table}
        if level not in tables:
            raise ValueError(f"level must be one of {sorted(tables)}, not {level!r}")
        return tables[level]()

    # ------------------------------------------------------------ compare
    def _select(self, which: Any) -> pd.DataFrame:
        events = self.event_table()
        if isinstance(which, str):
            sel = events[events["eval_tag"] == which]
        else:
            it, st = which
            sel = events[(events["iteration"] == int(it)) & (events["step_count"] == int(st))]
        if sel.empty:
            known = ", ".join(sorted({str(t) for t in events["eval_tag"]})) or "none"
            raise NoMisfitData(f"no misfit results for {which!r} (evaluations present: {known})")
        return sel

    def compare(self, a: Any, b: Any) -> pd.DataFrame:
        """Event misfits of evaluation ``a`` vs ``b`` (eval tags like 'i01s00' or
        (iteration, step) pairs): one row per event plus an ``ALL`` row with the
        evaluation misfits; ``improved`` is True where the misfit went down."""
        sa, sb = self._select(a), self._select(b)
        cols = ["event", "nwin", "misfit"]
        merged = sa[cols].merge(sb[cols], on="event", how="outer", suffixes=("_a", "_b"))
        total = {"event": "ALL", "nwin_a": int(sa["nwin"].sum()), "nwin_b": int(sb["nwin"].sum()),
                 "misfit_a": float(sa["misfit"].mean()), "misfit_b": float(sb["misfit"].mean())}
        merged = pd.concat([merged, pd.DataFrame([total])], ignore_index=True)
        merged["change"] = merged["misfit_b"] - merged["misfit_a"]
        merged["ratio"] = merged["misfit_b"] / merged["misfit_a"]
        merged["improved"] = merged["change"] < 0
        merged.attrs["a"], merged.attrs["b"] = str(a), str(b)
        return merged

    # ------------------------------------------------------------ export
    def tables(self) -> dict[str, pd.DataFrame]:
        return {"events": self.event_table(), "evaluations": self.evaluation_table(),
                "stations": self.station_table(), "components": self.component_table(),
                "windows": self.window_table(), "dead": self.dead_table()}

    def export(self, directory: str | Path, formats: Iterable[str] = ("csv",)) -> list[Path]:
        """Write every table as <directory>/<table>.csv and/or .parquet."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        written = []
        for name, df in self.tables().items():
            for fmt in formats:
                path = directory / f"{name}.{fmt}"
                if fmt == "csv":
                    df.to_csv(path, index=False)
                elif fmt == "parquet":
                    to_parquet(df, path)
                else:
                    raise ValueError(f"export format must be csv or parquet, not {fmt!r}")
                written.append(path)
        return written


def to_parquet(df: pd.DataFrame, path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    clean = df.copy()
    for col in clean.columns:
        if clean[col].dtype == object:
            clean[col] = clean[col].map(lambda v: v if v is None or isinstance(
                v, (str, int, float, bool)) else str(v))
    pq.write_table(pa.Table.from_pandas(clean, preserve_index=False), path)


def format_table(df: pd.DataFrame, max_rows: int = 60) -> str:
    """Plain-text table for a terminal."""
    if df.empty:
        return "(no rows)"
    with pd.option_context("display.max_rows", max_rows, "display.max_columns", 30,
                           "display.width", 160, "display.float_format", "{:.4g}".format):
        return df.to_string(index=False)
