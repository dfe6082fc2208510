"""URL converters that keep what a path may hold within what the database can store."""

from werkzeug.routing import IntegerConverter

# Integer columns are 32-bit on PostgreSQL; SQLite overflows at 64 bits.
LARGEST_ID = 2**31 - 1


class BoundedInt(IntegerConverter):
    """``<int:...>`` that matches only 0..LARGEST_ID: a bigger number is a 404, not a database error."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", LARGEST_ID)
        super().__init__(map, *args, **kwargs)


def init_app(app) -> None:
    """Use the bounded converter for every ``<int:...>`` route; call before routes are added."""
    app.url_map.converters["int"] = BoundedInt
