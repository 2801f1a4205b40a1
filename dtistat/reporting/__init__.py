"""Demo report sections contributed by estimator modules (one module per topic)."""
