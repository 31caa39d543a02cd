"""The gpu_machineset filter and the capacity arithmetic behind the machinesets role (no cluster)."""

import copy
import random
import string
from pathlib import Path

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.rhoai.gpu_infra.plugins.filter.gpu_machineset import FilterModule
from ansible_collections.rhoai.gpu_infra.plugins.module_utils import machinesets as m

INFRA = "sim-7x2kq"


def worker(infra=INFRA, zone="us-east-2a", subnet=None, **extra_meta):
    """A worker MachineSet as the 4.20 installer writes it on AWS, with the server-set fields a GET returns."""
    name = "{0}-worker-{1}".format(infra, zone)
    ms = {
        "apiVersion": "machine.openshift.io/v1beta1",
        "kind": "MachineSet",
        "metadata": {
            "name": name,
            "namespace": "openshift-machine-api",
            "labels": {m.CLUSTER_LABEL: infra},
            "annotations": {
                "machine.openshift.io/GPU": "0",
                "machine.openshift.io/vCPU": "4",
                "machine.openshift.io/memoryMb": "16384",
                "machine.openshift.io/maxPods": "250",
                "capacity.cluster-autoscaler.kubernetes.io/labels": "kubernetes.io/arch=amd64",
            },
            "uid": "0b1c",
            "resourceVersion": "4711",
            "generation": 3,
            "creationTimestamp": "2025-01-01T00:00:00Z",
            "managedFields": [{"manager": "installer"}],
        },
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {m.CLUSTER_LABEL: infra, m.MACHINESET_LABEL: name}},
            "template": {
                "metadata": {
                    "labels": {
                        m.CLUSTER_LABEL: infra,
                        "machine.openshift.io/cluster-api-machine-role": "worker",
                        "machine.openshift.io/cluster-api-machine-type": "worker",
                        m.MACHINESET_LABEL: name,
                    }
                },
                "spec": {
                    "lifecycleHooks": {},
                    "metadata": {},
                    "providerSpec": {
                        "value": {
                            "apiVersion": "machine.openshift.io/v1beta1",
                            "kind": "AWSMachineProviderConfig",
                            "ami": {"id": "ami-0abc"},
                            "blockDevices": [{"ebs": {"encrypted": True, "volumeSize": 120, "volumeType": "gp3"}}],
                            "credentialsSecret": {"name": "aws-cloud-credentials"},
                            "deviceIndex": 0,
                            "iamInstanceProfile": {"id": infra + "-worker-profile"},
                            "instanceType": "m6i.xlarge",
                            "metadataServiceOptions": {},
                            "placement": {"availabilityZone": zone, "region": "us-east-2"},
                            "securityGroups": [
                                {"filters": [{"name": "tag:Name", "values": [infra + "-node"]}]},
                                {"filters": [{"name": "tag:Name", "values": [infra + "-lb"]}]},
                            ],
                            "subnet": subnet
                            or {"filters": [{"name": "tag:Name", "values": [infra + "-subnet-private-" + zone]}]},
                            "tags": [{"name": "kubernetes.io/cluster/" + infra, "value": "owned"}],
                            "userDataSecret": {"name": "worker-user-data"},
                        }
                    },
                },
            },
        },
        "status": {"replicas": 2, "readyReplicas": 2},
    }
    ms["metadata"].update(extra_meta)
    return ms


def build(template=None, pool=None, **kw):
    return FilterModule().filters()["gpu_machineset"](
        template or worker(), kw.pop("infra", INFRA), pool or {"instance_type": "g6.4xlarge"}, **kw
    )


def tspec(ms):
    return ms["spec"]["template"]["spec"]


def provider(ms):
    return tspec(ms)["providerSpec"]["value"]


def test_design_input_pool_shape():
    ms = build()
    name = "sim-7x2kq-gpu-g6-4xlarge-us-east-2a"
    assert ms["metadata"]["name"] == name
    assert ms["spec"]["selector"]["matchLabels"][m.MACHINESET_LABEL] == name
    assert ms["spec"]["template"]["metadata"]["labels"][m.MACHINESET_LABEL] == name
    assert ms["spec"]["replicas"] == 1
    assert provider(ms)["instanceType"] == "g6.4xlarge"
    assert tspec(ms)["metadata"]["labels"] == {
        "node-role.kubernetes.io/gpu": "",
        "cluster-api/accelerator": "nvidia-l4",
    }
    assert tspec(ms)["taints"] == [{"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"}]
    assert ms["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "rhoai.gpu_infra"


def test_copies_installer_fields_and_drops_server_fields():
    ms = build(pool={"instance_type": "g6.12xlarge"})
    assert ms["metadata"]["name"] == "sim-7x2kq-gpu-g6-12xlarge-us-east-2a"
    for key in ("uid", "resourceVersion", "generation", "creationTimestamp", "managedFields"):
        assert key not in ms["metadata"]
    assert "status" not in ms
    assert ms["metadata"]["annotations"] == {
        "capacity.cluster-autoscaler.kubernetes.io/labels": "kubernetes.io/arch=amd64"
    }
    value = provider(ms)
    original = provider(worker())
    for key in (
        "ami",
        "iamInstanceProfile",
        "securityGroups",
        "subnet",
        "tags",
        "userDataSecret",
        "blockDevices",
        "credentialsSecret",
        "metadataServiceOptions",
        "deviceIndex",
    ):
        assert value[key] == original[key]


def test_installer_nulls_are_dropped_so_a_reapply_is_no_change():
    # The installer writes providerSpec.value.metadata.creationTimestamp: null; applied again, a null deletes.
    template = worker()
    provider(template)["metadata"] = {"creationTimestamp": None}
    ms = m.build_gpu_machineset(template, INFRA, {"instance_type": "g6.4xlarge"})
    assert provider(ms)["metadata"] == {}
    assert provider(template)["metadata"] == {"creationTimestamp": None}  # the template is untouched


def test_other_zone_follows_installer_subnet_naming():
    ms = build(pool={"instance_type": "g6.4xlarge", "zone": "us-east-2c"})
    assert ms["metadata"]["name"].endswith("-us-east-2c")
    assert provider(ms)["placement"] == {"availabilityZone": "us-east-2c", "region": "us-east-2"}
    assert provider(ms)["subnet"]["filters"][0]["values"] == [INFRA + "-subnet-private-us-east-2c"]


def test_pool_options():
    ms = build(
        pool={
            "instance_type": "g6.12xlarge",
            "replicas": 0,
            "labels": {"team": "ml"},
            "taints": [{"key": "dedicated", "value": "llm", "effect": "NoExecute"}],
            "accelerator": "l4",
            "root_volume_size": 300,
            "min_replicas": 0,
            "max_replicas": 3,
        }
    )
    assert ms["spec"]["replicas"] == 0
    assert tspec(ms)["metadata"]["labels"]["team"] == "ml"
    assert tspec(ms)["metadata"]["labels"]["cluster-api/accelerator"] == "l4"
    assert {"key": "dedicated", "value": "llm", "effect": "NoExecute"} in tspec(ms)["taints"]
    assert provider(ms)["blockDevices"][0]["ebs"] == {"encrypted": True, "volumeSize": 300, "volumeType": "gp3"}


def test_root_volume_size_sizes_the_root_device_not_the_first_entry():
    # The AWS provider takes the entry without deviceName as the root volume; named entries are extra volumes.
    tmpl = worker()
    data = {"deviceName": "/dev/xvdb", "ebs": {"volumeSize": 500, "volumeType": "gp3"}}
    root = {"ebs": {"encrypted": True, "volumeSize": 120, "volumeType": "gp3"}}
    provider(tmpl)["blockDevices"] = [data, root]
    devices = provider(build(tmpl, pool={"instance_type": "g6.4xlarge", "root_volume_size": 300}))["blockDevices"]
    assert devices == [data, dict(root, ebs=dict(root["ebs"], volumeSize=300))]


def test_root_volume_size_adds_a_root_device_when_only_named_ones_exist():
    tmpl = worker()
    data = {"deviceName": "/dev/xvdb", "ebs": {"volumeSize": 500}}
    provider(tmpl)["blockDevices"] = [data]
    devices = provider(build(tmpl, pool={"instance_type": "g6.4xlarge", "root_volume_size": 300}))["blockDevices"]
    assert devices == [data, {"ebs": {"volumeSize": 300}}]


def test_capacity_annotations_of_an_autoscaled_worker_are_not_copied():
    # What a MachineAutoscaler leaves on the worker it targets: copies of the machine.openshift.io/ capacity, which the
    # cluster autoscaler reads first, so the GPU pool would scale from zero as if it were the worker's size.
    capacity = {
        "capacity.cluster-autoscaler.kubernetes.io/cpu": "4",
        "capacity.cluster-autoscaler.kubernetes.io/memory": "16Gi",
        "capacity.cluster-autoscaler.kubernetes.io/gpu-count": "0",
        "capacity.cluster-autoscaler.kubernetes.io/gpu-type": "",
        "capacity.cluster-autoscaler.kubernetes.io/maxPods": "250",
        "capacity.cluster-autoscaler.kubernetes.io/ephemeral-disk": "120Gi",
    }
    tmpl = worker()
    tmpl["metadata"]["annotations"].update(capacity)
    annotations = build(tmpl)["metadata"]["annotations"]
    assert not set(capacity) & set(annotations)
    assert annotations == {"capacity.cluster-autoscaler.kubernetes.io/labels": "kubernetes.io/arch=amd64"}


def test_keeps_existing_node_labels_and_taints_without_duplicates():
    tmpl = worker()
    tspec(tmpl)["metadata"] = {"labels": {"keep": "me"}}
    tspec(tmpl)["taints"] = [
        {"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"},
        {"key": "other", "effect": "NoSchedule"},
    ]
    ms = build(
        tmpl, pool={"instance_type": "g6.4xlarge", "taints": [{"key": "nvidia.com/gpu", "effect": "NoSchedule"}]}
    )
    assert tspec(ms)["metadata"]["labels"]["keep"] == "me"
    keys = [(t["key"], t["effect"]) for t in tspec(ms)["taints"]]
    assert sorted(keys) == [("nvidia.com/gpu", "NoSchedule"), ("other", "NoSchedule")]


def test_autoscaled_machineset_keeps_server_replicas():
    current = build()
    current["spec"]["replicas"] = 3
    assert build(current=current, autoscaled=True)["spec"]["replicas"] == 3
    current["metadata"]["annotations"] = {m.AUTOSCALER_ANNOTATION_PREFIX + "min-size": "0"}
    assert build(current=current)["spec"]["replicas"] == 3
    current["metadata"].pop("annotations")
    assert build(current=current)["spec"]["replicas"] == 1


def test_worker_autoscaler_annotations_are_not_copied():
    tmpl = worker()
    tmpl["metadata"]["annotations"][m.AUTOSCALER_ANNOTATION_PREFIX + "min-size"] = "1"
    assert not m.is_autoscaled(build(tmpl))


@pytest.mark.parametrize(
    ("change", "pool", "needle"),
    [
        (None, {"instance_type": "p9.huge"}, "g6.12xlarge, g6.16xlarge"),
        (None, {"instance_type": "g6.4xlarge", "replicas": -1}, "replicas as an integer >= 0"),
        (None, {"instance_type": "g6.4xlarge", "replicas": "2"}, "replicas as an integer"),
        (None, {"instance_type": "g6.4xlarge", "zone": "eu-west-1a"}, "zone of region us-east-2"),
        (None, {"instance_type": "g6.4xlarge", "replica": 2}, "unknown key(s) replica"),
        (None, {"instance_type": "g6.4xlarge", "root_volume_size": 0}, "root_volume_size"),
        (None, {"instance_type": "g6.4xlarge", "taints": [{"key": "x", "effect": "Never"}]}, "effect in NoSchedule"),
        (None, {"instance_type": "g6.4xlarge", "labels": {"a": True}}, "labels as a dict of label values"),
        (None, {"instance_type": "g6.4xlarge", "labels": {"Team Name": "ml"}}, "found 'Team Name'"),
        (
            None,
            {"instance_type": "g6.4xlarge", "labels": {"bad key!": "x", "example.com/ok": "y"}},
            "found 'bad key!'.",
        ),
        (None, {"instance_type": "g6.4xlarge", "accelerator": "NVIDIA L4"}, "accelerator as a label value"),
        (None, {"instance_type": "g6.4xlarge", "accelerator": ""}, "found ''"),
        (None, {"instance_type": "g6.4xlarge", "replicas": "2"}, "Write replicas as a number, without quotes"),
        (lambda t: t["metadata"]["labels"].update({m.CLUSTER_LABEL: "other-1234"}), None, "cluster 'other-1234'"),
        (
            lambda t: t["spec"]["template"]["metadata"]["labels"].update(
                {"machine.openshift.io/cluster-api-machine-role": "infra"}
            ),
            None,
            "role/type infra/worker",
        ),
        (lambda t: t.update(kind="Machine"), None, "kind Machine"),
        (lambda t: t.update(apiVersion="cluster.x-k8s.io/v1beta1"), None, "apiVersion cluster.x-k8s.io/v1beta1"),
        (lambda t: provider(t).update(kind="GCPMachineProviderConfig"), None, "GCPMachineProviderConfig"),
    ],
)
def test_rejections_say_expected_and_found(change, pool, needle):
    tmpl = worker()
    if change:
        change(tmpl)
    with pytest.raises(AnsibleFilterError) as err:
        build(tmpl, pool=pool)
    assert needle in str(err.value)
    assert "Expected" in str(err.value) and "found" in str(err.value)


@pytest.mark.parametrize("zone", ["us-east-2", "us-east-20a", "us-east-2ab", "US-EAST-2B", "us-east-2a\n"])
def test_a_zone_that_is_not_an_availability_zone_of_the_region_is_rejected(zone):
    # "us-east-2" (the region itself) used to pass a startswith(region) check and became a MachineSet whose machines
    # can never be placed.
    with pytest.raises(AnsibleFilterError, match=r"Expected an availability zone of region us-east-2.*found"):
        build(pool={"instance_type": "g6.4xlarge", "zone": zone})


@pytest.mark.parametrize("zone", [["us-east-2a", "us-east-2b"], 5])
def test_a_zone_that_is_not_a_string_is_rejected_with_a_message(zone):
    # It used to fail with "'list' object has no attribute 'startswith'".
    with pytest.raises(AnsibleFilterError, match=r"Expected zone as one availability zone name.*one pool per zone"):
        build(pool={"instance_type": "g6.4xlarge", "zone": zone})


def test_local_zones_of_the_region_are_accepted():
    tmpl = worker(zone="us-west-2a")
    provider(tmpl)["placement"]["region"] = "us-west-2"
    ms = build(tmpl, pool={"instance_type": "g6.4xlarge", "zone": "us-west-2-lax-1a"})
    assert provider(ms)["placement"]["availabilityZone"] == "us-west-2-lax-1a"


def test_zone_change_with_subnet_id_is_rejected():
    tmpl = worker(subnet={"id": "subnet-0123"})
    assert provider(build(tmpl))["subnet"] == {"id": "subnet-0123"}  # same zone: copied as is
    with pytest.raises(AnsibleFilterError, match=r"subnet-0123.*cannot be derived for zone us-east-2b"):
        build(tmpl, pool={"instance_type": "g6.4xlarge", "zone": "us-east-2b"})


def test_name_too_long_for_a_label_value():
    infra = "a-very-long-cluster-name-for-gpus-x1z2"
    with pytest.raises(AnsibleFilterError, match="at most 63") as err:
        build(worker(infra=infra), infra=infra, pool={"instance_type": "g6e.12xlarge", "zone": "us-east-2a"})
    assert str(len(infra + "-gpu-g6e-12xlarge-us-east-2a")) in str(err.value)


def test_table_covers_design_input_g6_family():
    # operators.md section 3: GPUs / vCPU / GiB
    expected = {
        "xlarge": (1, 4, 16),
        "2xlarge": (1, 8, 32),
        "4xlarge": (1, 16, 64),
        "8xlarge": (1, 32, 128),
        "12xlarge": (4, 48, 192),
        "16xlarge": (1, 64, 256),
        "24xlarge": (4, 96, 384),
        "48xlarge": (8, 192, 768),
    }
    for size, (gpus, vcpus, gib) in expected.items():
        row = m.INSTANCE_TYPES["g6." + size]
        assert (row["gpus"], row["vcpus"], row["memory_gib"], row["accelerator"]) == (gpus, vcpus, gib, "nvidia-l4")


def _random_template(rng):
    infra = (
        "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(3, 30)))
        + "-"
        + "".join(rng.choice(string.ascii_lowercase + string.digits) for _ in range(5))
    )
    region = rng.choice(["us-east-1", "us-east-2", "eu-west-1", "ap-southeast-2"])
    zone = region + rng.choice("abcdef")
    tmpl = worker(infra=infra, zone=zone)
    provider(tmpl)["placement"]["region"] = region
    if rng.random() < 0.5:
        tspec(tmpl)["metadata"] = {"labels": {"k{0}".format(i): "v" for i in range(rng.randint(0, 3))}}
    if rng.random() < 0.5:
        tspec(tmpl)["taints"] = [
            {"key": rng.choice(["nvidia.com/gpu", "a", "b"]), "value": "true", "effect": rng.choice(m.TAINT_EFFECTS)}
            for _ in range(rng.randint(0, 3))
        ]
        # a real template never has duplicates itself
        seen = {}
        for t in tspec(tmpl)["taints"]:
            seen[(t["key"], t["effect"])] = t
        tspec(tmpl)["taints"] = list(seen.values())
    return infra, region, tmpl


def test_property_over_generated_inputs():
    rng = random.Random(20251)
    built = rejected = too_long = 0
    for _ in range(500):
        infra, region, tmpl = _random_template(rng)
        pool = {"instance_type": rng.choice([*sorted(m.INSTANCE_TYPES), "x1.huge"])}
        if rng.random() < 0.6:
            pool["zone"] = region + rng.choice("abcdef")
        if rng.random() < 0.6:
            pool["replicas"] = rng.randint(-1, 5)
        if rng.random() < 0.3:
            pool["taints"] = [
                {"key": rng.choice(["nvidia.com/gpu", "a", "c"]), "effect": rng.choice(m.TAINT_EFFECTS)}
                for _ in range(rng.randint(1, 3))
            ]
        before = copy.deepcopy(tmpl)
        try:
            ms = build(tmpl, pool=pool, infra=infra)
        except AnsibleFilterError as exc:
            rejected += 1
            too_long += "at most 63" in str(exc)
            assert "Expected" in str(exc)
            assert (
                pool["instance_type"] == "x1.huge"
                or pool.get("replicas", 0) < 0
                or len(m.gpu_machineset_name(infra, pool["instance_type"], pool.get("zone") or m.template_zone(tmpl)))
                > 63
            )
            continue
        finally:
            assert tmpl == before, "the template was mutated"
        built += 1
        name = ms["metadata"]["name"]
        assert len(name) <= 63 and m.DNS_LABEL.match(name)
        assert ms["spec"]["selector"]["matchLabels"][m.MACHINESET_LABEL] == name
        selector = ms["spec"]["selector"]["matchLabels"]
        labels = ms["spec"]["template"]["metadata"]["labels"]
        assert all(labels.get(k) == v for k, v in selector.items()), "selector does not match the template"
        taints = [(t["key"], t["effect"]) for t in tspec(ms)["taints"]]
        assert len(taints) == len(set(taints)), "duplicate taints"
        assert ("nvidia.com/gpu", "NoSchedule") in taints
        assert provider(ms)["placement"]["availabilityZone"] in provider(ms)["subnet"]["filters"][0]["values"][0]
        assert ms["spec"]["replicas"] == pool.get("replicas", 1)
    assert built > 200 and rejected > 20  # both paths were exercised
    assert too_long, "no generated name was too long; the generator does not cover that rejection"


# --- AWS capacity arithmetic ---------------------------------------------------------------------------------------


def test_capacity_default_quota_fits_exactly_the_design_input_pools():
    requests = [
        {"instance_type": "g6.4xlarge", "zone": "us-east-2a", "count": 1},
        {"instance_type": "g6.12xlarge", "zone": "us-east-2a", "count": 1},
    ]
    offered = {("g6.4xlarge", "us-east-2a"), ("g6.12xlarge", "us-east-2a")}
    vcpus = {t: r["vcpus"] for t, r in m.INSTANCE_TYPES.items()}
    problems, facts = m.check_capacity(requests, offered, 64, [], vcpus)
    assert problems == [] and facts["requested_vcpus"] == 64
    problems, facts = m.check_capacity(
        requests, offered, 64, ["g6.xlarge", "m6i.large"], dict(vcpus, **{"m6i.large": 2})
    )
    assert len(problems) == 1
    assert "need 64 vCPUs" in problems[0] and "4 are already in use, leaving 60" in problems[0]


def test_instance_type_table_filter_returns_a_copy():
    table = FilterModule().filters()["gpu_instance_types"](None)
    assert table["g6.12xlarge"] == {"gpus": 4, "vcpus": 48, "memory_gib": 192, "accelerator": "nvidia-l4"}
    table["g6.12xlarge"]["gpus"] = 99
    assert m.INSTANCE_TYPES["g6.12xlarge"]["gpus"] == 4


def test_role_argument_spec_choices_match_the_table():
    import yaml  # noqa: PLC0415

    spec_file = Path(__file__).resolve().parents[2] / "roles" / "machinesets" / "meta" / "argument_specs.yml"
    spec = yaml.safe_load(spec_file.read_text())["argument_specs"]["main"]["options"]["machinesets_pools"]
    assert sorted(spec["options"]["instance_type"]["choices"]) == sorted(m.INSTANCE_TYPES)
