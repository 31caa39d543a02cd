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
    the G and VT instances already pending or running must leave room for the requested instances. The quota is often
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
"""

EXAMPLES = r"""
- name: Check that the design input's GPU pools fit the account
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
  description: vCPUs of G and VT instances already pending or running in the region.
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

    HAS_BOTO3 = True
    BOTO3_IMPORT_ERROR = None
except ImportError:
    HAS_BOTO3 = False
    BOTO3_IMPORT_ERROR = traceback.format_exc()


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
        module.fail_json(msg="Expected a region (option region, AWS_REGION or AWS_DEFAULT_REGION), found none.")
    try:
        session = boto3.session.Session(
            aws_access_key_id=params["aws_access_key_id"],
            aws_secret_access_key=params["aws_secret_access_key"],
            aws_session_token=params["aws_session_token"],
            profile_name=params["profile"],
            region_name=region,
        )
        problems, facts, warnings = aws_preflight(
            session.client("ec2"), session.client("service-quotas"), params["instance_types"]
        )
    except Exception as exc:  # botocore raises many unrelated types: credentials, endpoint, client errors
        module.fail_json(
            msg="Could not query AWS in {0}: {1}. Check the AWS credentials (environment, profile or options) and "
            "that they allow ec2:Describe*; or set machinesets_aws_preflight to false to skip this check.".format(
                region, exc
            ),
            exception=traceback.format_exc(),
        )
    for warning in warnings:
        module.warn(warning)
    result = dict(changed=False, problems=problems, **facts)
    if problems and params["fail_on_problem"]:
        module.fail_json(msg="AWS cannot run the requested GPU instances: " + " ".join(problems), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
