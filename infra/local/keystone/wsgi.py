"""Keystone's public API as a WSGI application, for gunicorn.

Keystone reads its command line through oslo.config when the application is built, and would take
gunicorn's own arguments for its own; it is given none. Its configuration comes from
`OS_KEYSTONE_CONFIG_FILES`, which `infra/local/services` sets.
"""

import sys

sys.argv = sys.argv[:1]

from keystone.server import wsgi  # noqa: E402  (after the command line is cleared)

application = wsgi.initialize_public_application()
