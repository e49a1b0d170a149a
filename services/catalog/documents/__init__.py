"""Documents about a tool (privacy policy, signed agreement, evidence, VPAT) for its checklist's reviewers."""
