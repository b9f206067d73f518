"""`spark-seis inspect`: misfit tables per event/station/component/evaluation."""
from __future__ import annotations

from pathlib import Path

from .common import load_job, open_database
from .errors import UserError


def parse_evaluation(text: str):
    """'i01s00', '1/0' or '1,0' -> eval tag string or (iteration, step)."""
    t = text.strip()
    for sep in ("/", ","):
        if sep in t:
            a, b = t.split(sep, 1)
            try:
                return int(a), int(b)
            except ValueError:
                break
    if t.startswith("i") and "s" in t:
        return t
    raise UserError(f"cannot read the evaluation {text!r}",
                    "write it as an eval tag like i01s00 or as ITERATION/STEP like 1/0")


def make_inspector(args, job=None):
    from spark_seis.workflow.inspector import Inspector

    job = job or load_job(args.config)
    db = open_database(job, must_exist=True)
    try:
        inspector = Inspector(db, event=args.event, iteration=args.iteration,
                              step_count=args.step, station=args.station)
    except ValueError as exc:
        raise UserError(str(exc), "give --station as NET.STA") from exc
    return job, db, inspector


def run_inspect(args) -> int:
    from spark_seis.workflow.inspector import NoMisfitData, format_table

    job, _db, inspector = make_inspector(args)
    try:
        inspector.require_data()
        if args.compare:
            a, b = (parse_evaluation(x) for x in args.compare)
            table = inspector.compare(a, b)
            print(f"misfit of {table.attrs['a']} (a) vs {table.attrs['b']} (b), per event:")
            print(format_table(table))
            total = table[table["event"] == "ALL"].iloc[0]
            verdict = "went DOWN" if total["change"] < 0 else (
                "did not change" if total["change"] == 0 else "went UP")
            pct = 100.0 * total["change"] / total["misfit_a"] if total["misfit_a"] else float("nan")
            print(f"misfit {verdict}: {total['misfit_a']:.6g} -> {total['misfit_b']:.6g} "
                  f"({pct:+.1f}%)")
            tables = {"compare": table}
        elif args.level:
            tables = {args.level: inspector.misfit(args.level)}
            print(format_table(tables[args.level], args.max_rows))
        else:
            tables = {"evaluations": inspector.evaluation_table(),
                      "events": inspector.event_table(), "dead": inspector.dead_table()}
            print("misfit per evaluation (mean of event misfits):")
            print(format_table(tables["evaluations"], args.max_rows))
            print("\nmisfit per event (sum / (2 * nwin)):")
            print(format_table(tables["events"], args.max_rows))
            dead = tables["dead"]
            print(f"\ndead stations: {len(dead)}")
            if len(dead):
                print(format_table(dead[["event", "eval_tag", "station", "status", "reasons"]],
                                   args.max_rows))
    except NoMisfitData as exc:
        raise UserError(str(exc), "run 'spark-seis run' first, or check --event/--station/"
                                  "--iteration/--step") from exc
    if args.export:
        formats = ["csv", "parquet"] if args.format == "both" else [args.format]
        out = Path(args.export)
        if args.compare:
            from spark_seis.workflow.inspector import to_parquet

            out.mkdir(parents=True, exist_ok=True)
            written = []
            for fmt in formats:
                path = out / f"compare.{fmt}"
                (tables["compare"].to_csv(path, index=False) if fmt == "csv"
                 else to_parquet(tables["compare"], path))
                written.append(path)
        else:
            written = inspector.export(out, formats)
        print(f"\nwrote {len(written)} file(s) to {out}: "
              + ", ".join(p.name for p in written))
    return 0
