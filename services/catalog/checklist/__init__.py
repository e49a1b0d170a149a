"""The six-point vetting checklist: privacy, SSO, accessibility, cost, evidence, mobile."""
