"""Root exception of the rating package."""


class RatingError(Exception):
    """Base of every error raised by the pure rating logic."""
