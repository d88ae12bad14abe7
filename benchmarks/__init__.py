"""jaxlr's benchmarks: `python -m benchmarks [--quick]`. Speed lives here, never in tests."""
