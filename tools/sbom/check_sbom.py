#!/usr/bin/env python3
"""The dependency-audit gate (tools/checks/sbom.sh): SBOM against its schema and the binaries.

Usage: check_sbom.py SBOM SCHEMA_DIR

Fails (exit 1, naming each problem) when the SBOM does not validate against CycloneDX 1.5's
published JSON schema (vendored in SCHEMA_DIR, offline), when an application's file is gone or
its SHA-256 is not the file's (a stale SBOM), when a binary links a library the SBOM does not
list for it, or when a listed library comes from no Debian package.
"""
import hashlib
import json
import os
import sys
import warnings

import jsonschema

# Debian 12's jsonschema (4.10) has RefResolver; newer ones warn that it is deprecated.
warnings.filterwarnings("ignore", category=DeprecationWarning)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_sbom import linked_libraries  # noqa: E402  the same reading of ldd


def main():
    sbom_path, schema_dir = sys.argv[1], sys.argv[2]
    problems = []
    with open(sbom_path) as f:
        bom = json.load(f)
    schemas = {}
    for name in os.listdir(schema_dir):
        if name.endswith(".schema.json"):
            with open(os.path.join(schema_dir, name)) as f:
                schemas[name] = json.load(f)
    main_schema = schemas["bom-1.5.SNAPSHOT.schema.json"]
    store = {}
    for name, schema in schemas.items():
        store[name] = schema
        if "$id" in schema:
            store[schema["$id"]] = schema
    resolver = jsonschema.RefResolver(base_uri="", referrer=main_schema, store=store)
    validator = jsonschema.Draft7Validator(main_schema, resolver=resolver,
                                           format_checker=jsonschema.FormatChecker())
    for error in sorted(validator.iter_errors(bom), key=lambda e: list(e.absolute_path)):
        where = "/".join(str(p) for p in error.absolute_path) or "(top level)"
        problems.append("%s: schema: %s: %s" % (sbom_path, where, error.message))

    by_ref = {c["bom-ref"]: c for c in bom.get("components", [])}
    depends = {d["ref"]: d.get("dependsOn", []) for d in bom.get("dependencies", [])}
    files_of = {}
    for ref, component in by_ref.items():
        props = {p["name"]: p["value"] for p in component.get("properties", [])}
        if props.get("cordon:debian-package") == "none":
            problems.append("%s: %s comes from no Debian package" % (sbom_path, ref))
        files_of[ref] = [p["value"] for p in component.get("properties", [])
                         if p["name"] == "cordon:file"]
    applications = [c for c in by_ref.values() if c["type"] == "application"]
    if not applications:
        problems.append("%s: lists no binary" % sbom_path)
    for app in applications:
        path = {p["name"]: p["value"] for p in app.get("properties", [])}.get("cordon:path", "")
        if not os.path.isfile(path):
            problems.append("%s: %s: %s does not exist" % (sbom_path, app["bom-ref"], path))
            continue
        with open(path, "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()
        if app["hashes"][0]["content"] != digest:
            problems.append("%s: %s: the SBOM is stale (%s changed since)" %
                            (sbom_path, app["bom-ref"], path))
        listed = set()
        for ref in depends.get(app["bom-ref"], []):
            listed.update(files_of.get(ref, []))
        for library in linked_libraries(path):
            if library not in listed:
                problems.append("%s: %s links %s, which the SBOM does not list for it" %
                                (sbom_path, path, library))
    for problem in problems:
        print("dependency-audit: " + problem, file=sys.stderr)
    if problems:
        return 1
    packages = [c for c in by_ref.values() if c["type"] == "library"]
    print("dependency-audit: %s validates against CycloneDX 1.5; %d binaries link %d Debian "
          "packages, every library accounted for" % (sbom_path, len(applications), len(packages)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
