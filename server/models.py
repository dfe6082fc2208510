"""Every ORM model, imported in one place so migrations and create_app see them all."""

from server.auth import links, two_step  # noqa: F401
from server.auth.models import User  # noqa: F401
from server.devices import Device  # noqa: F401
from server.domain import models as domain_models  # noqa: F401
from server.public import models as public_models  # noqa: F401
from server.push import models as push_models  # noqa: F401
from server.staff import models as staff_models  # noqa: F401
from server.staff import retention  # noqa: F401
