"""Write the `tempest.conf` with which Tempest tests the catalog behind the local Keystone.

Tempest makes a project and users of its own for every test class (dynamic credentials, as
Keystone's bootstrap admin), with the token scopes Glance's secure-RBAC defaults expect
(`[enforce_scope] glance`). Only the image and identity services are there. The feature flags
say what the catalog serves, as an operator would set them for a Glance deployment:

- import (glance-direct, web-download from the loopback web server, copy-image; Tempest reads
  them from `/v2/info/import`), format enforcement and hashing (sha512, as Glance's
  default);
- the v2.17 location API for users, when the run has an http store;
- store weights, when the run has several stores of different weights;
- no image cache, no image conversion, no `show_multiple_locations` (the catalog never lets
  PATCH change locations: OSSN-0065).

The images Tempest has the catalog fetch come from a web server on loopback, never the
internet. Standard library only: run with Tempest's interpreter.

    KEYSTONE_ADMIN_PASSWORD=… python tempest_conf.py --keystone-url URL --region REGION \
        --images-url URL --run-dir DIR [--http-store] [--store-weights] > tempest.conf
"""

from __future__ import annotations

import argparse
import configparser
import os
import sys

BUILD_TIMEOUT_SECONDS = 60
"""How long Tempest waits for an image to reach a status: the catalog answers imports and
location additions once they are done, so a wait this long means something is wrong."""

DISK_FORMATS = ("raw", "qcow2", "ami", "ari", "aki", "vhd", "vmdk", "vdi", "iso", "vhdx")
"""Glance's, with `raw` first: tests that attach the http image to an image of the first
format get random bytes, which format enforcement accepts only as raw."""

ABSENT_SERVICES = ("nova", "cinder", "neutron", "swift", "horizon", "placement")


def tempest_conf(args: argparse.Namespace, admin_password: str) -> configparser.ConfigParser:
    conf = configparser.ConfigParser(interpolation=None)
    conf.read_dict(
        {
            "DEFAULT": {
                "log_dir": args.run_dir,
                "log_file": "tempest.log",
                "use_stderr": "false",
            },
            "oslo_concurrency": {"lock_path": os.path.join(args.run_dir, "locks")},
            "auth": {
                "use_dynamic_credentials": "true",
                "create_isolated_networks": "false",
                "admin_username": "admin",
                "admin_password": admin_password,
                "admin_project_name": "admin",
                "admin_domain_name": "Default",
            },
            "identity": {
                "uri_v3": args.keystone_url,
                "auth_version": "v3",
                "region": args.region,
                "admin_role": "admin",
            },
            "enforce_scope": {"glance": "true"},
            "service_available": {
                "glance": "true",
                **{service: "false" for service in ABSENT_SERVICES},
            },
            "image": {
                "region": args.region,
                "endpoint_type": "public",
                "build_timeout": str(BUILD_TIMEOUT_SECONDS),
                "build_interval": "1",
                "http_image": f"{args.images_url}/image.raw",
                "http_qcow2_image": f"{args.images_url}/image.qcow2",
                "disk_formats": ",".join(DISK_FORMATS),
                "hashing_algorithm": "sha512",
                "image_caching_enabled": "false",
            },
            "image-feature-enabled": {
                "import_image": "true",
                "os_glance_reserved": "true",
                "manage_locations": "false",
                "image_conversion": "false",
                "image_format_enforcement": "true",
                "do_secure_hash": "true",
                "http_store_enabled": str(args.http_store).lower(),
                "store_weight_enabled": str(args.store_weights).lower(),
            },
        }
    )
    return conf


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keystone-url", required=True, help="Keystone's v3 address")
    parser.add_argument("--region", required=True, help="the region of the image endpoints")
    parser.add_argument("--images-url", required=True, help="the loopback web server's address")
    parser.add_argument("--run-dir", required=True, help="where Tempest keeps logs and locks")
    parser.add_argument("--http-store", action="store_true", help="an http store is configured")
    parser.add_argument(
        "--store-weights", action="store_true", help="the stores have different weights"
    )
    args = parser.parse_args()
    tempest_conf(args, os.environ["KEYSTONE_ADMIN_PASSWORD"]).write(sys.stdout)


if __name__ == "__main__":
    main()
