"""Tool fatigue: rollouts of new tools per school or grade team per semester, against the district limit."""
