"""Dashboards API through boto3 on each protocol: the PACS setup's
dashboards are accepted, invalid bodies rejected with AWS's error."""

import json
import pathlib
import uuid

import pytest
from botocore.exceptions import ClientError

BODIES = pathlib.Path(__file__).resolve().parents[2] / "crates" / "services" / "tests" / "dashboard_bodies"


def pacs_bodies():
    """The PACS dashboards of the data-driven validator tests: comment lines,
    the body, then `---- expect`."""
    found = []
    for path in sorted(BODIES.glob("pacs*.test")):
        text = path.read_text().split("---- expect")[0]
        body = "\n".join(line for line in text.splitlines() if not line.startswith("#"))
        found.append(json.dumps(json.loads(body)))
    return found


def test_put_get_list_delete(cw):
    prefix = f"pacs-{uuid.uuid4().hex[:8]}"
    bodies = pacs_bodies()
    assert bodies, f"no PACS dashboard bodies under {BODIES}"
    for index, body in enumerate(bodies):
        put = cw.put_dashboard(DashboardName=f"{prefix}-{index}", DashboardBody=body)
        assert put["DashboardValidationMessages"] == []
    got = cw.get_dashboard(DashboardName=f"{prefix}-0")
    assert json.loads(got["DashboardBody"]) == json.loads(bodies[0])
    assert got["DashboardArn"].endswith(f":dashboard/{prefix}-0")
    listed = cw.list_dashboards(DashboardNamePrefix=prefix)["DashboardEntries"]
    assert [entry["DashboardName"] for entry in listed] == [f"{prefix}-{i}" for i in range(len(bodies))]
    assert all(entry["Size"] > 0 for entry in listed)
    with pytest.raises(ClientError) as caught:
        cw.delete_dashboards(DashboardNames=[f"{prefix}-0", f"{prefix}-missing"])
    assert caught.value.response["Error"]["Code"] in ("ResourceNotFound", "DashboardNotFoundError")
    assert len(cw.list_dashboards(DashboardNamePrefix=prefix)["DashboardEntries"]) == len(bodies)
    cw.delete_dashboards(DashboardNames=[f"{prefix}-{i}" for i in range(len(bodies))])
    assert cw.list_dashboards(DashboardNamePrefix=prefix)["DashboardEntries"] == []
    with pytest.raises(ClientError) as caught:
        cw.get_dashboard(DashboardName=f"{prefix}-0")
    assert caught.value.response["Error"]["Code"] in ("ResourceNotFound", "DashboardNotFoundError")


def test_invalid_bodies_and_names(cw):
    with pytest.raises(ClientError) as caught:
        cw.put_dashboard(DashboardName="ok-name", DashboardBody="not json")
    error = caught.value.response["Error"]
    assert error["Code"] in ("InvalidParameterInput", "DashboardInvalidInputError")
    assert "valid JSON object" in error["Message"]
    with pytest.raises(ClientError) as caught:
        cw.put_dashboard(DashboardName="ok-name", DashboardBody=json.dumps({"widgets": [{"type": "metric", "width": 99, "properties": {}}]}))
    error = caught.value.response["Error"]
    assert error["Code"] in ("InvalidParameterInput", "DashboardInvalidInputError")
    assert "/widgets/0" in error["Message"]
    # The error shape's list, parsed by botocore from each protocol's encoding.
    listed = caught.value.response["dashboardValidationMessages"]
    assert {"DataPath": "/widgets/0/width", "Message": "Should be <= 24"} in listed
    assert all(set(item) == {"DataPath", "Message"} and item["DataPath"].startswith("/widgets/0") for item in listed)
    with pytest.raises(ClientError) as caught:
        cw.put_dashboard(DashboardName="bad name!", DashboardBody=json.dumps({"widgets": []}))
    assert caught.value.response["Error"]["Code"] == "InvalidParameterValue"
    assert caught.value.response["Error"]["Message"].startswith("The value for field DashboardName contains invalid characters.")
