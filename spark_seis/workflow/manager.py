"""Pyatoa-style Manager for one station: a thin shell over the pure stages.

``Manager(ds=..., config=..., inv=..., event=..., st_obs=..., st_syn=...)``
then ``standardize().preprocess().window().measure()`` or ``flow()``.
Window and measure results go into the attached ASDFDataSet automatically
unless ``save=False``. Stage failures set ``status`` and an elog entry and
raise ManagerError; ``flow()`` swallows them unless ``raise_errors=True``.
"""
from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

from obspy import Inventory, Stream
from obspy.core.event import Catalog, Event

from spark_seis.core.errorlog import ErrorLog
from spark_seis.io import asdf_store
from spark_seis.io.specfem import write_adjoint_sources
from spark_seis.processing.errors import StageError
from spark_seis.processing.measure import adjsrc_to_dict, measure
from spark_seis.processing.preprocess import distance_and_baz, preprocess
from spark_seis.processing.standardize import (is_standardized, standardize,
                                               time_offset)
from spark_seis.processing.station import StationResult
from spark_seis.processing.window import (fix_windows as _fix_windows,
                                          select_windows, window_from_dict,
                                          windows_to_dicts)
from spark_seis.processing.config import Config, format_iter, format_step

ALGORITHM = "spark_seis.workflow.manager"
# Pyatoa 0.4.2 Manager.preprocess keyword -> Config key
PYATOA_PREPROCESS_KEYWORDS = {"corners": "filter_corners", "taper_percentage": "taper_percentage",
                              "zerophase": "zerophase", "water_level": "water_level"}
_WRITE_CHOICES = ("event", "inv", "st_obs", "st_syn", "windows", "adjsrcs", "config")


class ManagerError(Exception):
    """A workflow stage failed for this station (see Manager.status/elog)."""


class Manager:
    """Workflow of one station: data in, windows/adjoint sources out."""

    def __init__(self, config: Config | None = None, ds=None,
                 event: Event | Catalog | None = None,
                 st_obs: Stream | None = None, st_syn: Stream | None = None,
                 inv: Inventory | None = None, windows: dict | None = None,
                 adjsrcs: dict | None = None) -> None:
        self.config = config if config is not None else Config()
        self.ds = ds
        if isinstance(event, Catalog):
            event = event[0]
        self.event = event
        self.inv = inv
        self.st_obs = st_obs.copy() if st_obs is not None else None
        self.st_syn = st_syn.copy() if st_syn is not None else None
        self.windows = windows or {}
        self.adjsrcs = adjsrcs or {}
        self.status = "new"
        self.elog = ErrorLog()
        self.baz: float | None = None
        self.distance_km: float | None = None
        self.time_offset_sec = 0.0
        self.obs_processed = False
        self.syn_processed = False

    # ------------------------------------------------------------ properties
    @property
    def code(self) -> str:
        for st in (self.st_obs, self.st_syn):
            if st:
                return f"{st[0].stats.network}.{st[0].stats.station}"
        if self.inv is not None and len(self.inv):
            return f"{self.inv[0].code}.{self.inv[0][0].code}"
        return "unknown"

    @property
    def standardized(self) -> bool:
        return is_standardized(self.st_obs, self.st_syn)

    @property
    def nwin(self) -> int:
        return sum(len(w) for w in self.windows.values())

    @property
    def misfit(self) -> float | None:
        """Station misfit: sum of component misfits (None before measure)."""
        if not self.adjsrcs:
            return None
        return float(sum(a["misfit"] for a in self.adjsrcs.values()))

    @property
    def stats(self) -> SimpleNamespace:
        """Pyatoa 0.4.2's ``mgmt.stats`` (read-only view of the Manager's state)."""
        return SimpleNamespace(
            misfit=self.misfit, nwin=self.nwin, time_offset_sec=self.time_offset_sec,
            standardized=self.standardized, obs_processed=self.obs_processed,
            syn_processed=self.syn_processed,
            len_obs=len(self.st_obs) if self.st_obs is not None else 0,
            len_syn=len(self.st_syn) if self.st_syn is not None else 0,
            event_id=(self.event.resource_id.id if self.event is not None
                      else self.config.event_id),
            dataset_id=getattr(self.ds, "filename", None))

    def __repr__(self) -> str:
        return (f"Manager({self.code}, status={self.status}, "
                f"standardized={self.standardized}, nwin={self.nwin}, "
                f"misfit={self.misfit})")

    # ----------------------------------------------------------------- stages
    def _fail(self, exc: StageError) -> None:
        self.status = exc.status
        sev = "Suspect" if exc.status == "no_windows" else "Invalid"
        self.elog.log(f"spark_seis.processing.{exc.stage}", exc.message, sev)
        raise ManagerError(str(exc)) from exc

    def standardize(self, force: bool = False) -> "Manager":
        """Common sampling rate and time span (observed -> synthetics)."""
        if self.standardized and not force:
            return self
        try:
            self.st_obs, self.st_syn = standardize(
                self.st_obs or Stream(), self.st_syn or Stream(),
                self.config.standardize_to)
        except StageError as exc:
            self._fail(exc)
        self.time_offset_sec = time_offset(self.st_syn, self.event)
        if self.event is not None and self.inv is not None:
            net, sta = self.code.split(".")
            try:
                self.distance_km, self.baz = distance_and_baz(
                    self.event, self.inv, net, sta)
            except StageError as exc:
                self.elog.log(ALGORITHM, exc.message, "Suspect")
        self.status = "standardized"
        return self

    def _preprocess_config(self, remove_response: bool | None, output: str | None,
                           kwargs: dict[str, Any]) -> Config:
        """The Config with Pyatoa 0.4.2's preprocess() keywords applied for one call."""
        changes: dict[str, Any] = {}
        if remove_response is not None:
            changes["remove_response"] = bool(remove_response)
        if output is not None:
            changes["unit_output"] = output
        for pyatoa_name, ours in PYATOA_PREPROCESS_KEYWORDS.items():
            if pyatoa_name in kwargs:
                changes[ours] = kwargs.pop(pyatoa_name)
        if kwargs.pop("filter_", True) is False:
            raise TypeError("preprocess(filter_=False) is not supported: the misfit "
                            "workflow always band-passes to the Config's periods")
        if kwargs:
            raise TypeError(f"preprocess() got unsupported Pyatoa keyword(s) "
                            f"{sorted(kwargs)}; supported: remove_response, output, "
                            f"{', '.join(PYATOA_PREPROCESS_KEYWORDS)}, filter_")
        return self.config.copy(**changes) if changes else self.config

    def preprocess(self, which: str = "both", remove_response: bool | None = None,
                   output: str | None = None, **kwargs: Any) -> "Manager":
        """Response removal (observed), filter, rotate: see processing.

        Pyatoa 0.4.2's keywords (``remove_response``, ``output``, ``corners``,
        ``taper_percentage``, ``zerophase``, ``water_level``) override the
        Config for this call; without them the Config decides.
        """
        config = self._preprocess_config(remove_response, output, dict(kwargs))
        try:
            if which in ("obs", "both") and not self.obs_processed:
                self.st_obs = preprocess(self.st_obs, config, self.inv,
                                         "obs", self.baz)
                self.obs_processed = True
            if which in ("syn", "both") and not self.syn_processed:
                self.st_syn = preprocess(self.st_syn, config, self.inv,
                                         "syn", self.baz)
                self.syn_processed = True
        except StageError as exc:
            self._fail(exc)
        self.status = "preprocessed"
        return self

    def window(self, fix_windows: bool = False, iteration: int | None = None,
               step_count: int | None = None, save: bool = True,
               revalidate: bool = False) -> "Manager":
        """Pick windows (pyflex) or re-use stored ones (``fix_windows``)."""
        if not self.standardized:
            self._fail(StageError("window", "waveforms not standardized"))
        try:
            if fix_windows:
                stored = self._stored_windows(iteration, step_count)
                self.windows = _fix_windows(stored, self.st_obs, self.st_syn,
                                            self.config, revalidate, self.elog)
            else:
                self.windows = select_windows(self.st_obs, self.st_syn,
                                              self.config, self.event,
                                              self.inv, self.elog)
        except StageError as exc:
            self.windows = {}
            self._fail(exc)
        self.status = "windowed"
        if save:
            self.save_windows()
        return self

    def _stored_windows(self, iteration, step_count) -> dict:
        if self.ds is None:
            raise StageError("window", "fix_windows needs an ASDFDataSet",
                             "failed:window")
        if iteration is None or step_count is None:
            path = previous_path(self.ds, self.config.iteration or 1,
                                 self.config.step_count or 0)
        else:
            path = f"{format_iter(iteration)}/{format_step(step_count)}"
        net, sta = self.code.split(".")
        stored = asdf_store.read_windows(self.ds, net, sta, path) \
            if path else {}
        if not stored:
            raise StageError("window", f"no stored windows for {net}.{sta} at "
                             f"{path}", "no_windows")
        return stored

    def measure(self, save: bool = True) -> "Manager":
        """Misfit and adjoint sources (pyadjoint) for the windows."""
        if not self.standardized:
            self._fail(StageError("measure", "waveforms not standardized"))
        try:
            adjs = measure(self.st_obs, self.st_syn, self.windows,
                           self.config, self.elog)
        except StageError as exc:
            self._fail(exc)
        self.adjsrcs = {c: adjsrc_to_dict(a) for c, a in adjs.items()}
        self.status = "ok"
        if save:
            self.save_adjsrcs()
        return self

    def flow(self, raise_errors: bool = False, save: bool = True,
             fix_windows: bool = False, iteration: int | None = None,
             step_count: int | None = None, standardize_to: str | None = None,
             **preprocess_kwargs: Any) -> "Manager":
        """standardize -> preprocess -> window -> measure; never raises for
        bad data unless ``raise_errors``. Pyatoa's preprocess keywords
        (``remove_response=``, ``output=``, ...) are passed on."""
        if standardize_to is not None and standardize_to != self.config.standardize_to:
            self.config = self.config.copy(standardize_to=standardize_to)
        self._preprocess_config(preprocess_kwargs.get("remove_response"),
                                preprocess_kwargs.get("output"),
                                {k: v for k, v in preprocess_kwargs.items()
                                 if k not in ("remove_response", "output")})  # bad keywords raise here
        try:
            self.standardize().preprocess(**preprocess_kwargs)
            self.window(fix_windows=fix_windows, iteration=iteration,
                        step_count=step_count, save=save)
            self.measure(save=save)
        except ManagerError:
            if raise_errors:
                raise
        except Exception as exc:
            self.status = f"failed:{self.status}"
            self.elog.log(ALGORITHM, f"{self.code}: unexpected error: {exc!r}",
                          "Invalid")
            if raise_errors:
                raise
        return self

    # -------------------------------------------------------------------- I/O
    def _can_save(self) -> bool:
        return self.ds is not None and self.config.save_to_ds

    def save_windows(self) -> None:
        if self._can_save() and self.windows:
            asdf_store.write_windows(self.ds, windows_to_dicts(self.windows),
                                     self.config.aux_path)

    def save_adjsrcs(self) -> None:
        if self._can_save() and self.adjsrcs:
            asdf_store.write_adjoint_sources(self.ds, self.adjsrcs,
                                             self.config.aux_path,
                                             self.time_offset_sec)

    def retrieve_windows_from_dataset(self, ds=None, iteration: int | str | None = None,
                                      step_count: int | str | None = None,
                                      components: list[str] | None = None,
                                      revalidate: bool = False) -> "Manager":
        """Pyatoa 0.4.2's name for ``window(fix_windows=True, save=False)``."""
        if ds is not None:
            self.ds = ds
        it = None if iteration is None else int(str(iteration).lstrip("i"))
        st = None if step_count is None else int(str(step_count).lstrip("s"))
        self.window(fix_windows=True, iteration=it, step_count=st, save=False,
                    revalidate=revalidate)
        if components is not None:
            self.windows = {c: w for c, w in self.windows.items() if c in components}
        return self

    def write_to_dataset(self, ds=None, choice: list[str] | None = None) -> None:
        """Pyatoa 0.4.2's name for ``write`` (``choice`` selects what is written)."""
        target = ds if ds is not None else self.ds
        if target is None:
            raise ManagerError("write_to_dataset needs an ASDFDataSet (ds= or Manager(ds=))")
        if choice is None:
            self.write(target)
            return
        unknown = set(choice) - set(_WRITE_CHOICES)
        if unknown:
            raise ManagerError(f"write_to_dataset choice {sorted(unknown)}: unknown; "
                               f"choose from {list(_WRITE_CHOICES)}")
        self._write(target, set(choice))

    def write(self, write_to: Any = "ds") -> None:
        """Event, station metadata, tagged waveforms and Config into ``ds``
        (plus windows/adjoint sources if present)."""
        ds = self.ds if isinstance(write_to, str) and write_to == "ds" else write_to
        if ds is None:
            raise ManagerError("write needs an ASDFDataSet")
        self._write(ds, set(_WRITE_CHOICES))

    def _has_tag(self, ds, tag: str) -> bool:
        return (self.code in ds.waveforms.list()
                and tag in ds.waveforms[self.code].get_waveform_tags())

    def _write(self, ds, choice: set[str]) -> None:
        if self.event is not None and "event" in choice:
            asdf_store.write_event(ds, self.event)
        if self.inv is not None and "inv" in choice:
            asdf_store.write_stationxml(ds, self.inv)
        # as Pyatoa: observed data are written once (never replaced by their
        # processed version), synthetics of this evaluation are replaced
        if self.st_obs and "st_obs" in choice and not self._has_tag(ds, self.config.observed_tag):
            asdf_store.write_waveforms(ds, self.st_obs, self.config.observed_tag)
        if self.st_syn and "st_syn" in choice:
            if self._has_tag(ds, self.config.synthetic_tag):
                del ds.waveforms[self.code][self.config.synthetic_tag]
            asdf_store.write_waveforms(ds, self.st_syn,
                                       self.config.synthetic_tag)
        if "config" in choice:
            asdf_store.write_config(ds, self.config)
        if self.windows and "windows" in choice:
            asdf_store.write_windows(ds, windows_to_dicts(self.windows),
                                     self.config.aux_path)
        if self.adjsrcs and "adjsrcs" in choice:
            asdf_store.write_adjoint_sources(ds, self.adjsrcs,
                                             self.config.aux_path,
                                             self.time_offset_sec)

    def load(self, code: str, path: str | None = None, ds=None,
             synthetic_tag: str | None = None, observed_tag: str | None = None,
             config: bool = True, windows: bool = False,
             adjsrcs: bool = False) -> "Manager":
        """Refill from a dataset: Config at ``path``, event, StationXML and
        waveforms of 'NET.STA'; with ``windows``/``adjsrcs`` (Pyatoa 0.4.2)
        also the stored windows and adjoint sources at ``path``."""
        ds = ds if ds is not None else self.ds
        if ds is None:
            raise ManagerError("load needs an ASDFDataSet")
        if len(code.split(".")) != 2:
            raise ManagerError(f"code must be 'NET.STA', not {code!r}")
        cfg = self.config
        if config:
            if path is None:
                raise ManagerError("load(config=True) needs path= (the Config's aux "
                                   "path, e.g. 'i01/s00' or 'default'), as in Pyatoa")
            notes: list[str] = []
            try:
                cfg = asdf_store.read_config(ds, path, notes=notes)
            except asdf_store.ConfigNotFoundError as exc:
                self.elog.log(ALGORITHM, str(exc), "Invalid")
                raise ManagerError(f"{exc}; pass config=False to keep the "
                                   "Manager's Config") from None
            for note in notes:
                self.elog.log(ALGORITHM, note, "Complaint")
        event = ds.events[0] if len(ds.events) else None
        inv, obs, syn = asdf_store.read_station(
            ds, code, observed_tag or cfg.observed_tag,
            synthetic_tag or cfg.synthetic_tag)
        if obs is None and syn is None:
            self.elog.log(ALGORITHM, f"no waveforms for {code} in dataset",
                          "Complaint")
        elog = self.elog
        self.__init__(config=cfg, ds=ds, event=event, st_obs=obs, st_syn=syn,
                      inv=inv)
        self.elog = elog
        if (windows or adjsrcs) and path is None:
            raise ManagerError("load(windows=/adjsrcs=) needs path= (e.g. 'i01/s00')")
        net, sta = code.split(".")
        if windows:
            stored = asdf_store.read_windows(ds, net, sta, path)
            self.windows = {c: [window_from_dict(w) for w in ws] for c, ws in stored.items()}
        if adjsrcs:
            self.adjsrcs = asdf_store.read_adjoint_sources(ds, net, sta, path)
        return self

    def write_adjsrcs(self, path: str | Path = ".",
                      write_blanks: bool = True) -> list[Path]:
        """SPECFEM ASCII adjoint sources 'NET.STA.BXc.adj' into ``path``."""
        if not self.adjsrcs:
            raise ManagerError("no adjoint sources to write")
        return write_adjoint_sources(path, self.adjsrcs, self.time_offset_sec,
                                     self.config.component_list, write_blanks)

    def plot(self, save: str | Path = "manager.png") -> Path:
        """Observed, synthetic, windows and adjoint sources in one PNG."""
        from spark_seis.workflow.plot import plot_station

        if not self.st_obs or not self.st_syn:
            raise ManagerError("cannot plot without observed and synthetic")
        title = f"{self.code} {self.config.event_id or ''} " \
                f"{self.config.min_period:g}-{self.config.max_period:g}s " \
                f"misfit={self.misfit if self.misfit is None else round(self.misfit, 4)}"
        return plot_station(self.st_obs, self.st_syn, self.windows,
                            self.adjsrcs, save, self.config.component_list,
                            title, self.time_offset_sec)

    def result(self) -> StationResult:
        """The Manager's state as the engine's StationResult."""
        return StationResult(
            code=self.code, status=self.status,
            windows=windows_to_dicts(self.windows),
            adjoint_sources=dict(self.adjsrcs),
            misfit={c: a["misfit"] for c, a in self.adjsrcs.items()},
            total_misfit=self.misfit, nwin=self.nwin,
            time_offset_sec=self.time_offset_sec,
            distance_km=self.distance_km, baz=self.baz,
            st_obs=self.st_obs, st_syn=self.st_syn, elog=self.elog)


def previous_path(ds, iteration: int, step_count: int) -> str | None:
    """Latest stored window path before (iteration, step_count), or the
    latest at/below it when the current one is not stored (Pyatoa logic)."""
    if "MisfitWindows" not in ds.auxiliary_data.list():
        return None
    mw = ds.auxiliary_data.MisfitWindows
    done = sorted((int(i[1:]), int(s[1:])) for i in mw.list()
                  if i.startswith("i") for s in mw[i].list())
    if not done:
        return None
    current = (int(iteration), int(step_count))
    earlier = [p for p in done if p < current]
    pick = earlier[-1] if earlier else done[0]
    return f"{format_iter(pick[0])}/{format_step(pick[1])}"
