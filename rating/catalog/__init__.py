"""The catalog: its model, the loader and checks, and the default catalog (``default.toml``)."""
