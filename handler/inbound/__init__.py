"""A mail's bytes to a decision per recipient, without I/O: MIME, authenticity, loops,
trimming, HTML, rendering, titles, identity, threads, and the plan that runs them."""
