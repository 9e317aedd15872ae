"""Flask extensions, created unbound and bound to an app in ``create_app``."""
from functools import cached_property

import flask_babel
from flask_htmx import HTMX
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

# Named constraints, so Alembic can alter them on SQLite (batch mode) and PostgreSQL alike.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class RequestTranslationsDomain(flask_babel.Domain):
    """Flask-Babel's message domain, with the translations looked up once per request.

    Flask-Babel 4 works out the locale and the catalogue again for each of the few hundred strings
    of a page; here the catalogue found first is kept on the request's Babel context. Loaded
    catalogues are cached per app, not per process, as each app merges its own plugins' catalogues. That is the
    attribute ``force_locale()`` and ``refresh()`` clear and restore, so a mail rendered in its
    reader's language or a language changed mid-request still gets its own catalogue.
    """

    def get_translations_cache(self, ctx):
        """The loaded catalogues of this app: apps of one process may read different plugin
        catalogues (Flask-Babel keeps one cache per process)."""
        from flask import current_app

        return current_app.extensions.setdefault("microfin_translations", {})

    def get_translations(self):
        context = flask_babel._get_current_context()
        if context is None:
            return super().get_translations()
        translations = getattr(context, "babel_translations", None)
        if translations is None:
            translations = context.babel_translations = super().get_translations()
        return translations


def request_translations():
    """This request's catalogue, as ``RequestTranslationsDomain`` keeps it on the Babel context
    (else looked up as Flask-Babel does): the templates' ``_()`` calls this a few hundred times a
    page, and Flask-Babel's own path looks the domain and the context up twice each time."""
    from flask import g

    context = g.get("_flask_babel") if g else None
    translations = getattr(context, "babel_translations", None)
    return translations if translations is not None else flask_babel.get_translations()


def install_template_gettext(app) -> None:
    """The templates' gettext callables through ``request_translations`` (same strings, same
    catalogue; replaces the ones ``Babel.init_app`` installed)."""
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: request_translations().ugettext(s),
        ngettext=lambda s, p, n: request_translations().ungettext(s, p, n),
        newstyle=True,
        pgettext=lambda c, s: request_translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: request_translations().unpgettext(c, s, p, n),
    )


class Babel(flask_babel.Babel):
    """Flask-Babel with ``RequestTranslationsDomain`` as its default domain."""

    @cached_property
    def domain_instance(self):
        return RequestTranslationsDomain(domain=self.domain)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
htmx = HTMX()
# Limits apply only where declared (the API); storage from RATELIMIT_STORAGE_URI (memory:// by default).
limiter = Limiter(key_func=get_remote_address)
