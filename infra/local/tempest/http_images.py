"""A web server on loopback for the images Tempest asks the catalog to fetch by URL.

Tempest's `[image] http_image` and `http_qcow2_image` point at the internet by default; the run
points them here instead, so nothing leaves the machine. Serves DIRECTORY on 127.0.0.1 at a
port the system picks, and writes that port to PORT_FILE once it is listening.

    python http_images.py DIRECTORY PORT_FILE

Standard library only: it runs with Tempest's interpreter.
"""

from __future__ import annotations

import functools
import sys
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        sys.stderr.write(f"http_images: {self.address_string()} {format % args}\n")


def main() -> None:
    directory, port_file = sys.argv[1:]
    handler = functools.partial(QuietHandler, directory=directory)
    with ThreadingHTTPServer(("127.0.0.1", 0), handler) as server:
        # Written whole under another name first, so a reader never sees half a number.
        partial = Path(port_file + ".partial")
        partial.write_text(str(server.server_address[1]))
        partial.rename(port_file)
        server.serve_forever()


if __name__ == "__main__":
    main()
