"""`microfin referrers …` and `microfin worker`."""
from core.cli import main
from tests.conftest import post  # noqa: F401
from tests.referral_helpers import auth


def test_add_list_token_revoke(app, runner, client):
    added = runner.invoke(main, ["referrers", "add", "PMV", "--kind", "public"])
    assert added.exit_code == 0, added.output
    token = added.output.split("shown only now): ")[1].strip()
    assert client.get("/api/v1/referrals", headers=auth(token)).status_code == 200
    second = runner.invoke(main, ["referrers", "token", "PMV"]).output.split("shown only now): ")[1].strip()
    listing = runner.invoke(main, ["referrers", "list"]).output
    assert "PMV (public)" in listing and token[:10] in listing and token not in listing
    assert runner.invoke(main, ["referrers", "revoke", token[:10]]).exit_code == 0
    assert client.get("/api/v1/referrals", headers=auth(token)).status_code == 401
    assert client.get("/api/v1/referrals", headers=auth(second)).status_code == 200


def test_bad_referrer_input_is_refused(app, runner):
    assert "Invalid value for '--kind'" in runner.invoke(main, ["referrers", "add", "X", "--kind", "crypto"]).output
    insecure = runner.invoke(main, ["referrers", "add", "X", "--kind", "bank", "--webhook-url", "http://bank.example/h",
                                    "--webhook-secret-stdin"], input="long enough secret value\n")
    assert insecure.exit_code != 0 and "https://" in insecure.output
    runner.invoke(main, ["referrers", "add", "Y", "--kind", "bank"])
    twice = runner.invoke(main, ["referrers", "add", "Y", "--kind", "bank"])
    assert twice.exit_code != 0 and "already exists" in twice.output
    assert runner.invoke(main, ["referrers", "revoke", "mfr_nothing"]).exit_code != 0


def test_worker_once(app, runner):
    result = runner.invoke(main, ["worker", "--once", "--name", "test"])
    assert result.exit_code == 0 and "delivered 0 message(s), re-routed 0 overdue offer(s)" in result.output
