"""Rubrics and evaluations: weighted criteria, totals, PICRAT cells and SAMR levels."""
