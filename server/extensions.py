"""Extensions, created once and bound to the app in create_app."""

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_mail import Mail
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy.orm import DeclarativeBase

from sync.schema import metadata


class Base(DeclarativeBase):
    # The merge engine's tables and the ORM models share one metadata, so one set
    # of migrations builds the whole schema.
    metadata = metadata


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
mail = Mail()
# No default limits: each sensitive endpoint names its own.
limiter = Limiter(key_func=get_remote_address, default_limits=[])
