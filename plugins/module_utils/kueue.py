# -*- coding: utf-8 -*-
# Copyright (c) rhoai.gpu_infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Per-channel facts of the Red Hat build of Kueue and the check of a Kueue integration framework list against them.

``Kueue/cluster`` (kueue.openshift.io/v1) takes ``spec.config.integrations.frameworks``, an exact enum whose names and
``maxItems`` grow with the operator. The API server rejects a wrong list only when the Kueue CR is applied, which is
after the operator was subscribed; checking the list against this table first lets a run fail before it changes
anything. Facts: openshift/kueue-operator bundle CRDs of branches release-1.0 to release-1.4, OCP 4.20 Kueue 1.3
release notes, and Red Hat's GitOps for RHOAI 3.x (opendatahub-io/odh-gitops), as summarised in the collection's
operator reference (operators.md section 2).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.rhoai.gpu_infra.plugins.module_utils import olm

# Names every channel's CRD accepts.
_V1_0 = (
    "BatchJob",
    "RayJob",
    "RayCluster",
    "JobSet",
    "MPIJob",
    "PaddleJob",
    "PyTorchJob",
    "TFJob",
    "XGBoostJob",
    "AppWrapper",
    "Pod",
    "Deployment",
    "StatefulSet",
    "LeaderWorkerSet",
)
_V1_1 = (*_V1_0, "JaxJob")
_V1_2 = (*_V1_1, "TrainJob")
_V1_4 = (*_V1_2, "RayService", "SparkApplication")

# What odh-gitops enables for RHOAI 3.x. Deployment and StatefulSet are what let Kueue admit InferenceServices and
# workbenches; RHOAI never replaces an existing Kueue/cluster, so a list without them stays without them.
RED_HAT_FRAMEWORKS = ("Deployment", "Pod", "PyTorchJob", "RayCluster", "RayJob", "StatefulSet", "TrainJob")


def _row(frameworks, max_items, leader_worker_set_supported):
    return {
        "frameworks": list(frameworks),
        "max_items": max_items,
        "leader_worker_set_supported": leader_worker_set_supported,
        "default": [name for name in RED_HAT_FRAMEWORKS if name in frameworks],
    }


# THE table: channel -> allowed names, maxItems of the list, whether Red Hat supports the LeaderWorkerSet integration
# (from Kueue 1.3), and the default list (Red Hat's list, restricted to what the channel knows).
CHANNELS = {
    "stable-v1.0": _row(_V1_0, 14, False),
    "stable-v1.1": _row(_V1_1, 14, False),
    "stable-v1.2": _row(_V1_2, 14, False),
    "stable-v1.3": _row(_V1_2, 14, True),
    "stable-v1.4": _row(_V1_4, 18, True),
}
# The newest channel the table knows: an unknown channel (allowed explicitly) gets its default list.
NEWEST = "stable-v1.4"


def known_channels():
    return list(CHANNELS)


def channel_facts(channel):
    """The table row of ``channel`` plus ``channel`` and ``known``; an unknown channel gets the newest default list."""
    row = CHANNELS.get(channel)
    if row is None:
        return {
            "channel": channel,
            "known": False,
            "frameworks": [],
            "max_items": None,
            "leader_worker_set_supported": None,
            "default": list(CHANNELS[NEWEST]["default"]),
        }
    return dict(row, channel=channel, known=True, frameworks=list(row["frameworks"]), default=list(row["default"]))


def running_channel(channel, installed_csv=""):
    """The channel whose Kueue runs: ``channel``, unless the installed CSV (``kueue-operator.vX.Y.Z``) belongs to a
    later channel of the table. OLM never downgrades, so after a move to an earlier channel the installed operator,
    and its Kueue CRD, stay; Kueue ``cluster`` must then keep the frameworks that operator has."""
    version = olm.csv_version(str(installed_csv or "")) or ()
    installed = "stable-v{0}.{1}".format(*version) if len(version) >= 2 else ""
    order = list(CHANNELS)
    if channel in CHANNELS and installed in CHANNELS and order.index(installed) > order.index(channel):
        return installed
    return channel


def _first_channel_with(name):
    return next((channel for channel, row in CHANNELS.items() if name in row["frameworks"]), "")


def check_frameworks(frameworks, channel, allow_unknown_channel=False, installed_csv=""):
    """Judge ``frameworks`` for ``channel``, or for the later channel of ``installed_csv`` (see running_channel):
    ``{errors: [...], warnings: [...]}``, each a sentence saying what was expected, what was found and what to do. No
    errors means the list can be applied."""
    errors, warnings = [], []
    running = running_channel(channel, installed_csv)
    if running != channel:
        warnings.append(
            "kueue_channel is {0}, but {1} is installed and OLM never downgrades: Kueue cluster gets the frameworks "
            "the Kueue of {2} accepts, and kueue_frameworks defaults to Red Hat's list for {2}.".format(
                channel, installed_csv, running
            )
        )
        channel = running
    if not isinstance(frameworks, (list, tuple)):
        return {
            "errors": [
                "kueue_frameworks: expected a list of framework names, found {0!r}. Write it as a YAML list.".format(
                    frameworks
                )
            ],
            "warnings": [],
        }
    frameworks = [str(name) for name in frameworks]
    if not frameworks:
        errors.append(
            "kueue_frameworks: expected at least one framework (the Kueue CRD requires one), found an empty list. "
            "Remove the override to get Red Hat's list for the channel, or name the frameworks Kueue should manage."
        )
    duplicates = sorted({name for name in frameworks if frameworks.count(name) > 1})
    if duplicates:
        errors.append(
            "kueue_frameworks: expected each name once (the Kueue CRD rejects duplicates), found {0} more than once. "
            "Remove the repetitions.".format(", ".join(duplicates))
        )

    facts = channel_facts(channel)
    if not facts["known"]:
        if not allow_unknown_channel:
            errors.append(
                "kueue_channel: expected a channel whose Kueue frameworks this collection knows ({0}), found {1!r}. "
                "Choose one of those, or set kueue_allow_unknown_channel: true to let the cluster's Kueue CRD judge "
                "kueue_frameworks when Kueue cluster is applied.".format(", ".join(known_channels()), channel)
            )
        else:
            warnings.append(
                "kueue_channel {0!r} is not in this collection's table of Kueue channels ({1}): kueue_frameworks is "
                "not checked for names or length before the run; the cluster's Kueue CRD judges it when Kueue cluster "
                "is applied, after the operator was subscribed. Without kueue_frameworks the default is {2}'s list "
                "({3}); set kueue_frameworks explicitly if the channel's Kueue is older.".format(
                    channel, ", ".join(known_channels()), NEWEST, ", ".join(facts["default"])
                )
            )
        return {"errors": errors, "warnings": warnings}

    unknown = [name for name in dict.fromkeys(frameworks) if name not in facts["frameworks"]]
    if unknown:
        found = []
        for name in unknown:
            later = _first_channel_with(name)
            found.append("{0} ({1})".format(name, "from channel " + later if later else "no channel has it"))
        errors.append(
            "kueue_frameworks: expected names the Kueue CRD of channel {0} accepts ({1}), found {2}. Fix the names "
            "(they are case-sensitive), drop them, or choose a kueue_channel that has them.".format(
                channel, ", ".join(facts["frameworks"]), ", ".join(found)
            )
        )
    if len(frameworks) > facts["max_items"]:
        errors.append(
            "kueue_frameworks: expected at most {0} names on channel {1} (maxItems of the Kueue CRD), found {2}. "
            "Keep only the frameworks Kueue should manage.".format(facts["max_items"], channel, len(frameworks))
        )
    if "LeaderWorkerSet" in frameworks and not facts["leader_worker_set_supported"]:
        supported = [c for c, row in CHANNELS.items() if row["leader_worker_set_supported"]]
        warnings.append(
            "kueue_frameworks enables LeaderWorkerSet on channel {0}: the CRD accepts it, but Red Hat supports the "
            "LeaderWorkerSet integration from Kueue 1.3 only (channel {1} or later). Use that channel, or drop "
            "LeaderWorkerSet for a supported configuration.".format(channel, supported[0])
        )
    return {"errors": errors, "warnings": warnings}
