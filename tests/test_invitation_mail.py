"""An invitation is mailed to the colleague in their language (real SMTP); the admin still sees the link."""
from __future__ import annotations

import pytest

from core.services import outbox
from core.services.institutions import by_slug
from tests.conftest import post
from tests.mail_helpers import links_in, text_of


@pytest.mark.parametrize(("language", "subject", "greeting"), [
    ("nl", "Admin Microstart nodigt u uit voor Microfin CRM", "Beste Nora,"),
    ("fr", "Admin Microstart vous invite dans Microfin CRM", "Bonjour Nora,"),
])
def test_invitation_mail_in_the_invited_persons_language(mail_app, smtp_server, staff_a, as_user,
                                                         language, subject, greeting):
    client = as_user(staff_a.admin)
    page = post(client, "/admin/users/invite", {"email": "nora@microstart.test", "name": "Nora",
                                                "role": "coach", "preferred_language": language},
                token_from="/admin/users")
    assert page.status_code == 201
    shown = page.get_data(as_text=True)
    assert outbox.deliver_due() == 1
    [message] = smtp_server.wait_for(1)
    assert message["To"] == "nora@microstart.test"
    assert message["Subject"].startswith(subject)
    assert by_slug("microstart").name(language) in message["Subject"]
    assert text_of(message).startswith(greeting)
    [link] = links_in(message)
    assert link.startswith("http://crm.microfin.test/invitation/")
    token = link.rsplit("/", 1)[1]
    assert token in shown  # the link is still shown to the admin as a fallback
    assert mail_app.test_client().get(f"/invitation/{token}").status_code == 200
