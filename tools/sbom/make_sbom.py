#!/usr/bin/env python3
"""Writes a CycloneDX 1.5 SBOM (JSON) of what the built binaries link, traced to Debian packages.

Usage: make_sbom.py OUT BINARY...

For each binary: its SHA-256, and every shared library the dynamic loader resolves for it
(ldd), each traced to the Debian package that installed it (dpkg -S) with that package's
version (dpkg-query). A library that no package owns is still listed, with the property
cordon:debian-package = none, so that tools/checks/sbom.sh fails on it. Offline: no CVE feed is
consulted (docs/quality.md).
"""
import datetime
import hashlib
import json
import os
import re
import subprocess
import sys
import urllib.parse
import uuid

LDD_LINE = re.compile(r"^\s*(?:(\S+)\s+=>\s+)?(/\S+)\s+\(0x[0-9a-f]+\)\s*$")


def linked_libraries(binary):
    out = subprocess.run(["ldd", binary], capture_output=True, text=True, check=True).stdout
    libraries = []
    for line in out.splitlines():
        match = LDD_LINE.match(line)
        if match:
            libraries.append(match.group(2))
        elif "not found" in line:
            libraries.append("not-found:" + line.split()[0])
    return libraries


def owning_package(path):
    """(package, version, arch) of the Debian package that installed `path`, or None."""
    if path.startswith("not-found:"):
        return None
    candidates = [path, os.path.realpath(path)]
    for candidate in list(candidates):
        if candidate.startswith("/usr/"):
            candidates.append(candidate[4:])  # usrmerge: dpkg knows /lib/..., ldd may say /usr/lib
        else:
            candidates.append("/usr" + candidate)
    for candidate in candidates:
        found = subprocess.run(["dpkg", "-S", candidate], capture_output=True, text=True)
        if found.returncode != 0:
            continue
        owner = found.stdout.split(": ", 1)[0].split(",")[0].strip()  # "libc6:amd64: /lib/..."
        name, _, arch = owner.partition(":")
        version = subprocess.run(["dpkg-query", "-W", "-f=${Version}", owner],
                                 capture_output=True, text=True).stdout.strip()
        if not arch:
            arch = subprocess.run(["dpkg-query", "-W", "-f=${Architecture}", owner],
                                  capture_output=True, text=True).stdout.strip()
        return name, version, arch
    return None


def sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def main():
    out, binaries = sys.argv[1], sys.argv[2:]
    components, dependencies, packages = [], [], {}
    for binary in binaries:
        ref = "cordon:" + os.path.basename(binary)
        depends = []
        for library in linked_libraries(binary):
            owner = owning_package(library)
            if owner is None:
                pkg_ref = "unowned:" + library
                if pkg_ref not in packages:
                    packages[pkg_ref] = {
                        "type": "library", "bom-ref": pkg_ref, "name": os.path.basename(library),
                        "properties": [{"name": "cordon:debian-package", "value": "none"},
                                       {"name": "cordon:file", "value": library}]}
            else:
                name, version, arch = owner
                pkg_ref = "pkg:deb/debian/%s@%s?arch=%s" % (
                    name, urllib.parse.quote(version, safe=".-_~"), arch)
                component = packages.setdefault(pkg_ref, {
                    "type": "library", "bom-ref": pkg_ref, "name": name, "version": version,
                    "purl": pkg_ref, "supplier": {"name": "Debian"},
                    "properties": [{"name": "cordon:debian-package", "value": name}]})
                entry = {"name": "cordon:file", "value": library}
                if entry not in component["properties"]:
                    component["properties"].append(entry)
            if pkg_ref not in depends:
                depends.append(pkg_ref)
        components.append({
            "type": "application", "bom-ref": ref, "name": os.path.basename(binary),
            "hashes": [{"alg": "SHA-256", "content": sha256(binary)}],
            "properties": [{"name": "cordon:path", "value": os.path.abspath(binary)}]})
        dependencies.append({"ref": ref, "dependsOn": depends})
    for pkg_ref in packages:
        dependencies.append({"ref": pkg_ref, "dependsOn": []})
    bom = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "serialNumber": "urn:uuid:" + str(uuid.uuid4()),
        "version": 1,
        "metadata": {
            "timestamp": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "tools": {"components": [{"type": "application", "name": "tools/sbom/make_sbom.py"}]},
            "component": {"type": "application", "bom-ref": "cordon", "name": "cordon"},
        },
        "components": components + list(packages.values()),
        "dependencies": dependencies,
    }
    with open(out + ".tmp", "w") as f:
        json.dump(bom, f, indent=2, sort_keys=True)
        f.write("\n")
    os.replace(out + ".tmp", out)


if __name__ == "__main__":
    main()
