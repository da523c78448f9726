"""The demo: a simulated month sent through the pipeline, settled, invoiced, reported and
reconciled against an independent expectation. Loaded by the CLI's commands only."""
