"""The OpenStack Image API v2, served with aiohttp."""
