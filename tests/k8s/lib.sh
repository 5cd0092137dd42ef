# Shared settings for tests/k8s/{build,up,down}; sourced, not executed.
# Versions come from the committed wrapper modules (single source of truth),
# except helm, which is `go install`ed at the pin below.

K8S_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ZK_K8S_CACHE=${ZK_K8S_CACHE:-$HOME/.cache/zk-k8s}
HELM_VERSION=v3.22.0

export GOTOOLCHAIN=local   # never let go fetch a newer toolchain
export CGO_ENABLED=0       # static binaries, as upstream builds the server components

_mod_version() { awk -v m="$2" '$1==m && $2 ~ /^v/ {print $2; exit} $1=="require" && $2==m {print $3; exit}' "$1"; }
K8S_VERSION=$(_mod_version "$K8S_DIR/kube/go.mod" k8s.io/kubernetes)
ETCD_VERSION=$(_mod_version "$K8S_DIR/etcd/go.mod" go.etcd.io/etcd/server/v3)

K8S_BIN=$ZK_K8S_CACHE/bin/kubernetes-$K8S_VERSION
ETCD_BIN=$ZK_K8S_CACHE/bin/etcd-$ETCD_VERSION
HELM_BIN=$ZK_K8S_CACHE/bin/helm-$HELM_VERSION

KUBE_APISERVER=$K8S_BIN/kube-apiserver
KUBE_CONTROLLER_MANAGER=$K8S_BIN/kube-controller-manager
KUBE_SCHEDULER=$K8S_BIN/kube-scheduler
KUBECTL=$K8S_BIN/kubectl
ETCD=$ETCD_BIN/etcd
HELM=$HELM_BIN/helm

# ours PID STARTTIME BINARY: is PID still the process tests/k8s/up started?
# (start time = field 22 of /proc/PID/stat; guards against pid reuse)
ours() {
  [[ -r /proc/$1/stat ]] || return 1
  [[ $(awk '{print $22}' "/proc/$1/stat" 2>/dev/null) == "$2" ]] || return 1
  [[ $(readlink "/proc/$1/exe" 2>/dev/null) == "$3" ]]
}

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# k8s_netns STATE_DIR: the network namespace up makes for that state dir (one
# per state dir, so two clusters can run side by side).
k8s_netns() { echo "zkk8s-$(printf '%s' "$1" | cksum | cut -d' ' -f1)"; }

# ensure_cmd CMD DEBIAN_PACKAGE: installs the package with apt-get when the
# command is missing (a fresh machine may lack iproute2 or curl).
ensure_cmd() {
  command -v "$1" >/dev/null && return 0
  command -v apt-get >/dev/null || die "$1 is not installed (Debian package $2)"
  log "installing $2 (for $1)"
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$2"; } >&2 ||
    die "could not install $2"
  command -v "$1" >/dev/null || die "$2 installed but $1 is still missing"
}
