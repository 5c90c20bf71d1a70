"""CloudWatch clients forced onto each wire protocol.

botocore picks the first protocol of the service model's `protocols` list it
supports (rpc-v2-cbor for CloudWatch in botocore 1.43). To speak awsJson1.0
(query-compatible) or awsQuery, a copy of the installed model with a single
protocol is put first on the session's data path."""

import gzip
import json
import pathlib

import boto3
import botocore
import botocore.session
from botocore.config import Config

from harness import ACCESS_KEY, REGION, SECRET_KEY

PROTOCOLS = ["smithy-rpc-v2-cbor", "json", "query"]


def _model_dir(tmp_root: pathlib.Path, protocol: str) -> pathlib.Path:
    source_dir = pathlib.Path(botocore.__file__).parent / "data" / "cloudwatch"
    version = sorted(p.name for p in source_dir.iterdir() if p.is_dir())[-1]
    source = source_dir / version / "service-2.json.gz"
    model = json.loads(gzip.decompress(source.read_bytes()))
    model["metadata"]["protocols"] = [protocol]
    model["metadata"]["protocol"] = protocol
    root = tmp_root / protocol
    target = root / "cloudwatch" / version
    target.mkdir(parents=True, exist_ok=True)
    (target / "service-2.json").write_text(json.dumps(model))
    return root


def cloudwatch_client(server, protocol, tmp_root, **config):
    session = botocore.session.get_session()
    session.get_component("data_loader").search_paths.insert(0, str(_model_dir(tmp_root, protocol)))
    client = boto3.Session(botocore_session=session).client(
        "cloudwatch",
        endpoint_url=server.endpoint,
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        config=Config(retries={"max_attempts": 1}, **config),
    )
    assert client.meta.service_model.protocol == protocol
    return client


