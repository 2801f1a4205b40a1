"""Spatial weights against libpysal (run here) and the city coordinates' provenance."""

import libpysal
import numpy as np
import pandas as pd
import pytest
from libpysal import examples

from dtistat.datasets import load_cities
from dtistat.errors import DataError, ParameterError
from dtistat.spatial.weights import (
    as_weights,
    distance_weights,
    economic_weights,
    from_libpysal,
    great_circle,
    knn_weights,
    nested_weights,
)


@pytest.fixture(scope="module")
def cities():
    return load_cities().set_index("city_id")


def test_city_coordinates_complete_and_sourced(cities):
    assert cities[["longitude", "latitude"]].notna().all().all()
    # mainland China's extent (73-135 E, 18-54 N; Sansha's seat aside, none here)
    assert cities["longitude"].between(73, 135).all()
    assert cities["latitude"].between(16, 54).all()
    assert cities["coord_source"].value_counts().to_dict() == {
        "cpca": 361, "wikipedia": 5, "cpca:542400": 1, "cpca-host:654003": 1,
        "cpca-host:650502": 1}
    # cpca 0.5.5 resources/adcodes.csv, row 110000000000 (北京市)
    assert cities.loc["110000", ["longitude", "latitude"]].tolist() == [116.407394, 39.904211]
    # Beijing-Shanghai great-circle distance ~1,067 km (haversine; published figures
    # for the city centres are 1,06x km)
    d = great_circle(cities.loc[["110000"], ["longitude", "latitude"]],
                     cities.loc[["310000"], ["longitude", "latitude"]])[0, 0]
    assert 1060 < d < 1075


def test_great_circle_matches_libpysal_arcdistance():
    from libpysal.cg import arcdist

    pts = np.array([[116.4, 39.9], [121.47, 31.23], [87.6, 43.8], [113.26, 23.13]])
    d = great_circle(pts)
    for i in range(4):
        for j in range(4):
            # libpysal.cg.arcdist takes (lon, lat) and the radius in km
            ref = arcdist(tuple(pts[i]), tuple(pts[j]), radius=6371.0088)
            assert d[i, j] == pytest.approx(ref, rel=1e-9, abs=1e-9)


def test_inverse_distance_and_knn_equal_libpysal(cities):
    xy = cities[["longitude", "latitude"]].to_numpy()[:120]
    ids = cities.index[:120]
    # libpysal.weights.DistanceBand on euclidean coordinates, binary=False, alpha=-2
    ref = libpysal.weights.DistanceBand(xy, threshold=5.0, binary=False, alpha=-2.0,
                                        silence_warnings=True)
    w = distance_weights(xy, ids=ids, method="inverse", power=2, cutoff=5.0,
                         metric="euclidean", transform="none")
    np.testing.assert_allclose(w.dense(), ref.sparse.toarray(), rtol=1e-12)
    band = libpysal.weights.DistanceBand(xy, threshold=3.0, binary=True, silence_warnings=True)
    wb = distance_weights(xy, ids=ids, method="band", cutoff=3.0, metric="euclidean",
                          transform="none")
    np.testing.assert_array_equal(wb.dense(), band.sparse.toarray())
    assert wb.islands == [ids[i] for i in band.islands]
    kref = libpysal.weights.KNN(xy, k=6)
    wk = knn_weights(xy, 6, ids=ids, metric="euclidean", transform="none")
    np.testing.assert_array_equal(wk.dense(), kref.sparse.toarray())


def test_great_circle_knn_and_cutoff(cities):
    xy = cities[["longitude", "latitude"]]
    D = great_circle(xy.to_numpy())
    np.fill_diagonal(D, np.inf)
    wk = knn_weights(xy, 8)
    nn = np.argsort(D, axis=1)[:, :8]
    dense = wk.dense()
    for i in range(len(xy)):
        assert set(np.flatnonzero(dense[i])) == set(nn[i])
        assert dense[i].sum() == pytest.approx(1.0)
    w = distance_weights(xy, cutoff=500, transform="none")
    ref = np.where(D <= 500, 1 / D, 0.0)
    np.testing.assert_allclose(w.dense(), ref, rtol=1e-12)
    wall = distance_weights(xy, power=2)
    r = np.where(np.isfinite(D), D ** -2.0, 0)
    np.testing.assert_allclose(wall.dense(), r / r.sum(1, keepdims=True), rtol=1e-12)


def test_islands_reported_and_refused_under_row_standardization(cities):
    xy = cities[["longitude", "latitude"]]
    w = distance_weights(xy, method="band", cutoff=150, transform="none")
    assert len(w.islands) > 0
    with pytest.raises(DataError, match="island"):
        distance_weights(xy, method="band", cutoff=150)
    with pytest.raises(DataError, match=str(w.islands[0])):
        w.row_standardize()


def test_economic_and_nested():
    y = pd.Series([1.0, 2.0, 4.0, 7.0], index=list("abcd"))
    e = economic_weights(y, transform="none").dense()
    assert e[0, 3] == pytest.approx(1 / 6)
    g = distance_weights([[0, 0], [1, 0], [2, 0], [3, 0]], ids=list("abcd"),
                         metric="euclidean", transform="none")
    nw = nested_weights(g, y, transform="none").dense()
    np.testing.assert_allclose(nw, g.dense() * (y.to_numpy() / y.mean())[None, :])
    mix = nested_weights(g, y, phi=0.3).dense()
    gr = g.row_standardize().dense()
    er = economic_weights(y).dense()
    np.testing.assert_allclose(mix, 0.3 * gr + 0.7 * er)  # rows already sum to one
    with pytest.raises(DataError, match="equal economic"):
        economic_weights([1.0, 1.0, 2.0])
    with pytest.raises(ParameterError, match="phi"):
        nested_weights(g, y, phi=2)


def test_libpysal_roundtrip():
    w = libpysal.io.open(examples.get_path("stl.gal")).read()
    w.transform = "r"
    ours = from_libpysal(w)
    back = ours.to_libpysal()
    np.testing.assert_allclose(back.sparse.toarray(), w.sparse.toarray())
    assert list(back.id_order) == list(w.id_order)
    assert ours.transform == "row"


def test_bad_weights_and_coordinates(cities):
    with pytest.raises(DataError, match="square"):
        as_weights(np.ones((2, 3)))
    bad = np.array([[0, np.nan], [1, 0]])
    with pytest.raises(DataError, match="NaN"):
        as_weights(bad)
    with pytest.raises(DataError, match="zero diagonal"):
        as_weights(np.ones((2, 2)))
    xy = cities[["longitude", "latitude"]].copy()
    xy.iloc[5, 0] = np.nan
    with pytest.raises(DataError, match=str(xy.index[5])):
        knn_weights(xy, 4)
    with pytest.raises(ParameterError, match="k="):
        knn_weights(cities[["longitude", "latitude"]].iloc[:3], 3)
