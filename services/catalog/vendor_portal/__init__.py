"""The vendor portal: what a vendor's invited people do (map its tools to standards, upload their
documents) and all they see."""
