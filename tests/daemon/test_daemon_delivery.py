"""A feed item matching a shipped rule reaches e-mail, a webhook and an IRC channel."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.daemon.stories import BAKERY, BORDER
from tests.support.daemon import Setup, Watcher, settle
from tests.support.feeds import FeedSite
from tests.support.irc import IrcListener, ngircd, ngircd_binary
from tests.support.mail import Mailbox, email_parts
from tests.support.webhook import Webhook


def test_a_matching_item_arrives_by_email_and_webhook(
    setup: Setup, site: FeedSite, mailbox: Mailbox, webhook: Webhook
):
    setup.feed("wire", site.feed("/wire", "Example Wire", [BAKERY]))
    setup.notifiers["desk-mail"] = {"urls": [mailbox.url()]}
    setup.notifiers["desk-hook"] = {"urls": [webhook.url()]}
    setup.routes["medium"] = ["desk-mail", "desk-hook"]

    with Watcher(setup.write()) as daemon:
        daemon.expect(lambda: site.polls("/wire") >= 1, "the first poll")
        site.publish("/wire", BORDER)
        daemon.expect(lambda: mailbox.received and webhook.posts, "the alert by mail and webhook")
        settle(daemon, lambda: site.polls("/wire"))
        assert daemon.stop() == 0

    [email] = mailbox.received
    assert email["Subject"] == f"[MEDIUM] Border security — {BORDER.title}"
    parts = email_parts(email)
    html, text = parts["text/html"], parts["text/plain"]
    assert f'<a href="{BORDER.url}">' in html
    for word in ("border patrols", "frontier", "smugglers"):
        assert f"<mark><strong>{word}</strong></mark>" in html, word
    assert "Example Wire" in html
    assert BORDER.url in text
    assert BAKERY.title not in html

    [post] = webhook.posts
    assert post.title == f"[MEDIUM] Border security — {BORDER.title}"
    assert BORDER.url in post.message
    assert "frontier" in post.message
    with setup.store() as store:
        counts = store.outbox_counts()
    assert (counts.pending, counts.sent, counts.dead) == (0, 2, 0)


@pytest.mark.skipif(ngircd_binary() is None, reason="ngircd is not installed")
def test_a_matching_item_arrives_in_an_irc_channel(setup: Setup, site: FeedSite, tmp_path: Path):
    with ngircd(tmp_path) as port:
        listener = IrcListener(port, "#alerts")
        try:
            setup.feed("wire", site.feed("/wire", "Example Wire", [BORDER]))
            setup.poll["first_poll_alerts"] = 5
            setup.notifiers["desk-chat"] = {"urls": [f"irc://watcherbot@127.0.0.1:{port}/#alerts"]}
            setup.routes["medium"] = ["desk-chat"]
            with Watcher(setup.write()) as daemon:
                # The matched words are the alert's last line (after the link).
                daemon.expect(
                    lambda: any(
                        "«frontier»" in m or "«border patrols»" in m for m in listener.privmsgs()
                    ),
                    "the alert's matched words in the channel",
                    within=30,
                )
                assert daemon.stop() == 0
            messages = listener.privmsgs()
        finally:
            listener.close()
    assert messages[0] == f"[MEDIUM] Border security — {BORDER.title}"
    assert BORDER.url in messages
    assert sum(1 for m in messages if m.startswith("[MEDIUM]")) == 1
