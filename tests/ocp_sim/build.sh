#!/usr/bin/env bash
# Build the local Kubernetes control plane used by the OpenShift simulator:
#   etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok
# and OLM v0 with its catalog tooling:
#   olm, catalog, package-server, opm
# from pinned sources through the Go module proxy (one wrapper module per component
# under tests/ocp_sim/gomod/, each with go.mod and go.sum).
#
# Binaries go to ${XDG_CACHE_HOME:-$HOME/.cache}/rhoai-gpu-infra/controlplane/<key>/bin (kwok's default
# stages beside it, in kwok-stages.yaml),
# where <key> encodes the versions and a hash of the wrapper modules; a complete cache
# entry is reused as is. The OLM binaries have their own entry (olm-<versions>_...), so
# changing one wrapper does not rebuild the other. Nothing is written into the repository.
#
# Usage:
#   bash tests/ocp_sim/build.sh                    # build if needed; last stdout line = kube bin dir
#   bash tests/ocp_sim/build.sh --print-bindir     # print the kube bin dir; exit 1 if not built yet
#   bash tests/ocp_sim/build.sh --print-olm-bindir # print the OLM bin dir; exit 1 if not built yet
#   bash tests/ocp_sim/build.sh --force            # rebuild both even if cached
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
gomod="$here/gomod"

print_only=0
print_olm=0
force=0
for arg in "$@"; do
  case "$arg" in
    --print-bindir) print_only=1 ;;
    --print-olm-bindir) print_olm=1 ;;
    --force) force=1 ;;
    -h|--help) sed -n '2,19p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "build.sh: unknown argument: $arg" >&2; exit 2 ;;
  esac
done

export CGO_ENABLED=0 GOTOOLCHAIN=local GOWORK=off GOFLAGS=-mod=readonly

die() { echo "build.sh: ERROR: $*" >&2; exit 1; }

command -v go >/dev/null 2>&1 || die "go is not on PATH (need Go >= 1.24)"

# Versions are read from the wrapper go.mod files so they are stated once.
modver() { # file module -> version
  awk -v m="$2" '$1 == m && $2 ~ /^v/ {print $2; exit} $1 == "require" && $2 == m {print $3; exit}' "$1"
}
K8S_VERSION="$(modver "$gomod/kube/go.mod" k8s.io/kubernetes)"
ETCD_VERSION="$(modver "$gomod/etcd/go.mod" go.etcd.io/etcd/server/v3)"
KWOK_VERSION="$(modver "$gomod/kwok/go.mod" sigs.k8s.io/kwok)"
[[ -n "$K8S_VERSION" && -n "$ETCD_VERSION" && -n "$KWOK_VERSION" ]] \
  || die "could not read versions from $gomod/*/go.mod"
GO_VERSION="$(go env GOVERSION)"

# BUILD_REV: bump when the build flags below change, so cached binaries are rebuilt.
BUILD_REV=1
hash="$( (echo "$BUILD_REV"; cat "$gomod"/kube/go.{mod,sum} "$gomod"/etcd/go.{mod,sum} "$gomod"/kwok/go.{mod,sum}) \
        | sha256sum | cut -c1-12)"
key="k8s-${K8S_VERSION}_etcd-${ETCD_VERSION}_kwok-${KWOK_VERSION}_${GO_VERSION}_${hash}"
cache_root="${XDG_CACHE_HOME:-$HOME/.cache}/rhoai-gpu-infra/controlplane"
final="$cache_root/$key"
bindir="$final/bin"
components=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok)

binaries_complete() {
  local d="$1" c
  for c in "${components[@]}"; do [[ -x "$d/$c" ]] || return 1; done
}
complete() { binaries_complete "$1" && [[ -s "$1/../kwok-stages.yaml" ]]; }

# kwok's own default stages (a node is Ready at once and keeps its Lease; pods become Ready, Job pods complete,
# deleted pods go), taken from the pinned kwok module rather than kept in the repository; controlplane.py adds the
# simulator's one change on top when it writes kwok's configuration.
kwok_stage_files=(node/fast/node-initialize.yaml node/heartbeat-with-lease/node-heartbeat-with-lease.yaml
                  pod/fast/pod-ready.yaml pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml)
write_kwok_stages() { # dest
  local src f
  src="$(cd "$gomod/kwok" && go mod download -json sigs.k8s.io/kwok \
         | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')" \
    || die "could not download sigs.k8s.io/kwok@$KWOK_VERSION for its stages"
  [[ -n "$src" && -d "$src/kustomize/stage" ]] \
    || die "sigs.k8s.io/kwok@$KWOK_VERSION has no kustomize/stage (found module dir '${src}')"
  for f in "${kwok_stage_files[@]}"; do
    printf -- '---\n# sigs.k8s.io/kwok@%s kustomize/stage/%s\n' "$KWOK_VERSION" "$f"
    cat "$src/kustomize/stage/$f"
  done > "$1.tmp"
  mv "$1.tmp" "$1"
}

OLM_VERSION="$(modver "$gomod/olm/go.mod" github.com/operator-framework/operator-lifecycle-manager)"
REGISTRY_VERSION="$(modver "$gomod/olm/go.mod" github.com/operator-framework/operator-registry)"
[[ -n "$OLM_VERSION" && -n "$REGISTRY_VERSION" ]] || die "could not read versions from $gomod/olm/go.mod"
# OLM_BUILD_REV: bump when the OLM build flags below change. Separate from BUILD_REV so that
# a change to one build does not throw away the other's binaries. Our own Go sources in the
# wrapper (if any) are part of the hash, so editing them rebuilds too.
OLM_BUILD_REV=1
olm_hash="$( (echo "$OLM_BUILD_REV"; cat "$gomod"/olm/go.{mod,sum}
              find "$gomod/olm" -name '*.go' -type f | LC_ALL=C sort | xargs -r cat) \
            | sha256sum | cut -c1-12)"
olm_key="olm-${OLM_VERSION}_registry-${REGISTRY_VERSION}_${GO_VERSION}_${olm_hash}"
olm_final="$cache_root/$olm_key"
olm_bindir="$olm_final/bin"
olm_components=(olm catalog package-server opm)

olm_complete() {
  local d="$1" c
  for c in "${olm_components[@]}"; do [[ -x "$d/$c" ]] || return 1; done
}

if [[ $print_only == 1 || $print_olm == 1 ]]; then
  rc=0
  if [[ $print_only == 1 ]]; then echo "$bindir"; complete "$bindir" || rc=1; fi
  if [[ $print_olm == 1 ]]; then echo "$olm_bindir"; olm_complete "$olm_bindir" || rc=1; fi
  exit $rc
fi

if [[ $force == 0 ]] && complete "$bindir" && olm_complete "$olm_bindir"; then
  echo "build.sh: cached binaries for $key"
  echo "build.sh: cached binaries for $olm_key"
  echo "$bindir"
  exit 0
fi

# OLM's modules declare go 1.26.x; with GOTOOLCHAIN=local an older go would only fail after
# the (long) kube build, so say it now.
olm_go="$(awk '$1 == "go" {print $2; exit}' "$gomod/olm/go.mod")"
if [[ "$(printf '%s\n' "go$olm_go" "$GO_VERSION" | sort -V | head -1)" != "go$olm_go" ]]; then
  die "$GO_VERSION is too old: the OLM wrapper ($gomod/olm/go.mod) needs Go >= $olm_go"
fi

mkdir -p "$cache_root"
exec 9>"$cache_root/.lock"
flock 9   # one build at a time; a second caller waits and then finds the cache filled

# Fail fast when a pinned module is not on the proxy: download everything first.
fetch() { # dir pkg...   (go list -deps downloads exactly the modules the commands need)
  local dir="$1" out missing; shift
  if ! out="$(cd "$dir" && go list -deps "$@" 2>&1 >/dev/null)"; then
    echo "$out" >&2
    missing="$(grep -oE '(^|[[:space:]])[A-Za-z0-9.-]+\.[a-z]+/[^[:space:]@:]+@v[^[:space:]:]+' <<<"$out" \
               | tr -d '[:blank:]' | sort -u | tr '\n' ' ' || true)"
    # Otherwise name what go was fetching when it failed, or its first complaint.
    [[ -n "$missing" ]] || missing="$(sed -n 's/^go: downloading \([^ ]*\) \([^ ]*\)$/\1@\2/p' <<<"$out" | tail -1)"
    [[ -n "$missing" ]] || missing="$(grep -m1 -E 'module|package' <<<"$out" || true)"
    die "module download failed for wrapper $(basename "$dir"): ${missing:-see above} (not on the Go module proxy, or go.mod/go.sum out of date?)"
  fi
}

build_one() { # name dir pkg ldflags   (into $partial/bin)
  local name="$1" dir="$2" pkg="$3" ldflags="$4" t
  if [[ -x "$partial/bin/$name" ]]; then
    echo "build.sh: $name already built (resumed)"
    return
  fi
  t=$SECONDS
  (cd "$dir" && go build -trimpath -ldflags "$ldflags" -o "$partial/bin/$name.tmp" "$pkg") \
    || die "go build of $name ($pkg) failed"
  mv "$partial/bin/$name.tmp" "$partial/bin/$name"
  echo "build.sh: built $name in $((SECONDS - t))s"
}

build_kube() {
  if [[ $force == 0 ]] && complete "$bindir"; then
    echo "build.sh: cached binaries for $key"
    return
  fi
  if [[ $force == 0 ]] && binaries_complete "$bindir"; then
    write_kwok_stages "$final/kwok-stages.yaml"
    echo "build.sh: cached binaries for $key; kwok's stages added"
    return
  fi

  # Build into <key>.partial/bin; components already there (from an interrupted run) are kept.
  partial="$final.partial"
  [[ $force == 1 ]] && rm -rf "$partial" "$final"
  mkdir -p "$partial/bin"

  echo "build.sh: building $key with $GO_VERSION (GOPROXY=$(go env GOPROXY))"

  local t0=$SECONDS
  fetch "$gomod/etcd" go.etcd.io/etcd/server/v3
  fetch "$gomod/kube" k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
    k8s.io/kubernetes/cmd/kube-scheduler
  fetch "$gomod/kwok" sigs.k8s.io/kwok/cmd/kwok
  echo "build.sh: modules present ($((SECONDS - t0))s)"

  local k8s_minor="${K8S_VERSION#v1.}"; k8s_minor="${k8s_minor%%.*}"
  local build_date; build_date="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  local kube_ldflags="-s -w \
 -X k8s.io/component-base/version.gitVersion=${K8S_VERSION} \
 -X k8s.io/component-base/version.gitMajor=1 \
 -X k8s.io/component-base/version.gitMinor=${k8s_minor} \
 -X k8s.io/component-base/version.gitTreeState=clean \
 -X k8s.io/component-base/version.buildDate=${build_date} \
 -X k8s.io/client-go/pkg/version.gitVersion=${K8S_VERSION} \
 -X k8s.io/client-go/pkg/version.gitMajor=1 \
 -X k8s.io/client-go/pkg/version.gitMinor=${k8s_minor}"
  # etcd's and kwok's versions are constants/defaults in their sources already (3.5.x / 0.7.0).
  local etcd_ldflags="-s -w -X go.etcd.io/etcd/api/v3/version.GitSHA=module-${ETCD_VERSION}"
  local kwok_ldflags="-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=${KWOK_VERSION#v} \
 -X sigs.k8s.io/kwok/pkg/consts.KubeVersion=${K8S_VERSION#v}"

  local total=$SECONDS
  build_one etcd                    "$gomod/etcd" go.etcd.io/etcd/server/v3                  "$etcd_ldflags"
  build_one kube-apiserver          "$gomod/kube" k8s.io/kubernetes/cmd/kube-apiserver          "$kube_ldflags"
  build_one kube-controller-manager "$gomod/kube" k8s.io/kubernetes/cmd/kube-controller-manager "$kube_ldflags"
  build_one kube-scheduler          "$gomod/kube" k8s.io/kubernetes/cmd/kube-scheduler          "$kube_ldflags"
  build_one kwok                    "$gomod/kwok" sigs.k8s.io/kwok/cmd/kwok                     "$kwok_ldflags"
  write_kwok_stages "$partial/kwok-stages.yaml"

  cat > "$partial/versions.txt" <<EOF
key=$key
go=$GO_VERSION
kubernetes=$K8S_VERSION
etcd=$ETCD_VERSION
kwok=$KWOK_VERSION
built=$build_date
EOF
  rm -rf "$final"
  mv "$partial" "$final"
  echo "build.sh: all components built in $((SECONDS - total))s"
}

build_olm() {
  if [[ $force == 0 ]] && olm_complete "$olm_bindir"; then
    echo "build.sh: cached binaries for $olm_key"
    return
  fi
  local partial="$olm_final.partial" tags=containers_image_openpgp
  local olm_pkg=github.com/operator-framework/operator-lifecycle-manager
  local reg_pkg=github.com/operator-framework/operator-registry
  local -A pkg_of=(
    [olm]="$olm_pkg/cmd/olm"
    [catalog]="$olm_pkg/cmd/catalog"
    # Our own main around OLM's packageserver packages: upstream's needs an in-cluster config.
    [package-server]=rhoai.gpu_infra/ocp_sim/olm/cmd/package-server
    [opm]="$reg_pkg/cmd/opm"
  )
  [[ $force == 1 ]] && rm -rf "$partial" "$olm_final"
  mkdir -p "$partial/bin"
  echo "build.sh: building $olm_key with $GO_VERSION (GOPROXY=$(go env GOPROXY))"

  local t0=$SECONDS
  # The tag selects the pure-Go signature code in containers/image (no gpgme/cgo), so the
  # downloaded module set must be computed with it too.
  GOFLAGS="$GOFLAGS -tags=$tags" fetch "$gomod/olm" "${pkg_of[@]}"
  echo "build.sh: modules present ($((SECONDS - t0))s)"

  local c todo=() pkgs=()
  for c in "${olm_components[@]}"; do
    if [[ -x "$partial/bin/$c" ]]; then
      echo "build.sh: $c already built (resumed)"
    else
      todo+=("$c"); pkgs+=("${pkg_of[$c]}")
    fi
  done
  if ((${#todo[@]})); then
    # The module proxy does not tell the upstream commit; "module-<tag>" says where it came from.
    # -X for a package a binary does not link is ignored, so one set of flags serves all four.
    local v=$olm_pkg/pkg/version ov=$reg_pkg/cmd/opm/version
    local ldflags="-s -w \
 -X $v.OLMVersion=${OLM_VERSION} -X $v.GitCommit=module-${OLM_VERSION} \
 -X $ov.opmVersion=${REGISTRY_VERSION} -X $ov.gitCommit=module-${REGISTRY_VERSION} \
 -X $ov.buildDate=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    local tmp="$partial/bin/.tmp" rc=0 t=$SECONDS
    rm -rf "$tmp"; mkdir -p "$tmp"
    # One go build for all of them: they share most packages, which are then compiled once
    # and in parallel, instead of once per command in sequence.
    (cd "$gomod/olm" && go build -trimpath -tags "$tags" -ldflags "$ldflags" -o "$tmp/" "${pkgs[@]}") || rc=$?
    # Keep what did link, so that a rerun after a failure builds only the rest.
    for c in "${todo[@]}"; do
      if [[ -x "$tmp/$c" ]]; then mv "$tmp/$c" "$partial/bin/$c"; fi
    done
    rm -rf "$tmp"
    ((rc == 0)) || die "go build of ${todo[*]} (${pkgs[*]}) failed"
    echo "build.sh: built ${todo[*]} in $((SECONDS - t))s"
  fi

  cat > "$partial/versions.txt" <<EOF
key=$olm_key
go=$GO_VERSION
operator-lifecycle-manager=$OLM_VERSION
operator-registry=$REGISTRY_VERSION
built=$(date -u +%Y-%m-%dT%H:%M:%SZ)
EOF
  rm -rf "$olm_final"
  mv "$partial" "$olm_final"
}

build_kube
build_olm
echo "$bindir"
