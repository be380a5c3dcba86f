"""Hostile-input tests reuse the channels' own worlds: the Slack server behind its fake, the web server."""

from tests.slack.conftest import fake, slack  # noqa: F401  (fixtures)
from tests.web.conftest import browsers, server, web_services  # noqa: F401  (fixtures)
