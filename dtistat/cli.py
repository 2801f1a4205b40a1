"""Command-line interface: ``dtistat demo`` (the main job) and its siblings.

Subcommands: ``demo``, ``index``, ``sensitivity``, ``mediate``, ``panel``, ``factors``,
``cfa``, ``survey``, ``hausman`` (the last three in :mod:`dtistat._cli_extra`).
Each reads a data file (.csv, .xlsx, .dta, .parquet: :func:`dtistat.io.read_data`),
writes its tables (CSV plus the ``--format`` chosen) under ``OUT/tables`` and its
figures under ``OUT/figures``, prints progress lines ``[i/n] ...`` on stderr, exits 0 on
success and 2 with a one-line message ``dtistat <cmd>: error: ...`` on bad input.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from dtistat._cli_args import data_first, plain_words, subparser
from dtistat.errors import DtiStatError

__all__ = ["main"]

TABLE_FORMATS = ("markdown", "latex", "html", "xlsx", "docx")
_EXT = {"markdown": "md", "latex": "tex", "html": "html", "xlsx": "xlsx", "docx": "docx"}


# --------------------------------------------------------------------------- helpers
class _Run:
    """Progress lines on stderr and the files written, for one subcommand."""

    def __init__(self, command: str, steps: int, out: str | Path):
        self.command = command
        self.steps = steps
        self.i = 0
        self.t0 = time.perf_counter()
        self.out = Path(out)
        self.written: list[Path] = []

    def step(self, what: str) -> None:
        self.i += 1
        print(f"[{self.i}/{self.steps}] {what}", file=sys.stderr, flush=True)

    def bar(self, label: str) -> Callable[[int, int], None]:
        """A text progress bar on stderr, redrawn in place; ends with a newline."""
        def show(done: int, total: int) -> None:
            frac = done / total if total else 1.0
            filled = int(round(30 * frac))
            print(f"\r      {label} [{'#' * filled}{'.' * (30 - filled)}] "
                  f"{done:,}/{total:,}", end="\n" if done >= total else "",
                  file=sys.stderr, flush=True)
        return show

    def dirs(self) -> tuple[Path, Path]:
        tab, fig = self.out / "tables", self.out / "figures"
        tab.mkdir(parents=True, exist_ok=True)
        fig.mkdir(parents=True, exist_ok=True)
        return tab, fig

    def csv(self, name: str, frame: Any, index: bool = False) -> None:
        p = self.out / "tables" / f"{name}.csv"
        frame.to_csv(p, index=index, encoding="utf-8-sig")  # Excel reads the BOM as UTF-8
        self.written.append(p)

    def table(self, name: str, render: Callable[..., Any], fmt: str) -> None:
        p = self.out / "tables" / f"{name}.{_EXT[fmt]}"
        render(format=fmt, path=p)
        self.written.append(p)

    def figure(self, name: str, make: Callable[[], Any]) -> None:
        fig = make()
        p = self.out / "figures" / f"{name}.png"
        fig.savefig(p, dpi=110)
        self.written.append(p)

    def done(self, headline: str, show: str | None = None) -> int:
        """Print the headline, then ``show`` (a results table), then the files written."""
        secs = time.perf_counter() - self.t0
        print(f"dtistat {self.command}: {headline} ({secs:.1f} s)")
        if show:
            print()
            print(show.rstrip())
            print()
        for p in self.written:
            print(f"  {p}")
        return 0


def _read(args: argparse.Namespace) -> Any:
    from dtistat.io import read_data

    return read_data(args.data, encoding=args.encoding, sheet=_sheet(args.sheet))


def _sheet(s: str | None) -> str | int | None:
    if s is None:
        return None
    return int(s) if s.isdigit() else s


def _spec(path: str) -> Any:
    from dtistat.errors import SpecError
    from dtistat.spec import IndexSpec

    p = Path(path)
    if not p.is_file():
        raise SpecError(f"spec file {path!r} does not exist")
    return IndexSpec.from_yaml(p)


# --------------------------------------------------------------------------- demo
def _demo(args: argparse.Namespace) -> int:
    from dtistat.report import run_demo

    rep = run_demo(args.out, seed=args.seed)
    print(f"dtistat demo: {len(rep.tables)} tables, {len(rep.figures)} figures in "
          f"{rep.seconds:.1f} s")
    for line in rep.summary:
        print(f"  - {line}")
    if rep.failed:
        print(f"  sections that failed: {', '.join(rep.failed)}", file=sys.stderr)
    print(f"report: {rep.html_path.resolve()}")
    return 1 if rep.failed else 0


# --------------------------------------------------------------------------- index
def _index(args: argparse.Namespace) -> int:
    from dtistat import plots
    from dtistat.index.compute import compute_index
    from dtistat.tables import index_table

    _check_counts(args, "top")
    run = _Run("index", 4, args.out)
    run.step(f"reading {args.data} and {args.spec}")
    data = _read(args)
    spec = _spec(args.spec)
    meta = _metadata(args, data)
    run.step(f"computing the index of {len(data):,} rows")
    res = compute_index(data, spec, entity=args.entity, time=args.time, by=args.by,
                        base_period=args.base_period, normalization=args.normalization,
                        aggregation=args.aggregation, missing=args.missing,
                        pool_by=args.pool_by, metadata=meta)
    ent = res.collapse_by() if res.by and res.normalization == "base_share" else res
    per = ent.periods
    period = args.period or str(per[-1])
    compare = args.compare or (str(per[0]) if len(per) > 1 else None)
    growth = "yoy_mean" if len(per) >= 5 and not ent.by else None
    run.step("writing tables")
    run.dirs()
    run.csv("scores", res.to_frame())
    run.csv("national", res.national_totals())
    run.csv("weights", res.weights.rename("weight").rename_axis("indicator").reset_index())
    kw = dict(compare=compare if compare != period else None, growth=growth, top=args.top)
    run.csv("ranking", index_table(ent, period, format="frame", **kw))
    run.table("ranking", lambda **k: index_table(
        ent, period, title=f"Ranking, {period}", **kw, **k), args.format)
    cols = set(meta.columns) if meta is not None else set()
    additive = res.normalization == "base_share" and not ent.by
    if "province" in cols and additive:
        prov = ent.rollup("province")
        pkw = dict(kw, top=None)
        run.csv("provinces", index_table(prov, period, format="frame", **pkw))
        run.table("provinces", lambda **k: index_table(
            prov, period, title=f"Provinces, {period}", **pkw, **k), args.format)
    if "cluster" in cols and not ent.by:
        ckw = dict(kw, top=args.top or 3)
        run.csv("clusters", index_table(ent, period, within="cluster", format="frame", **ckw))
    run.step("drawing figures")
    run.figure("index_trend", lambda: plots.index_trend_plot(res))
    if len(per) > 1 and not ent.by:
        run.figure("rank_bump", lambda: plots.rank_bump_plot(ent, top=min(10, args.top or 10)))
    if "province" in cols and additive:
        run.figure("provinces", lambda: plots.province_bar_plot(ent, period=period))
    if "tier" in cols and growth and not ent.by:
        run.figure("tier_growth", lambda: plots.growth_by_tier_plot(ent))
    if "cluster" in cols and additive:
        run.figure("cluster_shares", lambda: plots.cluster_share_plot(ent, period=period))
    top1 = ent.rank(period)
    show = index_table(ent, period, title=f"Ranking, {period}", format="markdown",
                       **dict(kw, top=args.top or 10))
    return run.done(f"{len(ent.entities)} {res.entity} x {len(per)} periods; first in "
                    f"{period}: {top1[res.entity].iloc[0]}", show=show)


def _metadata(args: argparse.Namespace, data: Any) -> Any:
    """Entity metadata: the bundled Chinese cities, or a file keyed by the entity column."""
    if args.metadata is None:
        return None
    from dtistat.errors import DataError

    if args.metadata == "cities":
        from dtistat.datasets import load_cities

        meta = load_cities()
        meta.insert(0, args.entity, meta["name_zh"])
        where = "the bundled city metadata (full Chinese names, e.g. 深圳市)"
    else:
        from dtistat._validate import check_columns
        from dtistat.io import read_data

        meta = read_data(args.metadata)
        check_columns(meta, [args.entity], what="metadata key column")
        where = repr(args.metadata)
    if args.entity in data.columns:
        known = set(meta[args.entity].astype(str))
        missing = sorted({str(e) for e in data[args.entity].unique()} - known)
        if missing:
            raise DataError(
                f"{len(missing)} {args.entity}(s) of the data are not in {where}, e.g. "
                f"{missing[:5]}")
    return meta


def _check_counts(args: argparse.Namespace, *names: str) -> None:
    """Counts that are only used after a long run are checked before it starts."""
    from dtistat.errors import ParameterError

    for name in names:
        val = getattr(args, name)
        if val is not None and val < 1:
            raise ParameterError(f"--{name.replace('_', '-')} must be a positive integer, "
                                 f"got {val}")


# --------------------------------------------------------------------------- sensitivity
def _sensitivity(args: argparse.Namespace) -> int:
    from dtistat import plots
    from dtistat.sensitivity import kernel, weight_sensitivity
    from dtistat.tables import frame_table

    _check_counts(args, "top", "top_k", "n_draws")
    run = _Run("sensitivity", 4, args.out)
    run.step(f"reading {args.data} and {args.spec}")
    data = _read(args)
    spec = _spec(args.spec)
    n = "one draw per expert" if args.method == "leave_one_expert_out" else \
        f"{args.n_draws:,} weight draws"
    run.step(f"Monte Carlo: {n} ({args.method}) ...")
    if kernel.needs_compiling():
        print(kernel.COMPILING, file=sys.stderr, flush=True)
    t = time.perf_counter()
    opts = {"delta": args.delta} if args.delta is not None else {}
    res = weight_sensitivity(
        data, spec, entity=args.entity, time=args.time, by=args.by, method=args.method,
        n_draws=args.n_draws, seed=args.seed, periods=args.period, top_k=args.top_k,
        node=args.node, base_period=args.base_period, normalization=args.normalization,
        n_jobs=args.jobs, progress=run.bar("draws"), **opts)
    print(f"      {res.n_draws:,} draws in {time.perf_counter() - t:.1f} s", file=sys.stderr)
    run.step("writing tables")
    run.dirs()
    summ = res.rank_table()
    run.csv("rank_uncertainty", summ)
    run.csv("draws", res.draws)
    if res.leave_one_out is not None:
        run.csv("leave_one_out", res.leave_one_out_summary())
    last = summ[summ[res.time] == summ[res.time].max()]
    cols = [c for c in (res.entity, *res.by, "nominal_rank", "median_rank", "rank_p05",
                        "rank_p95", "p_top_k") if c in last.columns]
    show = last[cols].head(args.top)
    run.table("rank_uncertainty", lambda **k: frame_table(
        show, digits=2, title=f"Rank uncertainty under {res.method} weights "
        f"({res.n_draws} draws), {last[res.time].iloc[0]}", **k), args.format)
    run.step("drawing figures")
    run.figure("rank_intervals", lambda: plots.rank_interval_plot(res, top=args.top))
    head = f"{res.n_draws} draws"
    if "rank_shift" in res.draws.columns:
        head += f"; mean absolute rank shift {res.draws['rank_shift'].mean():.2f}"
    if "spearman" in res.draws.columns:
        head += f", mean Spearman correlation {res.draws['spearman'].mean():.3f}"
    return run.done(head, show=frame_table(show, digits=2, format="markdown"))


# --------------------------------------------------------------------------- mediate
def _mediate(args: argparse.Namespace) -> int:
    from dtistat import plots
    from dtistat.mediation import fit_mediation
    from dtistat.tables import mediation_table

    run = _Run("mediate", 4, args.out)
    run.step(f"reading {args.data}")
    data = _read(args)
    boot = f"bootstrap of {args.n_boot:,} draws" if args.n_boot else "no bootstrap"
    run.step(f"fitting the path equations and the {boot} ...")
    t = time.perf_counter()
    res = fit_mediation(data, x=args.x, m=args.m, y=args.y, covariates=args.covariates,
                        entity=args.entity, time=args.time, fe=args.fe, cluster=args.cluster,
                        serial=args.serial, n_boot=args.n_boot, ci=args.ci, level=args.level,
                        seed=args.seed, procedure=args.procedure,
                        missing="drop" if args.dropna else "raise",
                        progress=run.bar("bootstrap") if args.n_boot else None)
    print(f"      done in {time.perf_counter() - t:.1f} s", file=sys.stderr)
    run.step("writing tables")
    run.dirs()
    run.csv("mediation_paths", res.paths)
    if len(res.indirect):
        run.csv("mediation_indirect", res.indirect)
    if len(res.proportions):
        run.csv("mediation_proportions", res.proportions)
    if res.procedure is not None:
        run.csv("mediation_procedure", res.procedure.steps)
    run.table("mediation", lambda **k: mediation_table(
        res, title=f"Mediation: {args.x} -> {' / '.join(args.m)} -> {args.y}", **k),
        args.format)
    run.step("drawing figures")
    if args.n_boot and len(res.indirect):
        run.figure("indirect_bootstrap", lambda: plots.indirect_effect_plot(res))
    if len(res.indirect):
        lines = [f"{r['term']} = {r['estimate']:.4g}, " + (
                 f"{100 * res.level:g}% CI [{r['ci_low']:.4g}, {r['ci_high']:.4g}]"
                 if r["ci_low"] == r["ci_low"] else "no interval (no bootstrap)")
                 for _, r in res.indirect.iterrows()]  # every mediator, and the total
        head = lines[0] if len(lines) == 1 else f"{len(lines)} indirect effects"
        show = "\n".join(lines) if len(lines) > 1 else None
    else:
        head, show = "paths estimated (no indirect effect under this procedure)", None
    return run.done(head, show=show)


# --------------------------------------------------------------------------- panel
def _panel(args: argparse.Namespace) -> int:
    import pandas as pd

    from dtistat import plots
    from dtistat.panel import fit_panel
    from dtistat.tables import regression_table

    run = _Run("panel", 4, args.out)
    run.step(f"reading {args.data}")
    data = _read(args)
    run.step(f"fitting {len(args.formula)} model(s)")
    fits = [fit_panel(data, f, entity=args.entity, time=args.time, model=args.model,
                      fe=args.fe, cov=args.cov, cluster=args.cluster,
                      small_sample=args.small_sample,
                      missing="drop" if args.dropna else "raise")
            for f in args.formula]
    run.step("writing tables")
    run.dirs()
    coefs = pd.concat([r.tidy().assign(model=i + 1, dependent=r.dependent,
                                          formula=r.formula)
                       for i, r in enumerate(fits)], ignore_index=True)
    run.csv("coefficients", coefs)
    run.csv("fit_stats", pd.DataFrame([r.fit_stats() for r in fits],
                                      index=pd.RangeIndex(1, len(fits) + 1, name="model")),
            index=True)
    run.table("regression", lambda **k: regression_table(fits, title=args.title, **k),
              args.format)
    run.step("drawing figures")
    run.figure("coefficients", lambda: plots.coef_plot(fits))
    return run.done(f"{len(fits)} model(s), N = {', '.join(str(r.nobs) for r in fits)}",
                    show=regression_table(fits, title=args.title, format="markdown"))


# --------------------------------------------------------------------------- factors
def _factors(args: argparse.Namespace) -> int:
    import pandas as pd

    from dtistat import plots
    from dtistat.factors import fit_efa
    from dtistat.tables import frame_table

    run = _Run("factors", 4, args.out)
    run.step(f"reading {args.data}")
    data = _read(args)
    nf: Any = args.n_factors
    if isinstance(nf, str) and nf.isdigit():
        nf = int(nf)
    what = (f"parallel analysis ({args.n_iter:,} random draws) and "
            if str(nf).startswith("parallel") else "")
    run.step(f"{what}exploratory factor analysis of {len(args.columns)} columns ...")
    rotation = None if args.rotation == "none" else args.rotation
    efa = fit_efa(data, args.columns, n_factors=nf, method=args.method, rotation=rotation,
                  n_iter=args.n_iter, seed=args.seed)
    run.step("writing tables")
    run.dirs()
    load = efa.to_frame().rename_axis("variable").reset_index()
    run.csv("loadings", load)
    run.csv("variance", efa.variance.rename_axis("factor").reset_index())
    adequacy = pd.DataFrame({
        "test": ["KMO", "Bartlett chi2", "Bartlett df", "Bartlett p"],
        "value": [efa.kmo.overall, efa.bartlett.statistic, efa.bartlett.df,
                  efa.bartlett.p_value]})
    run.csv("adequacy", adequacy)
    if efa.parallel is not None:
        run.csv("parallel_analysis", efa.parallel.to_frame())
    run.table("loadings", lambda **k: frame_table(
        load, digits=3, title=f"Factor loadings ({efa.method}, rotation "
        f"{efa.rotation or 'none'})", notes=f"KMO = {efa.kmo.overall:.3f}; Bartlett "
        f"chi2({efa.bartlett.df}) = {efa.bartlett.statistic:.1f}, p = "
        f"{efa.bartlett.p_value:.3g}; N = {efa.nobs}.", **k), args.format)
    run.step("drawing figures")
    run.figure("scree", lambda: plots.scree_plot(efa))
    return run.done(f"{efa.n_factors} factor(s); KMO {efa.kmo.overall:.3f}",
                    show=frame_table(load, digits=3, format="markdown"))


# --------------------------------------------------------------------------- parser
def _common(p: argparse.ArgumentParser, out_default: str) -> None:
    p.add_argument("data", metavar="DATA",
                   help="data file: .csv (UTF-8 or GBK/GB18030), .xlsx, .dta or .parquet")
    p.add_argument("--out", default=out_default, help="output folder (default: %(default)s)")
    p.add_argument("--format", default="markdown", choices=TABLE_FORMATS,
                   help="table format besides CSV (default: %(default)s)")
    p.add_argument("--encoding", default=None,
                   help="CSV encoding, e.g. gbk (default: try UTF-8, then GB18030)")
    p.add_argument("--sheet", default=None,
                   help="Excel sheet name or 0-based number (default: the first)")


def _index_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--spec", required=True, metavar="SPEC.yaml",
                   help="indicator tree and weights (YAML, see dtistat.IndexSpec)")
    p.add_argument("--entity", default="city", help="entity column (default: %(default)s)")
    p.add_argument("--time", default="quarter",
                   help="time column: quarters or integer years (default: %(default)s)")
    p.add_argument("--by", nargs="+", default=None, metavar="COL",
                   help="further key columns, e.g. industry (default: none)")
    p.add_argument("--base-period", default=None,
                   help="base period of base_share, a quarter or (annual data) a year "
                        "(default: 2021Q1, or 2021 for annual data)")
    p.add_argument("--normalization", default="base_share",
                   choices=("base_share", "minmax", "zscore", "rank", "distance_to_frontier"),
                   help="(default: %(default)s)")


def _add_demo(sub, fmt) -> None:
    """The ``demo`` subcommand's options."""
    d = sub.add_parser(
        "demo", help="run the whole method on the bundled demo world and write a report",
        description="Run the index, its analytics and the estimators on the demo world "
                    "(simulated data calibrated to the 2023 report; real city metadata) "
                    "and write report.html, tables/*.csv and figures/*.png.",
        epilog="example: dtistat demo --out dtistat-demo",
    )
    d.add_argument("--out", default="dtistat-demo", help="output folder (default: %(default)s)")
    d.add_argument("--seed", type=int, default=2023,
                   help="demo world seed; 2023 uses the shipped files (default: %(default)s)")
    d.set_defaults(func=_demo)


def _add_index(sub, fmt) -> None:
    """The ``index`` subcommand's options."""
    i = sub.add_parser(
        "index", help="compute a composite index, its ranking and trend",
        description="Compute the index of a wide panel (one row per entity x quarter, one "
                    "column per indicator) under an IndexSpec; write scores, national "
                    "totals, weights and the ranking with rank change and YoY growth, and "
                    "the trend and ranking figures.",
        epilog="example:\n  dtistat index cities.csv --spec spec.yaml --out out "
               "--entity city --time quarter --format latex",
        formatter_class=fmt)
    _common(i, "dtistat-index")
    _index_options(i)
    i.add_argument("--aggregation", default="arithmetic", choices=("arithmetic", "geometric"),
                   help="(default: %(default)s)")
    i.add_argument("--missing", default="error", choices=("error", "skip", "zero"),
                   help="NaN policy (default: %(default)s)")
    i.add_argument("--pool-by", action="store_true",
                   help="normalize over all --by levels together (industries add up)")
    i.add_argument("--period", default=None, help="ranking period (default: the last)")
    i.add_argument("--compare", default=None,
                   help="earlier period for the rank change (default: the first)")
    i.add_argument("--top", type=int, default=None,
                   help="rows of the ranking table (default: all)")
    i.add_argument("--metadata", default=None, metavar="cities|FILE",
                   help="entity metadata for province, tier and cluster tables and figures: "
                        "'cities' (the bundled 369 Chinese cities, matched on the full "
                        "Chinese name such as 深圳市) or a data file with the entity column "
                        "(default: none)")
    i.set_defaults(func=_index)


def _add_sensitivity(sub, fmt) -> None:
    """The ``sensitivity`` subcommand's options."""
    s = sub.add_parser(
        "sensitivity", help="rank uncertainty of an index under weight draws (Monte Carlo)",
        description="Draw alternative weights (resampled experts, noisy ratings, "
                    "multiplicative noise, other schemes) and report each entity's rank "
                    "interval, the draws and a leave-one-out analysis.",
        epilog="example:\n  dtistat sensitivity cities.csv --spec spec.yaml --n-draws 2000 "
               "--seed 1 --out out",
        formatter_class=fmt)
    _common(s, "dtistat-sensitivity")
    _index_options(s)
    s.add_argument("--method", default="expert_bootstrap",
                   choices=("expert_bootstrap", "leave_one_expert_out", "rating_noise",
                            "multiplicative", "schemes"), help="(default: %(default)s)")
    s.add_argument("--n-draws", type=int, default=1000, help="(default: %(default)s)")
    s.add_argument("--delta", type=float, default=None,
                   help="multiplicative method: half-width of the noise (default: 0.25)")
    s.add_argument("--seed", type=int, default=None, help="random seed (default: none)")
    s.add_argument("--period", nargs="+", default=None, help="periods analysed (default: all)")
    s.add_argument("--top-k", type=int, default=10, help="for P(top k) (default: %(default)s)")
    s.add_argument("--node", default="total", help="node ranked (default: %(default)s)")
    s.add_argument("--top", type=int, default=30,
                   help="rows of the table and figure (default: %(default)s)")
    s.add_argument("--jobs", type=int, default=None,
                   help="threads (default: every core; the numbers do not depend on it)")
    s.set_defaults(func=_sensitivity)


def _add_mediate(sub, fmt) -> None:
    """The ``mediate`` subcommand's options."""
    m = sub.add_parser(
        "mediate", help="mediation analysis with a (cluster) bootstrap",
        description="Fit Y ~ X, M ~ X and Y ~ X + M with optional fixed effects and "
                    "clustered SEs, bootstrap the indirect effects, and write the "
                    "three-equation table with the bootstrap test and the distribution "
                    "figure.",
        epilog="example:\n  dtistat mediate panel.dta --x invest --m infra platform --y fut "
               "--entity city --time quarter --fe twoway --n-boot 2000 --seed 1",
        formatter_class=fmt)
    _common(m, "dtistat-mediate")
    m.add_argument("--x", required=True, help="treatment column")
    m.add_argument("--m", required=True, nargs="+", metavar="M", help="mediator column(s)")
    m.add_argument("--y", required=True, help="outcome column")
    m.add_argument("--covariates", nargs="+", default=(), metavar="W",
                   help="controls (default: none)")
    m.add_argument("--entity", default=None,
                   help="entity column, for --fe and clusters (default: none)")
    m.add_argument("--time", default=None, help="time column, for --fe time/twoway (default: none)")
    m.add_argument("--fe", default=None, choices=("entity", "time", "twoway"),
                   help="fixed effects (default: none)")
    m.add_argument("--cluster", default=None, help="cluster column (default: the entity)")
    m.add_argument("--serial", action="store_true", help="mediators form a chain")
    m.add_argument("--n-boot", type=int, default=5000,
                   help="bootstrap draws, 0 for none, else at least 50 (default: %(default)s)")
    m.add_argument("--ci", default="bca", choices=("bca", "bc", "percentile"),
                   help="bootstrap interval (default: %(default)s)")
    m.add_argument("--level", type=float, default=0.95,
                   help="confidence level (default: %(default)s)")
    m.add_argument("--seed", type=int, default=None, help="random seed (default: none)")
    m.add_argument("--procedure", default=None, choices=("wen_ye_2014", "jiang_2022"),
                   help="stepwise procedure reported beside the paths (default: none)")
    m.add_argument("--dropna", action="store_true", help="drop rows with missing values")
    m.set_defaults(func=_mediate)


def _add_panel(sub, fmt) -> None:
    """The ``panel`` subcommand's options."""
    pn = sub.add_parser(
        "panel", help="panel regressions side by side",
        description="Fit one or more panel models (within, random, between, fd, pooled) "
                    "and write the coefficient CSV, the regression table and a "
                    "coefficient plot.",
        epilog="example:\n  dtistat panel grunfeld.csv --formula \"invest ~ value + capital\" "
               "--entity firm --time year --fe twoway --format latex",
        formatter_class=fmt)
    _common(pn, "dtistat-panel")
    pn.add_argument("--formula", required=True, nargs="+",
                    help="'y ~ x1 + x2' (several: one column each)")
    _panel_options(pn)
    pn.add_argument("--dropna", action="store_true", help="drop rows with missing values")
    pn.add_argument("--title", default=None, help="table caption (default: none)")
    pn.set_defaults(func=_panel)


def _panel_options(p: argparse.ArgumentParser) -> None:
    """Options shared by ``panel`` and ``hausman``."""
    p.add_argument("--entity", required=True, help="entity (unit) column")
    p.add_argument("--time", required=True, help="time column")
    p.add_argument("--model", default="within",
                   choices=("within", "random", "between", "fd", "pooled"),
                   help="estimator (default: %(default)s)")
    p.add_argument("--fe", default="entity", choices=("entity", "time", "twoway"),
                   help="fixed effects of the within model (default: %(default)s)")
    p.add_argument("--cov", default="cluster",
                   choices=("unadjusted", "robust", "cluster", "twoway-cluster",
                            "driscoll-kraay"),
                   help="standard errors (default: %(default)s)")
    p.add_argument("--cluster", nargs="+", default=None,
                   help="cluster column(s) (default: the entity)")
    p.add_argument("--small-sample", default="stata", choices=("stata", "areg", "none"),
                   help="small-sample correction of clustered SEs (default: %(default)s)")


def _add_factors(sub, fmt) -> None:
    """The ``factors`` subcommand's options."""
    f = sub.add_parser(
        "factors", help="exploratory factor analysis with parallel analysis",
        description="KMO, Bartlett's test, parallel analysis and EFA of the chosen "
                    "columns; writes loadings, variance, adequacy and the scree plot.",
        epilog="example:\n  dtistat factors environment.xlsx --columns vc rd incubators "
               "patents talent --rotation promax --seed 1",
        formatter_class=fmt)
    _common(f, "dtistat-factors")
    f.add_argument("--columns", required=True, nargs="+", metavar="COL")
    f.add_argument("--n-factors", default="parallel",
                   help="a number, 'parallel' (factor eigenvalues), 'parallel-pca' "
                   "(component eigenvalues) or 'kaiser' (default: %(default)s)")
    f.add_argument("--method", default="minres", choices=("minres", "ml", "principal"),
                   help="(default: %(default)s)")
    f.add_argument("--rotation", default="varimax",
                   choices=("varimax", "promax", "oblimin", "quartimax", "none"),
                   help="(default: %(default)s)")
    f.add_argument("--n-iter", type=int, default=1000,
                   help="parallel-analysis draws (default: %(default)s)")
    f.add_argument("--seed", type=int, default=None, help="random seed (default: none)")
    f.set_defaults(func=_factors)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="dtistat",
        description="Digital transformation index toolkit: index, weight sensitivity and "
                    "the econometrics of digitalization and future industries.",
    )
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    fmt = argparse.RawDescriptionHelpFormatter
    _add_demo(sub, fmt)
    _add_index(sub, fmt)
    _add_sensitivity(sub, fmt)
    _add_mediate(sub, fmt)
    _add_panel(sub, fmt)
    _add_factors(sub, fmt)
    from dtistat._cli_extra import add_cfa, add_hausman, add_survey

    add_cfa(sub, fmt)
    add_survey(sub, fmt)
    add_hausman(sub, fmt)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(data_first(parser, argv))
    if not getattr(args, "func", None):
        parser.print_help()
        return 0

    seen: set = set()
    glyphs: list[str] = []
    sub = subparser(parser, args.command)

    def one_line_warning(message, category, filename, lineno, file=None, line=None):
        text = str(message)
        if text.startswith("Glyph ") and "missing from" in text:
            glyphs.append(text)  # one note at the end, not one line per glyph
            return
        text = plain_words(text, sub)
        if text not in seen:
            seen.add(text)
            print(f"dtistat {args.command}: warning: {text}", file=sys.stderr)

    try:
        with warnings.catch_warnings():
            warnings.showwarning = one_line_warning
            return int(args.func(args))
    except (DtiStatError, ImportError, OSError) as exc:
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        msg = plain_words(msg, sub)
        print(f"dtistat {args.command}: error: {msg}", file=sys.stderr)
        return 2
    finally:
        from dtistat._plotting import glyph_note

        if glyph_note(glyphs):
            print(f"dtistat {args.command}: warning: {glyph_note(glyphs)}", file=sys.stderr)


if __name__ == "__main__":
    raise SystemExit(main())
