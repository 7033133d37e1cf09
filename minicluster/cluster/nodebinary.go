package cluster

import (
	"debug/buildinfo"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync"
)

// NodeBinaryName is the small binary that runs only the executor role
// (cmd/faultbook-node). It links neither the harness, the docker runtime nor
// the S3 client, so a process of it starts in a fraction of faultbook's time:
// with two to four executors per cluster, process start is most of what a
// short cell costs.
const NodeBinaryName = "faultbook-node"

// DriverBinaryName is the small binary that runs only a driver in cluster
// deploy mode (cmd/faultbook-driver), with the S3 checkpoint store but
// without the harness or the docker runtime.
const DriverBinaryName = "faultbook-driver"

var roleBinaries sync.Map // [faultbook path, role binary name] → the binary to start

// NodeBinary is the binary the process runtime starts a cluster's executors
// from, given the faultbook binary bin: faultbook-node beside bin when it is
// there and comes from the same build (module, Go version, VCS revision and
// state, build settings, and the same version of every module it links), else
// bin itself, whose hidden executor command runs the same code. The docker
// runtime always uses bin, which also runs the node's worker.
func NodeBinary(bin string) string { return roleBinary(bin, NodeBinaryName) }

// DriverBinary is the binary a driver in cluster deploy mode starts from, as
// NodeBinary chooses: faultbook-driver beside bin, else bin's hidden driver
// command.
func DriverBinary(bin string) string { return roleBinary(bin, DriverBinaryName) }

func roleBinary(bin, name string) string {
	key := [2]string{bin, name}
	if v, ok := roleBinaries.Load(key); ok {
		return v.(string)
	}
	use := bin
	b := filepath.Join(filepath.Dir(bin), name)
	if fi, err := os.Stat(b); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 && sameBuild(bin, b) {
		use = b
	}
	roleBinaries.Store(key, use)
	return use
}

// sameBuild says whether node was built from the same source and settings as
// bin, as far as their embedded build information tells.
func sameBuild(bin, node string) bool {
	a, err := buildinfo.ReadFile(bin)
	if err != nil {
		return false
	}
	b, err := buildinfo.ReadFile(node)
	if err != nil {
		return false
	}
	if a.GoVersion != b.GoVersion || a.Main != b.Main || !sameSettings(a.Settings, b.Settings) {
		return false
	}
	deps := map[string]debug.Module{}
	for _, d := range a.Deps {
		deps[d.Path] = *d
	}
	for _, d := range b.Deps {
		if have, ok := deps[d.Path]; !ok || have.Version != d.Version || have.Sum != d.Sum {
			return false
		}
	}
	return true
}

func sameSettings(a, b []debug.BuildSetting) bool {
	m := map[string]string{}
	for _, s := range a {
		m[s.Key] = s.Value
	}
	if len(a) != len(b) {
		return false
	}
	for _, s := range b {
		if v, ok := m[s.Key]; !ok || v != s.Value {
			return false
		}
	}
	return true
}
