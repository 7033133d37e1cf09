// Package spec is the description of one minicluster run, written by the harness
// into the run directory and read by the driver and every executor at start. It is
// the only channel through which faults and safeguards reach the processes.
package spec

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/faultbook/faultbook/minicluster/conf"
	"github.com/faultbook/faultbook/minicluster/fault"
	"github.com/faultbook/faultbook/minicluster/safeguard"
)

// FileName is the spec's name inside a run directory.
const FileName = "spec.json"

// DataServiceParamPrefix starts the workload parameter that holds a node's
// address of the external data service: "datasvc.node-b" = "127.0.0.1:41234".
const DataServiceParamPrefix = "datasvc."

// SecretEnv carries the cluster secret to child processes (never on argv).
const SecretEnv = "FAULTBOOK_CLUSTER_SECRET"

// Topology is the shape of the cluster.
type Topology struct {
	// Nodes is the number of nodes (labels "node-a", "node-b", …). Default 2.
	Nodes int `json:"nodes"`
	// ExecutorsPerNode is the number of executor processes per node. Default 1.
	ExecutorsPerNode int `json:"executors_per_node"`
	// Slots is the number of task slots per executor (spark.executor.cores). Default 2.
	Slots int `json:"slots"`
}

// WithDefaults fills zero fields.
func (t Topology) WithDefaults() Topology {
	if t.Nodes <= 0 {
		t.Nodes = 2
	}
	if t.ExecutorsPerNode <= 0 {
		t.ExecutorsPerNode = 1
	}
	if t.Slots <= 0 {
		t.Slots = 2
	}
	return t
}

// Executors lists executor ids 1..N with their node names, node-major.
func (t Topology) Executors() []Executor {
	t = t.WithDefaults()
	var out []Executor
	id := 1
	for n := 0; n < t.Nodes; n++ {
		for e := 0; e < t.ExecutorsPerNode; e++ {
			out = append(out, Executor{ID: id, Node: NodeName(n)})
			id++
		}
	}
	return out
}

// Executor is one planned executor.
type Executor struct {
	ID   int    `json:"id"`
	Node string `json:"node"`
}

// NodeName returns "node-a" for 0, "node-b" for 1, … "node-z", then "node-27".
func NodeName(i int) string {
	if i < 26 {
		return "node-" + string(rune('a'+i))
	}
	return fmt.Sprintf("node-%d", i+1)
}

// Spec is one run of a workload on a cluster.
type Spec struct {
	// Name labels the run ("registration-order/reproduce#1").
	Name string `json:"name"`
	// Seed drives every randomised choice of the run.
	Seed       int64         `json:"seed"`
	Topology   Topology      `json:"topology"`
	Conf       conf.Conf     `json:"conf"`
	Safeguards safeguard.Set `json:"safeguards"`
	Faults     fault.Set     `json:"faults"`
	// Workload names a workload of the application bundle; Params are its knobs.
	Workload string            `json:"workload"`
	Params   map[string]string `json:"params,omitempty"`
}

// Validate checks the spec is complete and consistent.
func (s *Spec) Validate() error {
	if s.Workload == "" {
		return fmt.Errorf("spec %q: no workload", s.Name)
	}
	if err := s.Conf.Validate(); err != nil {
		return fmt.Errorf("spec %q: %w", s.Name, err)
	}
	x, err := s.Exclusion()
	if err == nil {
		err = x.Validate()
	}
	if err != nil {
		return fmt.Errorf("spec %q: %w", s.Name, err)
	}
	return nil
}

// Exclusion is the run's exclusion on failure: on when the exclude-on-failure
// safeguard or spark.excludeOnFailure.enabled (or its 2.x alias) says so.
func (s *Spec) Exclusion() (conf.ExcludeOnFailure, error) {
	on, err := s.Conf.Bool(conf.ExcludeEnabled)
	if err != nil {
		return conf.ExcludeOnFailure{}, err
	}
	return s.Conf.Exclusion(on || s.Safeguards.On(safeguard.ExcludeOnFailure))
}

// Write stores the spec as dir/spec.json.
func (s *Spec) Write(dir string) (string, error) {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return "", fmt.Errorf("encode spec: %w", err)
	}
	p := filepath.Join(dir, FileName)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		return "", fmt.Errorf("write spec: %w", err)
	}
	return p, nil
}

// Read loads a spec file.
func Read(path string) (*Spec, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read spec: %w", err)
	}
	var s Spec
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("parse spec %s: %w", path, err)
	}
	if s.Conf == nil {
		s.Conf = conf.New()
	}
	s.Topology = s.Topology.WithDefaults()
	return &s, s.Validate()
}
