"""tiktok-destination: a CDP destination plugin for the TikTok Events API 2.0.

Public (kept stable): the host contract in ``tiktok_destination.hookspecs`` (and the entry point
``tiktok`` in group ``cdp.destinations``), the command line ``tiktok-destination``
(``tiktok_destination.cli.main.main``), and the manifest ``plugin.json`` with the settings schema.
Every other module and name is internal and may change freely.
"""

__version__ = "0.1.0"
