"""The demo world: real city metadata plus a documented, calibrated simulated study.

**Everything but the city metadata is simulated.** The DTI indicator cube reproduces the
report's published tables (see :mod:`dtistat.datasets.demo_index` for its DGP);
the other tables (start-up firms, entrepreneurship environment, AI clusters, survey
microdata, the mediation panel) come from :mod:`dtistat.datasets.demo_world`, whose
generators document their processes and true parameters.

The calibrated DTI cube of the default world (seed 2023) ships as compressed files in the
package, so loading it needs no calibration; ``tests/test_demo_index.py`` regenerates it
from the seed and checks the files are identical (``python -m dtistat.datasets.build``
rebuilds them). The other tables are generated on first access: their vectorized
generators take well under a second in all (200,000 firms in about 0.05 s), less than
reading the same tables from compressed CSV would.
"""

from __future__ import annotations

import functools
import gzip
import io
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import pandas as pd

from dtistat.datasets.cities import load_cities
from dtistat.datasets.demo_index import INDUSTRIES, simulate_index_cube
from dtistat.spec import IndexSpec

__all__ = ["DemoWorld", "load_demo", "build_files", "DEFAULT_SEED"]

DEFAULT_SEED = 2023
_FILES = {"cube": "demo_cube.csv.gz", "spec": "demo_spec.yaml", "totals": "demo_totals.csv.gz"}


@dataclass(frozen=True)
class DemoWorld:
    """The demo world's tables.

    Attributes
    ----------
    cube : DataFrame
        City × industry × quarter (2021Q1–2023Q1) raw indicators (simulated), keyed by
        ``city`` (full Chinese name, e.g. 深圳市), ``city_id``, ``industry``, ``quarter``.
    spec : IndexSpec
        The three-layer tree with 15 simulated experts' 1–5 scores.
    cities : DataFrame
        Real metadata (:func:`load_cities`) with a ``city`` column equal to ``name_zh``,
        ready to pass as ``metadata=`` to ``compute_index``.
    industries : DataFrame
        Industry keys and Chinese labels.
    city_index : DataFrame
        The designed (true) city total index per quarter, which ``compute_index`` on the
        cube reproduces to rounding.
    seed : int

    The simulated tables of :mod:`dtistat.datasets.demo_world` are properties generated
    on first access: ``firms``, ``environment``, ``ai_clusters``, ``survey``,
    ``survey_margins``, ``mediation_panel``; ``truth`` gathers every true parameter.
    """

    cube: pd.DataFrame
    spec: IndexSpec
    cities: pd.DataFrame
    industries: pd.DataFrame
    city_index: pd.DataFrame
    seed: int = DEFAULT_SEED
    extra: dict = field(default_factory=dict, repr=False)

    @functools.cached_property
    def firms(self) -> pd.DataFrame:
        """Start-up firm records (simulated), six future-industry domains."""
        from dtistat.datasets.demo_world import simulate_firms

        return simulate_firms(load_cities(), seed=self.seed)

    @functools.cached_property
    def environment(self) -> pd.DataFrame:
        """City entrepreneurship environment (simulated, 3-factor structure)."""
        from dtistat.datasets.demo_world import simulate_environment

        return simulate_environment(load_cities(), seed=self.seed)

    @functools.cached_property
    def ai_clusters(self) -> pd.DataFrame:
        """AI firms per city and six drivers of AI clustering (simulated)."""
        from dtistat.datasets.demo_world import simulate_ai_clusters

        return simulate_ai_clusters(load_cities(), seed=self.seed)

    @functools.cached_property
    def survey(self) -> pd.DataFrame:
        """5,796 survey respondents (simulated) for the report's PART 4."""
        from dtistat.datasets.demo_world import simulate_survey

        return simulate_survey(seed=self.seed)

    @property
    def survey_margins(self) -> dict:
        """Population margins for raking the survey."""
        from dtistat.datasets.demo_world import survey_margins

        return survey_margins()

    @functools.cached_property
    def dti(self) -> pd.DataFrame:
        """City × quarter DTI (total and layers) computed from the cube."""
        city = self.compute().collapse_by().scores
        out = city.rename(columns=lambda c: f"dti_{c}").reset_index()
        ids = dict(zip(self.cities["city"], self.cities["city_id"]))
        out.insert(0, "city_id", out["city"].map(ids))
        out["quarter"] = out["quarter"].astype(str)
        return out

    @functools.cached_property
    def mediation_panel(self) -> pd.DataFrame:
        """City × quarter panel: investment -> digital infrastructure / platform ->
        future-industry development, built on the cube's DTI (simulated)."""
        from dtistat.datasets.demo_world import simulate_mediation_panel

        panel = simulate_mediation_panel(load_cities(), dti=self.dti, seed=self.seed)
        names = dict(zip(self.cities["city_id"], self.cities["city"]))
        panel.insert(1, "city", panel["city_id"].map(names))
        return panel

    @functools.cached_property
    def spatial_panel(self) -> pd.DataFrame:
        """The mediation panel's cities and quarters with a simulated spatial Durbin
        outcome on the real coordinates (see :mod:`dtistat.datasets.demo_spatial`)."""
        from dtistat.datasets.demo_spatial import simulate_spatial_panel

        return simulate_spatial_panel(load_cities(), self.mediation_panel, seed=self.seed)

    @functools.cached_property
    def threshold_panel(self) -> pd.DataFrame:
        """City x quarter panel with a human-capital threshold in the DTI effect
        (simulated; :mod:`dtistat.datasets.demo_threshold`)."""
        from dtistat.datasets.demo_threshold import simulate_threshold_panel

        return simulate_threshold_panel(self.mediation_panel, seed=self.seed)

    @functools.cached_property
    def did_panel(self) -> pd.DataFrame:
        """City x year panel of a staggered pilot in three batches (simulated;
        :mod:`dtistat.datasets.demo_did` documents the process and its true effects)."""
        from dtistat.datasets.demo_did import simulate_staggered_pilot

        return simulate_staggered_pilot(load_cities(), seed=self.seed)

    @functools.cached_property
    def iv_panel(self) -> pd.DataFrame:
        """City x year panel: endogenous DTI, 1984-style shift-share instruments (simulated)."""
        from dtistat.datasets.demo_iv import simulate_iv_panel

        return simulate_iv_panel(load_cities(), seed=self.seed)

    @functools.cached_property
    def hetero_panel(self) -> pd.DataFrame:
        """The mediation panel plus a regional DTI-effect difference and a moderator
        (simulated; :mod:`dtistat.datasets.demo_hetero`)."""
        from dtistat.datasets.demo_hetero import simulate_hetero_panel

        return simulate_hetero_panel(self.cities, self.mediation_panel, seed=self.seed)

    @property
    def truth(self) -> dict:
        """True parameters of every simulated table (and the designed city index)."""
        from dtistat.datasets.demo_world import truth

        t = truth().to_dict()
        t["city_index"] = self.city_index
        return t

    def compute(self, **kwargs):
        """The demo index: ``compute_index(cube, spec, by="industry", pool_by=True)``."""
        from dtistat.index.compute import compute_index

        opts = dict(entity="city", time="quarter", by="industry", pool_by=True,
                    metadata=self.cities)
        opts.update(kwargs)
        return compute_index(self.cube, self.spec, **opts)


def _cities() -> pd.DataFrame:
    c = load_cities()
    c.insert(0, "city", c["name_zh"])
    return c


def _cube_csv(cube: pd.DataFrame) -> str:
    buf = io.StringIO()
    cube.drop(columns=["city"]).to_csv(buf, index=False, float_format="%.6g",
                                       lineterminator="\n")
    return buf.getvalue()


def _totals_csv(totals: pd.DataFrame) -> str:
    buf = io.StringIO()
    totals.to_csv(buf, index=False, float_format="%.17g", lineterminator="\n")
    return buf.getvalue()


def build_files(directory: str | Path | None = None, seed: int = DEFAULT_SEED) -> dict:
    """Generate the shipped demo files into ``directory`` (default: the package folder)."""
    d = Path(directory) if directory is not None else Path(__file__).parent
    world = simulate_index_cube(load_cities(), seed=seed)
    out = {
        "cube": gzip.compress(_cube_csv(world.cube).encode("utf-8"), 9, mtime=0),
        "spec": world.spec.to_yaml().encode("utf-8"),
        "totals": gzip.compress(_totals_csv(world.city_total).encode("utf-8"), 9, mtime=0),
    }
    for key, data in out.items():
        (d / _FILES[key]).write_bytes(data)
    return {k: d / v for k, v in _FILES.items()}


def _read_shipped():
    pkg = resources.files("dtistat.datasets")
    with pkg.joinpath(_FILES["cube"]).open("rb") as fh:
        cube = pd.read_csv(io.BytesIO(gzip.decompress(fh.read())),
                           dtype={"city_id": str, "industry": str, "quarter": str})
    spec = IndexSpec.from_yaml(pkg.joinpath(_FILES["spec"]).read_text(encoding="utf-8"))
    with pkg.joinpath(_FILES["totals"]).open("rb") as fh:
        totals = pd.read_csv(io.BytesIO(gzip.decompress(fh.read())),
                             dtype={"city": str, "quarter": str})
    return cube, spec, totals


def load_demo(seed: int = DEFAULT_SEED) -> DemoWorld:
    """Load the demo world (simulated study on real city metadata).

    Parameters
    ----------
    seed : int
        2023 (default) loads the shipped files; any other seed generates a new world
        with the same data-generating process (about a second).

    Examples
    --------
    >>> from dtistat.datasets import load_demo
    >>> world = load_demo()
    >>> res = world.compute()
    >>> res.collapse_by().rank("2023Q1").head(3)["city"].tolist()
    ['上海市', '北京市', '深圳市']
    """
    cities = _cities()
    if seed == DEFAULT_SEED:
        cube, spec, totals = _read_shipped()
        names = dict(zip(cities["city_id"], cities["name_zh"]))
        cube.insert(1, "city", cube["city_id"].map(names))
    else:
        sim = simulate_index_cube(load_cities(), seed=seed)
        cube, spec, totals = sim.cube, sim.spec, sim.city_total
    industries = pd.DataFrame(INDUSTRIES, columns=["industry", "label"])
    return DemoWorld(cube=cube, spec=spec, cities=cities, industries=industries,
                     city_index=totals, seed=seed)
