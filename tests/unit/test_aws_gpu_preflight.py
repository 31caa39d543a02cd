"""aws_gpu_preflight against moto's EC2.

moto 5 mocks EC2 instance type offerings, instances and instance types, but its Service Quotas backend only knows
VPC quotas (asking for ec2 L-DB2E81BA raises NoSuchResourceException). The quota is therefore injected through a
stub service-quotas client; everything EC2 comes from moto.
"""

import json

import boto3
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError
from ansible.module_utils.testing import patch_module_args
from moto import mock_aws

from ansible_collections.rhoai.gpu_infra.plugins.modules import aws_gpu_preflight

REGION = "us-east-2"
DESIGN_POOLS = [
    {"instance_type": "g6.4xlarge", "zone": "us-east-2a", "count": 1},
    {"instance_type": "g6.12xlarge", "zone": "us-east-2a", "count": 1},
]


class StubQuotas:
    def __init__(self, value=None, error=None):
        self.value, self.error, self.calls = value, error, []

    def get_service_quota(self, **kwargs):
        self.calls.append(kwargs)
        if self.error:
            raise self.error
        return {"Quota": {"ServiceCode": "ec2", "QuotaCode": "L-DB2E81BA", "Value": float(self.value)}}


@pytest.fixture
def aws(monkeypatch):
    """moto EC2 plus a settable quota; yields (ec2 client, quotas stub)."""
    for var in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        quotas = StubQuotas(value=64)
        real_client = boto3.session.Session.client

        def client(self, service, *args, **kwargs):
            return quotas if service == "service-quotas" else real_client(self, service, *args, **kwargs)

        monkeypatch.setattr(boto3.session.Session, "client", client)
        yield boto3.client("ec2", region_name=REGION), quotas


def run(capsys, **args):
    args.setdefault("region", REGION)
    with patch_module_args(args), pytest.raises(SystemExit) as exc:
        aws_gpu_preflight.main()
    captured = capsys.readouterr()
    result = json.loads(captured.out)
    result["rc"] = exc.value.code
    # In a process that has loaded controller code, module warnings go to the display (stderr), not the result.
    result["warning_text"] = json.dumps(result.get("warnings", [])) + captured.err
    return result


def start(ec2, instance_type, count=1):
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    ec2.run_instances(ImageId=image, InstanceType=instance_type, MinCount=count, MaxCount=count)


def test_design_pools_fit_the_default_quota_exactly(aws, capsys):
    result = run(capsys, instance_types=DESIGN_POOLS)
    assert result["rc"] == 0 and not result.get("failed"), result
    assert result["changed"] is False
    assert (result["quota_vcpus"], result["running_vcpus"], result["requested_vcpus"]) == (64, 0, 64)
    assert aws[1].calls == [{"ServiceCode": "ec2", "QuotaCode": "L-DB2E81BA"}]


def test_running_gpu_instances_leave_too_little_quota(aws, capsys):
    ec2, _ = aws
    start(ec2, "g5.xlarge")  # 4 vCPUs of G quota
    start(ec2, "m5.large", count=2)  # not G/VT: does not count
    result = run(capsys, instance_types=DESIGN_POOLS)
    assert result["failed"] and result["rc"] == 1
    assert result["running_vcpus"] == 4 and result["available_vcpus"] == 60
    assert "need 64 vCPUs" in result["msg"] and "leaving 60" in result["msg"] and "L-DB2E81BA" in result["msg"]


def test_running_spot_gpu_instances_do_not_use_the_on_demand_quota(aws, capsys):
    # Spot Instances have their own quota (All G and VT Spot Instance Requests).
    ec2, _ = aws
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    ec2.run_instances(
        ImageId=image, InstanceType="g5.xlarge", MinCount=1, MaxCount=1, InstanceMarketOptions={"MarketType": "spot"}
    )
    result = run(capsys, instance_types=DESIGN_POOLS)
    assert result["rc"] == 0 and not result.get("failed"), result
    assert result["running_vcpus"] == 0


def test_count_multiplies_vcpus_and_fail_on_problem_false_only_reports(aws, capsys):
    pools = [{"instance_type": "g6.12xlarge", "zone": "us-east-2a", "count": 2}]
    result = run(capsys, instance_types=pools, fail_on_problem=False)
    assert result["rc"] == 0 and not result.get("failed")
    assert result["requested_vcpus"] == 96 and len(result["problems"]) == 1


def test_type_not_offered_in_zone(aws, capsys):
    result = run(capsys, instance_types=[{"instance_type": "g6.4xlarge", "zone": "us-east-2z"}])
    assert result["failed"]
    assert "g6.4xlarge is not offered in us-east-2z" in result["msg"]


def test_unreadable_quota_warns_and_still_checks_offerings(aws, capsys):
    aws[1].error = RuntimeError("AccessDeniedException")
    result = run(capsys, instance_types=DESIGN_POOLS)
    assert result["rc"] == 0 and result["quota_vcpus"] is None
    assert "AccessDeniedException" in result["warning_text"] and "not checked" in result["warning_text"]


def test_secrets_are_not_echoed(aws, capsys):
    result = run(
        capsys,
        instance_types=[{"instance_type": "g6.4xlarge", "zone": "us-east-2z"}],
        aws_access_key_id="AKIDSECRETVALUE1",
        aws_secret_access_key="verysecretkeyvalue",
    )
    assert result["failed"]
    assert "verysecretkeyvalue" not in json.dumps(result)


class FailingEc2:
    """An EC2 client whose first call raises ``error``."""

    def __init__(self, error):
        self.error = error

    def get_paginator(self, name):
        raise self.error


def client_error(code, operation="DescribeInstanceTypeOfferings"):
    return ClientError({"Error": {"Code": code, "Message": "message of " + code}}, operation)


@pytest.fixture
def failing_ec2(monkeypatch):
    """Set the error EC2 raises; records the client options the module passes."""
    state = {"error": None, "configs": []}
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")

    def client(self, service, *args, **kwargs):
        state["configs"].append((service, kwargs.get("config")))
        return FailingEc2(state["error"]) if service == "ec2" else StubQuotas(value=64)

    monkeypatch.setattr(boto3.session.Session, "client", client)
    return state


@pytest.mark.parametrize(
    "error, found, remedy",
    [
        (client_error("AuthFailure"), "AWS rejected the credentials (AuthFailure)", "aws sts get-caller-identity"),
        (
            client_error("UnauthorizedOperation"),
            "the credentials lack permission for DescribeInstanceTypeOfferings (UnauthorizedOperation)",
            "Allow ec2:DescribeInstanceTypeOfferings",
        ),
        (NoCredentialsError(), "no usable AWS credentials", "AWS_ACCESS_KEY_ID"),
        (
            EndpointConnectionError(endpoint_url="https://ec2.us-east-2.amazonaws.com/"),
            "the EC2 endpoint of us-east-2 could not be reached",
            "HTTPS_PROXY",
        ),
        (client_error("InternalError"), "AWS answered InternalError to DescribeInstanceTypeOfferings", "Re-run"),
    ],
)
def test_aws_errors_fail_with_their_cause_and_the_next_step(failing_ec2, capsys, error, found, remedy):
    failing_ec2["error"] = error
    result = run(capsys, instance_types=DESIGN_POOLS)
    assert result["rc"] == 1 and result["failed"]
    msg = result["msg"]
    assert msg.startswith("Could not check the GPU instance offerings and quota in us-east-2: " + found), msg
    assert str(error) in msg  # the original cause is kept
    assert remedy in msg and "machinesets_aws_preflight: false" in msg
    assert "exception" not in result and "bug" not in msg


def test_a_bug_of_ours_is_not_blamed_on_the_aws_credentials(failing_ec2, capsys):
    failing_ec2["error"] = KeyError("InstanceTypeOfferings")
    result = run(capsys, instance_types=DESIGN_POOLS)
    assert result["rc"] == 1
    assert "unexpected KeyError: 'InstanceTypeOfferings'" in result["msg"] and "bug in rhoai.gpu_infra" in result["msg"]
    assert "credentials (" not in result["msg"] and "Check the AWS" not in result["msg"]


def test_every_aws_client_has_a_request_timeout(failing_ec2, capsys):
    failing_ec2["error"] = client_error("InternalError")
    run(capsys, instance_types=DESIGN_POOLS)
    assert {service for service, _ in failing_ec2["configs"]} == {"ec2", "service-quotas"}
    for _, config in failing_ec2["configs"]:
        assert (config.connect_timeout, config.read_timeout) == (10, 30)
        assert config.retries == {"total_max_attempts": 3, "mode": "standard"}
