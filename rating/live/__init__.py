"""The pure side of live rating: folding gauge readings into period-to-date values."""
