"""Every hook a plugin can implement. Each docstring is the hook's reference documentation.

Three kinds of hook, named by kind (docs/plugins.md):
- ``register_*`` hooks are called once at startup and return lists that core checks and applies;
- contribute hooks are named after where their output appears (``menu_items``) and are called
  only for the plugin of the current institution;
- ``on_event`` observes committed changes; its failures are logged and never undo core's work.
All hooks take keyword arguments; an implementation may accept any subset of them.
"""
from __future__ import annotations

import pluggy

hookspec = pluggy.HookspecMarker("microfin")


@hookspec
def register_institutions():
    """Return the ``Institution`` instances this plugin contributes (usually exactly one).

    Called once when the app is created. Core refuses to start when a profile has problems
    (``Institution.problems()``) or when two plugins claim the same slug.
    """


@hookspec
def register_blueprints():
    """Return Flask blueprints that add pages of this plugin.

    Each blueprint must be named after the plugin (the entry-point name); core mounts it under
    ``/i/<slug>`` and refuses any other name. Templates belong under ``templates/<slug>/``.
    """


@hookspec
def menu_items(user, institution):
    """Return ``MenuItem`` entries for the navigation of ``user``.

    ``institution`` is the user's ``Institution`` profile, or None for federation and operator
    staff. Called only for core and for the plugin that owns ``institution``; items whose
    ``roles`` exclude the user's role are dropped by core.
    """


@hookspec
def on_event(event):
    """Observe an ``Event`` after the change it describes was committed.

    Return nothing. An exception is logged with the plugin's name and never rolls back or
    blocks core. Tenant events (``event.institution_id`` set) are delivered only to core and to
    the plugin that owns that institution.
    """


@hookspec
def client_panels(client, user):
    """Return ``ClientPanel`` objects to show on the page of ``client`` for ``user``.

    Called only for core and for the plugin that owns the client's institution, when the
    client page is rendered. A panel has a (translated) ``title`` and an ``html`` body: a
    ``markupsafe.Markup`` (e.g. from ``render_template``) is inserted as is, a plain string is
    escaped. Check ``user.role`` before showing anything sensitive. A failing implementation is
    logged and its panel left out.
    """


@hookspec
def client_timeline(client, user):
    """Return ``TimelineEntry`` items to add to the timeline of ``client`` for ``user``.

    Called only for core and for the plugin that owns the client's institution, when the
    client's timeline is shown; entries of every source are merged, newest first. The call runs
    in the client's institution scope. Check ``user.role`` before adding anything sensitive. A
    failing implementation is logged and its entries left out.
    """


@hookspec
def register_compliance_evidence():
    """Return ``EvidenceProvider`` entries: automatic evidence for code-of-conduct clauses.

    Each provider names a clause id (and optionally a catalogue code), a title and a function
    computing an ``Evidence`` from an institution's own data for a period (``EvidenceContext``).
    Core's providers apply to every institution; a plugin's apply only to the institution(s)
    the plugin owns. A provider that raises is logged and shown as unavailable.
    """


@hookspec
def followup_questions(institution):
    """Return ``ClientField`` declarations: questions to add to the follow-up questionnaire.

    ``institution`` is the ``Institution`` profile whose clients are asked. Called only for core
    and for the plugin that owns it. The questions come after core's (business active, jobs,
    revenue band, bank credit …), are optional, and their answers are kept with the follow-up
    (``Followup.extra``) under their key; a key core already uses is ignored. Adding or removing
    a question changes the questionnaire's version recorded with each answer. A failing
    implementation is logged and its questions left out.
    """
