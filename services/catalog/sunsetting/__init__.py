"""Sunsetting: review flags, removal candidates, scheduled retirements and the job that retires tools."""
