"""The tables behind the pages, their CSV and their charts, without a browser."""

from __future__ import annotations

import csv
import io
from typing import Any

from services.gateway.pages import dashboard
from services.gateway.pages.tables import Chart, Column, Series, Table, display


def test_csv_keeps_the_apis_values_and_never_lets_text_run_as_a_formula() -> None:
    table = Table(
        name="t",
        caption="T",
        columns=[Column("name", "Tool"), Column("rate", "Rate", "percent"), Column("ok", "OK", "bool")],
        rows=[
            {"name": '=HYPERLINK("http://x")', "rate": -0.05, "ok": True},
            {"name": "@SUM(A1)", "rate": None, "ok": False},
            {"name": "Desmos", "rate": 0.6666666666666666, "ok": None},
        ],
    )
    rows = list(csv.reader(io.StringIO(table.csv())))
    assert rows == [
        ["name", "rate", "ok"],
        ['\'=HYPERLINK("http://x")', "-0.05", "true"],
        ["'@SUM(A1)", "", "false"],
        ["Desmos", "0.6666666666666666", ""],
    ]
    assert [table.cell(table.rows[0], c) for c in table.columns] == ['=HYPERLINK("http://x")', "-5.0%", "yes"]


def test_a_chart_is_drawn_from_its_tables_columns() -> None:
    table = Table(
        name="t",
        caption="T",
        columns=[Column("tool", "Tool"), Column("u", "Utilization", "percent")],
        rows=[{"tool": "A", "u": 0.5}, {"tool": None, "u": None}],
        chart=Chart("tool", (Series("U", "u"), Series("Threshold", constant=0.3, kind="line")), percent=True),
    )
    data = table.chart_data()
    assert data is not None
    assert data["labels"] == ["A", "-"]
    assert [d["data"] for d in data["datasets"]] == [[0.5, None], [0.3, 0.3]]
    assert data["percent"] is True


def test_money_and_percent_read_as_people_read_them() -> None:
    assert display(1976.0, "money") == "$1,976.00"
    assert display(0.3, "percent") == "30.0%"
    assert display(None, "int") == "n/a"


def test_the_heatmap_shades_from_unused_to_busiest() -> None:
    assert [dashboard.heat_level(v, 12) for v in (0, None, 1, 4, 8, 12)] == [0, 0, 1, 2, 3, 4]
    assert dashboard.heat_level(3, 0) == 0


def test_the_districts_buy_in_is_charted_per_quarter_against_its_target() -> None:
    quarter: dict[str, Any] = {
        "quarter": "2025-26 Q3",
        "start": "2026-01-01",
        "end": "2026-03-31",
        "respondents": 3,
        "answers": 30,
        "positive": 24,
        "buy_in": 0.8,
        "target": 0.85,
        "meets_target": False,
    }
    report: dict[str, Any] = {
        "end": "2026-03-31",
        "teachers": {"freshness": {"complete_through": "2026-03-31"}},
        "buy_in": {
            **{k: quarter[k] for k in ("respondents", "answers", "positive", "buy_in", "target")},
            "meets_target": False,
            "quarters": [quarter],
        },
    }
    table = dashboard.district_buy_in(report)
    assert table.caption == "District-wide TAM buy-in per quarter against the 85% target"
    data = table.chart_data()
    assert data is not None and data["labels"] == ["2025-26 Q3"]
    assert [d["data"] for d in data["datasets"]] == [[0.8], [0.85]]
    assert table.note == "School year to 2026-03-31: 80.0% positive answers (24 of 30, 3 teachers)."
    nothing = dashboard.district_buy_in(
        {**report, "buy_in": {**report["buy_in"], "buy_in": None, "target": None, "quarters": []}}
    )
    assert nothing.caption.endswith("against the district's target") and nothing.rows == []
    assert nothing.note == "No TAM answers this school year yet."
