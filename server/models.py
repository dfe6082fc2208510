"""Every ORM model, imported in one place so migrations and create_app see them all."""

from server.auth.models import User  # noqa: F401
from server.devices import Device  # noqa: F401

# Each area registers its models here as it lands.
for _area in ("server.domain.models", "server.push.models"):  # TEMPORARY: plain imports at integration
    try:
        __import__(_area)
    except ModuleNotFoundError:
        pass

import server.staff.models  # noqa: E402,F401  (the staff area's audit log)
