"""The test bed's catalogs (catalog.yaml): package lookup, channel heads, upgrade chains."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
CATALOG_FILE = HERE / "catalog.yaml"
OPERAND_CRDS = HERE / "crds" / "operands"
MARKETPLACE = "openshift-marketplace"
INSTALL_MODES = ("OwnNamespace", "SingleNamespace", "MultiNamespace", "AllNamespaces")

_VERSION = re.compile(r"^.*?\.v?(\d+\.\d+\.\d+\S*)$")


def csv_version(csv_name):
    """`nfd.4.20.0-2025...` -> `4.20.0-2025...`, `gpu-operator-certified.v25.10.0` -> `25.10.0`."""
    match = _VERSION.match(csv_name)
    return match.group(1) if match else "0.0.0"


class Catalog:
    def __init__(self, data):
        self.catalogs = data["catalogs"]
        self.packages = {p["name"]: p for p in data["packages"]}

    def package(self, name, source=None):
        """The package named `name` in catalog `source` (any catalog when source is None), or None."""
        pkg = self.packages.get(name)
        if pkg is None or (source is not None and pkg["catalog"] != source):
            return None
        return pkg

    @staticmethod
    def channel(pkg, name):
        """The ordered CSV names of channel `name` (oldest first), or None when the package has no such channel."""
        for channel in pkg["channels"]:
            if channel["name"] == name:
                return list(channel["entries"])
        return None

    def head(self, pkg, channel):
        entries = self.channel(pkg, channel)
        return entries[-1] if entries else None

    def replaces(self, pkg, channel, csv_name):
        """The CSV that `csv_name` replaces in that channel ("" for the first one)."""
        entries = self.channel(pkg, channel) or []
        if csv_name in entries:
            index = entries.index(csv_name)
            return entries[index - 1] if index > 0 else ""
        return ""

    def successor(self, pkg, channel, csv_name):
        """The CSV that replaces `csv_name` in that channel, or None at the head (or when it is not in the channel)."""
        entries = self.channel(pkg, channel) or []
        if csv_name in entries and entries.index(csv_name) + 1 < len(entries):
            return entries[entries.index(csv_name) + 1]
        return None

    def package_of_csv(self, csv_name):
        for pkg in self.packages.values():
            if any(csv_name in c["entries"] for c in pkg["channels"]):
                return pkg
        return None


def load(path=CATALOG_FILE):
    return Catalog(yaml.safe_load(Path(path).read_text()))
