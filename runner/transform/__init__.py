"""From ES module source to Vite's runner format: the parser, scope analysis, early errors, the
runner-format transform, the classic-script transform, and source maps."""
