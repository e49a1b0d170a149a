"""Catalog: tools, vendors, standards alignment, vetting, rubrics, licenses and the tool lifecycle."""
