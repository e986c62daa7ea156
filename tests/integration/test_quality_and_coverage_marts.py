"""The new marts of the shared published night, each checked on one figure against an independent
computation from the rows below it."""

from __future__ import annotations

import numpy as np
import psycopg
import pytest
from scipy import stats

pytestmark = pytest.mark.integration


def test_zscore_moments_match_numpy_and_scipy_on_the_raw_zscores(published_night) -> None:
    with psycopg.connect(published_night.url) as conn:
        month, puskesmas = conn.execute(
            "select month_start, puskesmas_key from marts.mart_anthropometry_quality_monthly "
            "order by haz_valid desc, month_start, puskesmas_key limit 1").fetchone()
        published = conn.execute(
            "select haz_valid, haz_sd, haz_skewness, haz_kurtosis, whz_valid, whz_sd "
            "from marts.mart_anthropometry_quality_monthly where month_start = %s and puskesmas_key = %s",
            (month, puskesmas)).fetchone()
        rows = conn.execute(
            "select haz, haz_flag, whz, whz_flag from marts.fct_anthropometry "
            "where measurement_month = %s and puskesmas_key = %s", (month, puskesmas)).fetchall()
    haz = np.array([z for z, flag, _, _ in rows if z is not None and not flag])
    whz = np.array([z for _, _, z, flag in rows if z is not None and not flag])
    assert len(haz) >= 20, "the busiest puskesmas-month has enough children to compare"
    expected = (len(haz), haz.std(ddof=1), stats.skew(haz), stats.kurtosis(haz), len(whz), whz.std(ddof=1))
    assert published[0] == expected[0] and published[4] == expected[4]
    for got, want in zip(published[1:4] + published[5:], expected[1:4] + expected[5:], strict=True):
        assert float(got) == pytest.approx(want, abs=0.005)
