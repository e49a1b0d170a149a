"""The analysis of one outcome: users of a tool against a comparison group, with statistics a
district can defend. Pure functions over a table of students; statsmodels does the statistics.

The table has one row per student: `outcome` (the score), `treated` (1 = used the tool as the
analysis defines use, 0 = comparison), `prior` (prior-year or pre-test score, may be missing),
`grade`, `school` and `cluster` (the class the student is taught in, else the school).

- **Model**: OLS of the outcome on `treated`, the prior score (standardised), grade and school
  (as categories, where they vary), standard errors robust to clustering by class (statsmodels
  `cov_type="cluster"` with the small-sample correction and t(G-1) inference, as Stata's
  `vce(cluster)`).
- **Effect size**: Hedges' g, the adjusted difference over the pooled within-group standard
  deviation of the outcome with the small-sample correction (What Works Clearinghouse Procedures
  and Standards Handbook 5.0, appendix E; statsmodels `effectsize_smd`). Its confidence interval
  and p value are the cluster-robust ones of the coefficient, on the same scale.
- **Baseline equivalence** on the prior score, in standard deviations (WWC 5.0 section II.C):
  <= 0.05 satisfied; 0.05-0.25 satisfied only with statistical adjustment (the model adjusts for
  the prior score); > 0.25 not satisfied.
- **Minimum detectable effect** at 80% power, two-sided 5%: statsmodels' power of a two-sample
  t test on the sample's effective size (the design effect of clustering, 1 + (m - 1) ICC, with
  the ICC of a random-intercept model), shrunk by the share of variance the covariates explain
  (Bloom 1995; Dong & Maynard 2013, PowerUp!). A non-significant result whose MDE exceeds
  0.25 SD (WWC's "substantively important") is "underpowered", never "no effect".
- **Evidence tier** (ESSA section 8101(21)(A); U.S. Department of Education, "Using Evidence to
  Strengthen Education Investments", 2016): observational data can support at most Tier 3
  ("promising": a correlational study with statistical controls for selection bias and at least
  one statistically significant positive effect not overridden by a negative one); otherwise
  Tier 4 ("demonstrates a rationale") at most. Never Tier 1 or 2.
- **Suppression**: a group (or any reported cell) of fewer than 10 students is not reported, so
  no report identifies a student.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
import patsy
import statsmodels.api as sm
import statsmodels.formula.api as smf
from statsmodels.stats.meta_analysis import effectsize_smd
from statsmodels.stats.power import TTestIndPower
from statsmodels.tools.sm_exceptions import ConvergenceWarning

from services.analytics.outcomes import MIN_CELL

MIN_CLASSES = 10
"""Fewest classes for standard errors robust to clustering to be trusted (with fewer, they are
far too small: Cameron & Miller 2015, "A Practitioner's Guide to Cluster-Robust Inference")."""
ALPHA = 0.05
POWER = 0.80
SUBSTANTIVE = 0.25
"""WWC's substantively important effect size: an MDE above it is underpowered."""
BASELINE_SATISFIED = 0.05
BASELINE_ADJUSTABLE = 0.25

Baseline = Literal["satisfied", "satisfied with statistical adjustment", "not satisfied", "not assessable"]
Finding = Literal["positive", "negative", "no detectable effect", "underpowered", "suppressed"]


@dataclass(frozen=True)
class Group:
    """One group's size and raw outcome (and prior) means and standard deviations."""

    students: int
    outcome_mean: float
    outcome_sd: float
    prior_mean: float | None
    prior_sd: float | None


@dataclass(frozen=True)
class Estimate:
    """What the analysis found, with every figure a reader needs to judge it."""

    finding: Finding
    summary: str
    treated: Group | None = None
    comparison: Group | None = None
    classes: int = 0
    schools: int = 0
    controls: list[str] = field(default_factory=list)
    difference: float | None = None
    """Adjusted mean difference (outcome units)."""
    standard_error: float | None = None
    p_value: float | None = None
    hedges_g: float | None = None
    g_ci_low: float | None = None
    g_ci_high: float | None = None
    baseline_g: float | None = None
    baseline: Baseline = "not assessable"
    icc: float | None = None
    mde: float | None = None
    """Minimum detectable effect in standard deviations (80% power, two-sided 5%)."""
    tier: Literal[3, 4] = 4
    tier_reason: str = ""


def _group(frame: pd.DataFrame) -> Group:
    prior = frame["prior"].dropna()
    return Group(
        students=len(frame),
        outcome_mean=float(frame["outcome"].mean()),
        outcome_sd=float(frame["outcome"].std(ddof=1)),
        prior_mean=float(prior.mean()) if len(prior) > 1 else None,
        prior_sd=float(prior.std(ddof=1)) if len(prior) > 1 else None,
    )


def smd(treated: pd.Series, comparison: pd.Series) -> float:
    """Hedges' g of two samples (bias-corrected standardised mean difference)."""
    g, _ = effectsize_smd(
        float(treated.mean()),
        float(treated.std(ddof=1)),
        len(treated),
        float(comparison.mean()),
        float(comparison.std(ddof=1)),
        len(comparison),
    )
    return float(g)


def baseline_verdict(g: float | None) -> Baseline:
    """The WWC baseline-equivalence verdict of a baseline difference in SD units."""
    if g is None or not math.isfinite(g):
        return "not assessable"
    if abs(g) <= BASELINE_SATISFIED:
        return "satisfied"
    if abs(g) <= BASELINE_ADJUSTABLE:
        return "satisfied with statistical adjustment"
    return "not satisfied"


def intraclass_correlation(frame: pd.DataFrame) -> float:
    """The ICC of the outcome within clusters (random-intercept model; 0 when it has no variance)."""
    if frame["cluster"].nunique() < 2:
        return 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        warnings.simplefilter("ignore", UserWarning)
        fit = smf.mixedlm("outcome ~ 1", frame, groups=frame["cluster"]).fit(reml=True)
    between = float(np.asarray(fit.cov_re)[0, 0])
    within = float(fit.scale)
    if not math.isfinite(between) or between <= 0 or within <= 0:
        return 0.0
    return between / (between + within)


def minimum_detectable_effect(
    n_treated: int, n_comparison: int, *, clusters: int, icc: float, r_squared: float
) -> float:
    """The smallest effect (SD units) the design detects with 80% power at two-sided 5%."""
    n = n_treated + n_comparison
    size = n / max(clusters, 1)
    design_effect = 1.0 + max(size - 1.0, 0.0) * icc
    effective_treated = max(n_treated / design_effect, 2.0)
    ratio = n_comparison / n_treated
    mde = TTestIndPower().solve_power(
        effect_size=None, nobs1=effective_treated, alpha=ALPHA, power=POWER, ratio=ratio
    )
    return float(mde) * math.sqrt(max(1.0 - r_squared, 0.0))


def _formula(frame: pd.DataFrame, *, with_treatment: bool) -> tuple[str, list[str]]:
    terms, controls = (["treated"] if with_treatment else []), []
    if frame["prior"].notna().all() and frame["prior"].std(ddof=1) > 0:
        terms.append("prior_z")
        controls.append("prior score")
    for column, label in (("grade", "grade"), ("school", "school")):
        levels = frame[column].nunique()
        # a school holding one class or two is its classes: a dummy each would absorb the
        # clusters the standard errors are computed from
        if levels > 1 and (column != "school" or frame["cluster"].nunique() >= 3 * levels):
            terms.append(f"C({column})")
            controls.append(label)
    return "outcome ~ " + (" + ".join(terms) or "1"), controls


def independent_columns(design: pd.DataFrame) -> pd.DataFrame:
    """The design's columns in order, less each one the earlier ones already span.

    Real districts nest grades in schools (an elementary school has no grade 7): their dummies
    are then collinear, and a rank-deficient design leaves the clustered covariance undefined.
    Columns come first to last, so the intercept and `treated` are kept whenever they can be.
    """
    kept: list[str] = []
    rank = 0
    for column in design.columns:
        candidate = np.linalg.matrix_rank(design[[*kept, column]].to_numpy())
        if candidate > rank:
            kept.append(column)
            rank = candidate
    return design[kept]


def clustered_ols(frame: pd.DataFrame, formula: str, cluster: str) -> Any:
    """OLS with standard errors robust to clustering (Stata's `regress ..., vce(cluster c)`)."""
    outcome, design = patsy.dmatrices(formula, frame, return_type="dataframe")
    first = [c for c in ("Intercept", "treated", "prior_z") if c in design.columns]
    design = design[first + [c for c in design.columns if c not in first]]  # patsy puts categories first
    groups = pd.factorize(frame.loc[outcome.index, cluster])[0]
    return sm.OLS(outcome, independent_columns(design)).fit(
        cov_type="cluster", cov_kwds={"groups": groups, "use_correction": True}, use_t=True
    )


def tier(
    *, significant_positive: bool, negative: bool, controls: list[str], baseline: Baseline
) -> tuple[Literal[3, 4], str]:
    """The ESSA tier observational evidence supports, and why."""
    if negative:
        return 4, "a statistically significant negative effect: at most Tier 4 (demonstrates a rationale)"
    if not significant_positive:
        return 4, (
            "no statistically significant positive effect: at most Tier 4 (demonstrates a rationale); "
            "Tier 3 needs one"
        )
    if "prior score" not in controls:
        return 4, "no control for prior achievement (selection bias): at most Tier 4"
    if baseline == "not satisfied":
        return 4, "the groups differ by more than 0.25 SD at baseline: at most Tier 4"
    return 3, (
        "Tier 3 (promising): a correlational study with statistical controls for prior achievement"
        f"{', grade and school' if len(controls) > 1 else ''} and a statistically significant positive "
        "effect; observational data cannot support Tier 1 or 2"
    )


def analyse(students: pd.DataFrame) -> Estimate:
    """Estimate the effect of use on the outcome for a table of students (see the module)."""
    frame = students.dropna(subset=["outcome"]).copy()
    treated, comparison = frame[frame["treated"] == 1], frame[frame["treated"] == 0]
    if len(treated) < MIN_CELL or len(comparison) < MIN_CELL:
        return Estimate(
            finding="suppressed",
            summary=f"not reported: each group needs at least {MIN_CELL} students with an outcome "
            f"(users: {'<' + str(MIN_CELL) if len(treated) < MIN_CELL else len(treated)}, comparison: "
            f"{'<' + str(MIN_CELL) if len(comparison) < MIN_CELL else len(comparison)})",
            tier=4,
            tier_reason="too few students to estimate an effect",
        )
    prior_sd = frame["prior"].std(ddof=1)
    frame["prior_z"] = (frame["prior"] - frame["prior"].mean()) / prior_sd if prior_sd > 0 else 0.0
    formula, controls = _formula(frame, with_treatment=True)
    clusters = int(frame["cluster"].nunique())
    if clusters < MIN_CLASSES:
        return Estimate(
            finding="underpowered",
            summary=f"underpowered: the students come from {clusters} classes; at least {MIN_CLASSES} "
            "are needed for standard errors that account for students sharing a class, so no effect "
            "can be estimated or ruled out",
            treated=_group(treated),
            comparison=_group(comparison),
            classes=clusters,
            schools=int(frame["school"].nunique()),
            tier=4,
            tier_reason=f"fewer than {MIN_CLASSES} classes: at most Tier 4 (demonstrates a rationale)",
        )
    fit = clustered_ols(frame, formula, "cluster")
    difference, se = float(fit.params["treated"]), float(fit.bse["treated"])
    p = float(fit.pvalues["treated"])
    low, high = (float(v) for v in fit.conf_int(alpha=ALPHA).loc["treated"])
    scale = _unit_g(treated, comparison)  # g of one outcome unit: J / pooled SD
    covariates, _ = _formula(frame, with_treatment=False)
    r_squared = 0.0
    if covariates != "outcome ~ 1":
        outcome, design = patsy.dmatrices(covariates, frame, return_type="dataframe")
        r_squared = float(sm.OLS(outcome, independent_columns(design)).fit().rsquared)
    icc = intraclass_correlation(frame)
    mde = minimum_detectable_effect(
        len(treated), len(comparison), clusters=clusters, icc=icc, r_squared=r_squared
    )
    baseline_g = None
    if _has_prior(treated, comparison):
        baseline_g = smd(treated["prior"].dropna(), comparison["prior"].dropna())
    baseline = baseline_verdict(baseline_g)
    g = difference * scale
    significant = p < ALPHA
    if significant:
        finding: Finding = "positive" if g > 0 else "negative"
        summary = (
            f"a statistically significant {finding} effect: g = {g:.2f} "
            f"(95% CI {low * scale:.2f} to {high * scale:.2f}), p = {p:.3f}"
        )
    elif mde > SUBSTANTIVE:
        finding = "underpowered"
        summary = (
            f"underpowered: g = {g:.2f}, not statistically significant (p = {p:.3f}); this sample could only "
            f"detect effects of {mde:.2f} SD or more, so a smaller effect cannot be ruled out"
        )
    else:
        finding = "no detectable effect"
        summary = (
            f"no statistically significant effect (g = {g:.2f}, p = {p:.3f}); "
            f"the sample could detect {mde:.2f} SD"
        )
    level, reason = tier(
        significant_positive=significant and g > 0,
        negative=significant and g < 0,
        controls=controls,
        baseline=baseline,
    )
    return Estimate(
        finding=finding,
        summary=summary,
        treated=_group(treated),
        comparison=_group(comparison),
        classes=clusters,
        schools=int(frame["school"].nunique()),
        controls=controls,
        difference=difference,
        standard_error=se,
        p_value=p,
        hedges_g=g,
        g_ci_low=low * scale,
        g_ci_high=high * scale,
        baseline_g=baseline_g,
        baseline=baseline,
        icc=icc,
        mde=mde,
        tier=level,
        tier_reason=reason,
    )


def _has_prior(treated: pd.DataFrame, comparison: pd.DataFrame) -> bool:
    return bool(treated["prior"].notna().sum() > 1 and comparison["prior"].notna().sum() > 1)


def _unit_g(treated: pd.DataFrame, comparison: pd.DataFrame) -> float:
    """Hedges' g of a difference of one outcome unit between these groups (J / pooled SD)."""
    g, _ = effectsize_smd(
        1.0,
        float(treated["outcome"].std(ddof=1)),
        len(treated),
        0.0,
        float(comparison["outcome"].std(ddof=1)),
        len(comparison),
    )
    return float(g)
