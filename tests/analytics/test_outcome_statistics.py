"""The outcome statistics against a published result, planted effects and the rules' edges.

- Published: Grunfeld's investment data (shipped with statsmodels), `regress invest mvalue kstock,
  vce(cluster company)` as Stata reports it (the reference statsmodels' own test suite keeps in
  statsmodels/regression/tests/results/results_grunfeld_ols_robust_cluster.py).
- Simulated districts with a known effect and known clustering: the estimate's interval covers
  the truth about 95% of the time, and a null effect is called significant about 5% of the time.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from statsmodels.datasets import grunfeld

from services.analytics.outcomes import statistics
from services.analytics.outcomes.statistics import analyse, baseline_verdict, clustered_ols, tier

TRUE_G = 0.30


def district(
    rng: np.random.Generator,
    *,
    effect: float,
    classes: int = 60,
    per_class: int = 25,
    class_sd: float = 0.2,
    prior_weight: float = 0.5,
    selection: float = 0.0,
) -> pd.DataFrame:
    """Students in classes; half the classes use the tool; outcome SD 1 within a group.

    outcome = effect * treated + prior_weight * prior + class effect + noise, with prior ~ N(0, 1),
    so the standardised effect is `effect` (before Hedges' small-sample correction). `selection`
    shifts the users' prior scores (users were stronger students to begin with).
    """
    rows = []
    treated_classes = set(rng.choice(classes, classes // 2, replace=False).tolist())
    noise_sd = np.sqrt(1.0 - prior_weight**2 - class_sd**2)
    for c in range(classes):
        treated = int(c in treated_classes)
        u = rng.normal(0.0, class_sd)
        prior = rng.normal(selection * treated, 1.0, per_class)
        outcome = effect * treated + prior_weight * prior + u + rng.normal(0.0, noise_sd, per_class)
        for p, y in zip(prior, outcome, strict=True):
            rows.append(
                {
                    "outcome": y,
                    "treated": treated,
                    "prior": p,
                    "grade": str(5 + c % 2),
                    "school": f"school-{c % 4}",
                    "cluster": f"class-{c}",
                }
            )
    return pd.DataFrame(rows)


def test_clustered_regression_matches_statas_published_grunfeld_result() -> None:
    data = grunfeld.load_pandas().data.iloc[:200]  # Stata's copy has 10 firms (statsmodels' has 11)
    data = data.rename(columns={"value": "mvalue", "capital": "kstock"})
    fit = clustered_ols(data, "invest ~ mvalue + kstock", "firm")
    # regress invest mvalue kstock, vce(cluster company): b and se
    expected = {
        "mvalue": (0.11556215606596, 0.01589433647768),
        "kstock": (0.23067848754982, 0.08496711097464),
        "Intercept": (-42.714369016733, 20.425202580078),
    }
    for name, (b, se) in expected.items():
        assert fit.params[name] == pytest.approx(b, rel=1e-6)
        assert fit.bse[name] == pytest.approx(se, rel=1e-6)
    assert fit.df_resid_inference == 9  # t(G - 1), as Stata


def test_a_planted_effect_is_recovered_with_its_clustering() -> None:
    # one fixed draw, read in full; how often the interval covers the truth is the next tests' job
    result = analyse(district(np.random.default_rng(11), effect=TRUE_G))
    assert result.finding == "positive"
    assert result.g_ci_low is not None and result.g_ci_high is not None
    assert result.g_ci_low <= TRUE_G <= result.g_ci_high
    assert result.treated is not None and result.treated.students == 750
    assert result.classes == 60 and result.schools == 4
    assert result.controls == ["prior score", "grade", "school"]
    assert result.icc is not None and 0.01 < result.icc < 0.12  # planted: 0.04 of the outcome's 1
    assert result.mde is not None and result.mde < statistics.SUBSTANTIVE
    assert result.tier == 3 and "Tier 3" in result.tier_reason
    assert result.baseline in ("satisfied", "satisfied with statistical adjustment")


def _g_interval(frame: pd.DataFrame) -> tuple[float, float, float]:
    """(g, low, high) exactly as `analyse` computes them, without its power analysis (speed)."""
    frame = frame.copy()
    frame["prior_z"] = (frame["prior"] - frame["prior"].mean()) / frame["prior"].std(ddof=1)
    fit = clustered_ols(frame, "outcome ~ treated + prior_z + C(grade) + C(school)", "cluster")
    scale = statistics._unit_g(frame[frame.treated == 1], frame[frame.treated == 0])
    low, high = fit.conf_int(alpha=statistics.ALPHA).loc["treated"]
    return float(fit.params["treated"]) * scale, float(low) * scale, float(high) * scale


def test_the_interval_covers_the_truth_about_95_percent_of_the_time() -> None:
    rng = np.random.default_rng(2026)
    draws = 200
    covered = 0
    for _ in range(draws):
        _, low, high = _g_interval(district(rng, effect=TRUE_G, selection=0.3))
        covered += low <= TRUE_G <= high
    # 95% +- 3 standard errors of a proportion over 200 draws (0.015)
    assert 0.90 <= covered / draws <= 0.995


def test_a_null_effect_is_called_significant_about_5_percent_of_the_time() -> None:
    rng = np.random.default_rng(11)
    draws = 200
    significant = 0
    for _ in range(draws):
        _, low, high = _g_interval(district(rng, effect=0.0, selection=0.3))
        significant += not (low <= 0.0 <= high)
    assert significant / draws <= 0.095


def test_the_analysis_and_the_interval_helper_agree() -> None:
    frame = district(np.random.default_rng(3), effect=0.2)
    result = analyse(frame)
    g, low, high = _g_interval(frame)
    assert (result.hedges_g, result.g_ci_low, result.g_ci_high) == pytest.approx((g, low, high))


def test_a_small_sample_is_underpowered_never_no_effect() -> None:
    frame = district(np.random.default_rng(5), effect=0.1, classes=12, per_class=12, class_sd=0.3)
    result = analyse(frame)
    assert result.finding == "underpowered"
    assert result.mde is not None and result.mde > statistics.SUBSTANTIVE
    assert "no effect" not in result.summary and "cannot be ruled out" in result.summary
    assert result.tier == 4


def test_too_few_classes_give_no_estimate_at_all() -> None:
    frame = district(np.random.default_rng(5), effect=0.1, classes=4, per_class=12, class_sd=0.3)
    result = analyse(frame)
    assert result.finding == "underpowered" and result.p_value is None and result.hedges_g is None
    assert "4 classes" in result.summary
    assert result.treated is not None and result.treated.students == 24


def test_groups_under_ten_students_are_suppressed() -> None:
    frame = district(np.random.default_rng(1), effect=0.3, classes=4, per_class=12)
    users = frame[frame.treated == 1].index[:-9]
    result = analyse(frame.drop(index=users))  # 9 users left
    assert result.finding == "suppressed"
    assert result.hedges_g is None and result.treated is None
    assert "<10" in result.summary


def test_without_prior_scores_no_tier_3_even_when_significant() -> None:
    frame = district(np.random.default_rng(9), effect=0.5)
    frame["prior"] = np.nan
    result = analyse(frame)
    assert result.finding == "positive"
    assert "prior score" not in result.controls
    assert result.baseline == "not assessable"
    assert result.tier == 4 and "prior achievement" in result.tier_reason


def test_a_significant_negative_effect_is_never_tier_3() -> None:
    result = analyse(district(np.random.default_rng(4), effect=-0.4))
    assert result.finding == "negative" and result.tier == 4


def test_strong_selection_fails_baseline_equivalence() -> None:
    result = analyse(district(np.random.default_rng(8), effect=0.4, selection=0.6))
    assert result.baseline_g is not None and result.baseline_g > statistics.BASELINE_ADJUSTABLE
    assert result.baseline == "not satisfied"
    assert result.tier == 4 and "baseline" in result.tier_reason


@given(st.floats(min_value=-3, max_value=3, allow_nan=False))
def test_baseline_verdict_follows_the_wwc_thresholds(g: float) -> None:
    verdict = baseline_verdict(g)
    if abs(g) <= 0.05:
        assert verdict == "satisfied"
    elif abs(g) <= 0.25:
        assert verdict == "satisfied with statistical adjustment"
    else:
        assert verdict == "not satisfied"


@given(
    st.booleans(),
    st.booleans(),
    st.lists(st.sampled_from(["prior score", "grade", "school"]), unique=True),
    st.sampled_from(
        ["satisfied", "satisfied with statistical adjustment", "not satisfied", "not assessable"]
    ),
)
def test_tier_3_needs_a_positive_significant_effect_with_prior_control(
    positive: bool, negative: bool, controls: list[str], baseline: statistics.Baseline
) -> None:
    level, reason = tier(
        significant_positive=positive, negative=negative, controls=controls, baseline=baseline
    )
    assert level in (3, 4)  # never Tier 1 or 2 from observational data
    assert (level == 3) == (
        positive and not negative and "prior score" in controls and baseline != "not satisfied"
    )
    assert reason
