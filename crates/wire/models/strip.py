#!/usr/bin/env python3
"""Strip botocore's service models down to the interface spec Argus needs.

Reads `data/<service>/<version>/service-2.json.gz` from the installed botocore
and writes `<service>.json` beside this script, keeping only what the wire
protocols and input validation use: metadata, operations (name, http, input,
output, errors, request compression) and shapes with their serialization and
constraint traits. All documentation text is dropped.

Run: python3 crates/wire/models/strip.py   (then commit the generated files)
"""

import gzip
import json
import os
import sys

import botocore

SERVICES = [
    # (botocore directory, model version, output file stem)
    ("logs", "2014-03-28", "logs"),
    ("cloudwatch", "2010-08-01", "cloudwatch"),
    ("sns", "2010-03-31", "sns"),
    ("cloudtrail", "2013-11-01", "cloudtrail"),
    ("events", "2015-10-07", "events"),
]

METADATA_KEYS = [
    "apiVersion", "awsQueryCompatible", "endpointPrefix", "jsonVersion",
    "protocol", "protocols", "serviceAbbreviation", "serviceFullName",
    "serviceId", "signatureVersion", "signingName", "targetPrefix", "uid",
    "xmlNamespace",
]

OPERATION_KEYS = ["name", "http", "input", "output", "errors", "requestcompression"]

# Traits on a shape reference (structure member, list member, map key/value,
# operation input/output).
REF_KEYS = [
    "shape", "locationName", "queryName", "flattened", "xmlNamespace",
    "xmlAttribute", "timestampFormat", "jsonvalue", "location", "streaming",
    "eventpayload", "eventheader", "resultWrapper", "hostLabel",
]

SHAPE_KEYS = [
    "type", "members", "required", "min", "max", "pattern", "enum", "member",
    "key", "value", "error", "exception", "fault", "flattened",
    "timestampFormat", "union", "streaming", "event", "eventstream",
    "document", "locationName", "xmlNamespace", "xmlOrder", "wrapper",
    "payload",
]


def strip_ref(ref):
    return {k: ref[k] for k in REF_KEYS if k in ref}


def strip_shape(shape):
    out = {}
    for key in SHAPE_KEYS:
        if key not in shape:
            continue
        value = shape[key]
        if key == "members":
            value = {name: strip_ref(ref) for name, ref in value.items()}
        elif key in ("member", "key", "value"):
            value = strip_ref(value)
        out[key] = value
    return out


def strip_operation(op):
    out = {}
    for key in OPERATION_KEYS:
        if key not in op:
            continue
        value = op[key]
        if key in ("input", "output"):
            value = strip_ref(value)
        elif key == "errors":
            value = [{"shape": e["shape"]} for e in value]
        out[key] = value
    return out


def strip_model(model):
    metadata = {k: model["metadata"][k] for k in METADATA_KEYS if k in model["metadata"]}
    operations = {name: strip_operation(op) for name, op in model["operations"].items()}
    shapes = {name: strip_shape(shape) for name, shape in model["shapes"].items()}
    return {"metadata": metadata, "operations": operations, "shapes": shapes}


def main():
    data_dir = os.path.join(os.path.dirname(botocore.__file__), "data")
    out_dir = os.path.dirname(os.path.abspath(__file__))
    for directory, version, stem in SERVICES:
        path = os.path.join(data_dir, directory, version, "service-2.json.gz")
        with gzip.open(path, "rt", encoding="utf-8") as f:
            model = json.load(f)
        stripped = strip_model(model)
        stripped["metadata"]["botocoreVersion"] = botocore.__version__
        out_path = os.path.join(out_dir, f"{stem}.json")
        with open(out_path, "w", encoding="utf-8") as f:
            json.dump(stripped, f, indent=1, ensure_ascii=False)
            f.write("\n")
        print(f"{out_path}: {len(stripped['operations'])} operations, "
              f"{len(stripped['shapes'])} shapes", file=sys.stderr)


if __name__ == "__main__":
    main()
