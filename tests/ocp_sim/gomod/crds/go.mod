// Wrapper module: nothing is built from it. It only pins the upstream modules whose
// files provide the CRDs the test bed installs (tests/ocp_sim/openshift/upstream_crds.py
// reads them from the Go module cache), so that schemas come from the real projects at
// known versions instead of hand-written copies. Versions: OpenShift 4.20 / RHOAI 3.0
// where the module proxy serves them; the README section "Where each CRD comes from"
// in tests/ocp_sim/openshift says where a served version differs and why.
module rhoai.gpu_infra/ocp_sim/crds

go 1.25.0

require (
	github.com/NVIDIA/gpu-operator v0.0.0-20250917190837-d73a0086a6ba
	github.com/cert-manager/cert-manager v1.18.2
	github.com/kuadrant/authorino-operator v0.21.0
	github.com/kuadrant/dns-operator v0.10.0
	github.com/kuadrant/limitador-operator v0.15.0
	github.com/openshift/api v0.0.0-20250808142411-c974eeafe3f1
	github.com/openshift/cluster-autoscaler-operator v0.0.1-0.20260608074635-5c8643284941
	github.com/prometheus-operator/prometheus-operator v0.85.0
	knative.dev/operator v0.42.2
	sigs.k8s.io/kueue v0.17.0
	sigs.k8s.io/lws v0.7.0
	sigs.k8s.io/node-feature-discovery v0.17.3
)

// Other pinned modules require newer releases of these (kueue: cert-manager v1.20 and
// lws v0.8; cluster-autoscaler-operator: a 2026 openshift/api); without a replace the
// module graph would pick those instead of the OpenShift 4.20 era versions above.
replace (
	github.com/cert-manager/cert-manager => github.com/cert-manager/cert-manager v1.18.2
	github.com/openshift/api => github.com/openshift/api v0.0.0-20250808142411-c974eeafe3f1
	sigs.k8s.io/lws => sigs.k8s.io/lws v0.7.0
)
