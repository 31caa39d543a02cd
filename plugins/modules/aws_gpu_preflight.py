#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) rhoai.gpu_infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: aws_gpu_preflight
short_description: Check that AWS can run the requested GPU instances before creating MachineSets
version_added: 0.1.0
author:
  - rhoai.gpu_infra contributors (@rhoai-gpu-infra)
description:
  - Read-only checks against the AWS account of an OpenShift cluster, made before GPU MachineSets are created so that
    a missing offering or quota fails in seconds instead of leaving Machines in C(Failed) or C(Provisioning).
  - Each instance type must be offered in its availability zone (C(ec2:DescribeInstanceTypeOfferings)).
  - The "Running On-Demand G and VT instances" vCPU quota (Service Quotas C(ec2) C(L-DB2E81BA)) minus the vCPUs of
    the On-Demand G and VT instances already pending or running (Spot Instances have their own quota) must leave room
    for the requested instances. The quota is often
    64 vCPUs, which one g6.4xlarge plus one g6.12xlarge already use up.
  - When the quota cannot be read (no C(servicequotas:GetServiceQuota) permission) the quota check is skipped with a
    warning; the offering check still runs.
options:
  region:
    description:
      - AWS region of the cluster, C(status.platformStatus.aws.region) of C(Infrastructure/cluster).
      - Defaults to E(AWS_REGION) or E(AWS_DEFAULT_REGION).
    type: str
  instance_types:
    description: The instances about to be created.
    type: list
    elements: dict
    required: true
    suboptions:
      instance_type:
        description: EC2 instance type, for example C(g6.4xlarge).
        type: str
        required: true
      zone:
        description: Availability zone, for example C(us-east-2a).
        type: str
        required: true
      count:
        description: How many more instances of this type will be started (not counting ones already running).
        type: int
        default: 1
  profile:
    description: Named profile of the AWS shared credentials file. Defaults to E(AWS_PROFILE).
    type: str
  aws_access_key_id:
    description: AWS access key. Defaults to the usual boto3 chain (environment, profile, instance role).
    type: str
  aws_secret_access_key:
    description: AWS secret key. Never logged.
    type: str
  aws_session_token:
    description: AWS session token for temporary credentials. Never logged.
    type: str
  fail_on_problem:
    description: Fail when a check does not pass; with C(false) the problems are only returned.
    type: bool
    default: true
attributes:
  check_mode:
    support: full
    description: The module only reads; it runs unchanged in check mode.
  diff_mode:
    support: none
    description: Nothing is changed, so there is nothing to diff.
requirements:
  - boto3
notes:
  - Needs C(ec2:DescribeInstanceTypeOfferings), C(ec2:DescribeInstances), C(ec2:DescribeInstanceTypes) and
    C(servicequotas:GetServiceQuota).
  - Every AWS request gives up after 10 seconds connecting or 30 seconds waiting for an answer, in at most 3 attempts.
  - Missing or rejected credentials, a missing permission and an unreachable endpoint fail with AWS's own message and
    what to do; any other error is reported as a bug of this module.
"""

EXAMPLES = r"""
- name: Check that the default GPU pools fit the account
  rhoai.gpu_infra.aws_gpu_preflight:
    region: us-east-2
    instance_types:
      - {instance_type: g6.4xlarge, zone: us-east-2a, count: 1}
      - {instance_type: g6.12xlarge, zone: us-east-2a, count: 1}
"""

RETURN = r"""
problems:
  description: What does not fit, with numbers and what to do; empty when every check passed.
  returned: always
  type: list
  elements: str
quota_vcpus:
  description: The "Running On-Demand G and VT instances" vCPU quota, or null when it could not be read.
  returned: always
  type: int
running_vcpus:
  description: vCPUs of On-Demand G and VT instances already pending or running in the region (Spot Instances are not
    counted).
  returned: always
  type: int
requested_vcpus:
  description: vCPUs of the requested instances.
  returned: always
  type: int
available_vcpus:
  description: Quota minus running vCPUs.
  returned: when the quota could be read
  type: int
offered:
  description: The requested instance types offered in the requested zones, as C(type@zone).
  returned: always
  type: list
  elements: str
  sample: ["g6.4xlarge@us-east-2a"]
"""

# ansible-test wants the imports below the documentation blocks.
import os  # noqa: E402
import traceback  # noqa: E402

from ansible.module_utils.basic import AnsibleModule, missing_required_lib  # noqa: E402
from ansible_collections.rhoai.gpu_infra.plugins.module_utils.machinesets import aws_preflight  # noqa: E402

try:
    import boto3
    from botocore.config import Config
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        ConnectionClosedError,
        ConnectTimeoutError,
        EndpointConnectionError,
        NoCredentialsError,
        NoRegionError,
        PartialCredentialsError,
        ProfileNotFound,
        ReadTimeoutError,
    )

    HAS_BOTO3 = True
    BOTO3_IMPORT_ERROR = None
except ImportError:
    HAS_BOTO3 = False
    BOTO3_IMPORT_ERROR = traceback.format_exc()

# Seconds to connect and to wait for an answer, per attempt; "standard" retries make 3 attempts with backoff. botocore's
# own default read timeout is 60 s with up to 5 legacy retries, long for a preflight that should fail in seconds.
CLIENT_CONFIG = dict(connect_timeout=10, read_timeout=30, retries={"total_max_attempts": 3, "mode": "standard"})
REJECTED_CREDENTIALS = (
    "AuthFailure",
    "InvalidClientTokenId",
    "UnrecognizedClientException",
    "SignatureDoesNotMatch",
    "ExpiredToken",
    "ExpiredTokenException",
    "RequestExpired",
    "InvalidAccessKeyId",
)
MISSING_PERMISSION = ("UnauthorizedOperation", "AccessDenied", "AccessDeniedException")
PERMISSIONS = "ec2:DescribeInstanceTypeOfferings, ec2:DescribeInstances, ec2:DescribeInstanceTypes"
SKIP = "or set machinesets_aws_preflight: false to skip this check"


def aws_failure(exc, region):
    """Expected, found and what to do for an error of AWS or of the way to it; None for anything else (a bug)."""
    if isinstance(exc, (NoCredentialsError, PartialCredentialsError, ProfileNotFound)):
        found = "no usable AWS credentials"
        remedy = (
            "Give the control node credentials: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN), "
            "or AWS_PROFILE / machinesets_aws_profile naming a profile that exists, or an instance role; {0}.".format(
                SKIP
            )
        )
    elif isinstance(exc, NoRegionError):
        found = "no region"
        remedy = "Set the region option (AWS_REGION); the machinesets role reads it from Infrastructure/cluster."
    elif isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        if code in REJECTED_CREDENTIALS:
            found = "AWS rejected the credentials ({0})".format(code)
            remedy = (
                "Renew or correct the AWS credentials of the control node (aws sts get-caller-identity must work); "
                + SKIP
                + "."
            )
        elif code in MISSING_PERMISSION:
            found = "the credentials lack permission for {0} ({1})".format(exc.operation_name, code)
            remedy = "Allow {0} to this identity; {1}.".format(PERMISSIONS, SKIP)
        else:
            found = "AWS answered {0} to {1}".format(code or "an error", exc.operation_name)
            remedy = "Re-run; if it persists, check the AWS service health of the region; " + SKIP + "."
    elif isinstance(exc, (EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError, ConnectionClosedError)):
        found = "the EC2 endpoint of {0} could not be reached".format(region)
        remedy = (
            "Check this host's network access (and HTTPS_PROXY) to ec2.{0}.amazonaws.com and the region; {1}.".format(
                region, SKIP
            )
        )
    elif isinstance(exc, BotoCoreError):
        found = "the AWS client failed"
        remedy = "Check the AWS configuration of the control node (~/.aws/config, AWS_* variables); " + SKIP + "."
    else:
        return None
    return (
        "Could not check the GPU instance offerings and quota in {0}: {1} ({2}). Expected to be able to call {3}. "
        "{4}".format(region, found, exc, PERMISSIONS, remedy)
    )


def main():
    module = AnsibleModule(
        argument_spec=dict(
            region=dict(type="str"),
            instance_types=dict(
                type="list",
                elements="dict",
                required=True,
                options=dict(
                    instance_type=dict(type="str", required=True),
                    zone=dict(type="str", required=True),
                    count=dict(type="int", default=1),
                ),
            ),
            profile=dict(type="str"),
            aws_access_key_id=dict(type="str", no_log=True),
            aws_secret_access_key=dict(type="str", no_log=True),
            aws_session_token=dict(type="str", no_log=True),
            fail_on_problem=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    if not HAS_BOTO3:
        module.fail_json(msg=missing_required_lib("boto3"), exception=BOTO3_IMPORT_ERROR)
    params = module.params
    region = params["region"] or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if not region:
        module.fail_json(
            msg="Expected a region (option region, AWS_REGION or AWS_DEFAULT_REGION), found none. Set region to the "
            "cluster's AWS region (status.platformStatus.aws.region of Infrastructure/cluster) or export AWS_REGION, "
            "and re-run."
        )
    failure = None
    try:
        session = boto3.session.Session(
            aws_access_key_id=params["aws_access_key_id"],
            aws_secret_access_key=params["aws_secret_access_key"],
            aws_session_token=params["aws_session_token"],
            profile_name=params["profile"],
            region_name=region,
        )
        config = Config(**CLIENT_CONFIG)
        problems, facts, warnings = aws_preflight(
            session.client("ec2", config=config),
            session.client("service-quotas", config=config),
            params["instance_types"],
        )
    except Exception as exc:  # AWS errors get their cause and a remedy; anything else is a bug of this module
        failure = aws_failure(exc, region)
        if failure is None:
            module.fail_json(
                msg="aws_gpu_preflight failed with an unexpected {0}: {1}. This is a bug in rhoai.gpu_infra, not a "
                "problem of the AWS account or credentials; please report it with the output of ansible-playbook "
                "-vvv (which shows the traceback).".format(type(exc).__name__, exc),
                exception=traceback.format_exc(),
            )
    if failure:
        # Outside the except block: the message explains an AWS error in full; a traceback would only suggest a bug.
        module.fail_json(msg=failure)
    for warning in warnings:
        module.warn(warning)
    result = dict(changed=False, problems=problems, **facts)
    if problems and params["fail_on_problem"]:
        module.fail_json(msg="AWS cannot run the requested GPU instances: " + " ".join(problems), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
