"""The standard instruments every district starts with (stored as data on first use, editable after)."""

from __future__ import annotations

from typing import Any

TTIS = "TTIS"
TAM = "TAM"

AGREEMENT_5 = {"1": "strongly disagree", "2": "disagree", "3": "neutral", "4": "agree", "5": "strongly agree"}

STANDARD_INSTRUMENTS: list[dict[str, Any]] = [
    {
        "code": TTIS,
        "name": "Teacher Technology Integration Survey",
        "description": "Given before and after a pilot; the pre/post delta shows growth in integration.",
        "scale_min": 1,
        "scale_max": 5,
        "scale_labels": AGREEMENT_5,
        "phases": ["pre", "post"],
        "items": [
            ("ttis_1", "confidence", "I feel confident using this tool during instruction."),
            ("ttis_2", "confidence", "I can troubleshoot common problems with this tool on my own."),
            ("ttis_3", "planning", "I plan lessons in which this tool supports the learning goal."),
            ("ttis_4", "planning", "I can align activities in this tool with the standards I teach."),
            (
                "ttis_5",
                "student_use",
                "My students use this tool to interact with content, not only to view it.",
            ),
            ("ttis_6", "student_use", "My students use this tool to create or share their own work."),
            ("ttis_7", "assessment", "I use data from this tool to adjust my instruction."),
            ("ttis_8", "assessment", "This tool helps me give students timely feedback."),
        ],
    },
    {
        "code": TAM,
        "name": "Technology Acceptance Model",
        "description": "Perceived usefulness, perceived ease of use and intention to use; the share of "
        "positive answers measures buy-in.",
        "scale_min": 1,
        "scale_max": 5,
        "scale_labels": AGREEMENT_5,
        "phases": ["pre", "post"],
        "items": [
            ("pu_1", "perceived_usefulness", "Using this tool improves my students' learning."),
            ("pu_2", "perceived_usefulness", "Using this tool makes me more effective in class."),
            ("pu_3", "perceived_usefulness", "Using this tool saves me instructional time."),
            ("pu_4", "perceived_usefulness", "I find this tool useful in my teaching."),
            ("peou_1", "ease_of_use", "Learning to use this tool is easy for me."),
            ("peou_2", "ease_of_use", "It is easy to get this tool to do what I want."),
            ("peou_3", "ease_of_use", "My interaction with this tool is clear and understandable."),
            ("peou_4", "ease_of_use", "I find this tool easy to use."),
            ("itu_1", "intention_to_use", "I intend to keep using this tool in my classes."),
            ("itu_2", "intention_to_use", "I would recommend this tool to colleagues in my grade team."),
        ],
    },
]
