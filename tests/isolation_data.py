"""Data for the tenant-isolation walker (core.testing.isolation).

When you add a route with a new URL parameter, add a provider here that returns the value of a
record belonging to the given institution's ``staff``; add a marker for text only that
institution's pages may show. The walker in tests/test_isolation.py does the rest.
"""
from core.testing.isolation import marker, provides


@provides("user_id")
def a_user(staff):
    return staff.coach.id


@provides("token")
def an_invitation_token(staff):
    # Invitation links are public by design (the token is the credential); a guessed one is 404.
    return "guessed-invitation-token"


@marker
def staff_identity(staff):
    return [staff.coach.email, staff.admin.email, staff.officer.email]


@marker
def declared_settings(staff):
    # The settings page lists the institution's own plugin's settings, never another's.
    from core.plugins import state

    profile = state().institution(staff.slug)
    return [setting.label("en") for setting in profile.settings()]
