# -*- coding: utf-8 -*-
# Copyright (c) rhoai.gpu_infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # Same names and environment fallbacks as kubernetes.core, so one module_defaults block or one AAP credential
    # serves both collections.
    DOCUMENTATION = r"""
options:
  kubeconfig:
    description:
      - Path to a kubeconfig file, or the kubeconfig content as a dictionary.
      - Without it (and without I(host) + I(api_key)), C(KUBECONFIG) or C(~/.kube/config) is used, then the in-cluster
        service account.
      - Can also be set with the E(K8S_AUTH_KUBECONFIG) environment variable.
    type: raw
  context:
    description:
      - The kubeconfig context to use. Can also be set with E(K8S_AUTH_CONTEXT).
    type: str
  host:
    description:
      - URL of the Kubernetes API, for example C(https://api.cluster.example.com:6443).
      - Can also be set with E(K8S_AUTH_HOST), which the AWX/AAP "OpenShift or Kubernetes API Bearer Token"
        credential injects.
    type: str
  api_key:
    description:
      - Bearer token for the API. Never logged.
      - Can also be set with E(K8S_AUTH_API_KEY).
    type: str
  validate_certs:
    description:
      - Whether to verify the API server's TLS certificate.
      - Can also be set with E(K8S_AUTH_VERIFY_SSL) or E(K8S_AUTH_VALIDATE_CERTS).
    type: bool
    aliases: [verify_ssl]
  ca_cert:
    description:
      - Path to a CA bundle that signs the API server's certificate.
      - Can also be set with E(K8S_AUTH_SSL_CA_CERT) or E(K8S_AUTH_CA_CERT).
    type: path
    aliases: [ssl_ca_cert]
  client_cert:
    description:
      - Path to a client certificate for mutual TLS. Can also be set with E(K8S_AUTH_CERT_FILE).
    type: path
    aliases: [cert_file]
  client_key:
    description:
      - Path to the key of I(client_cert). Can also be set with E(K8S_AUTH_KEY_FILE).
    type: path
    aliases: [key_file]
requirements:
  - kubernetes >= 24.2.0 (the Python client; the old C(openshift) client is not needed)
notes:
  - Options not given fall back to the E(K8S_AUTH_*) environment variables exactly as in M(kubernetes.core.k8s).
"""
