"""Survey instruments as data (TTIS, TAM, ...), teachers' responses, TTIS deltas and TAM acceptance."""
