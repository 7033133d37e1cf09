package serializer_test

import (
	"context"
	"strings"
	"testing"

	"github.com/faultbook/faultbook/minicluster/bundle"
	"github.com/faultbook/faultbook/minicluster/conf"
	"github.com/faultbook/faultbook/minicluster/fault"
	"github.com/faultbook/faultbook/minicluster/rpc"
	"github.com/faultbook/faultbook/minicluster/serializer"
	"github.com/faultbook/faultbook/minicluster/spec"
)

// TestRegistryHits: a registration fault reports a hit only when the registry
// it shaped differs from the canonical one, with the first differing id as
// proof; its sham keeps the switch on and reports "no effect".
func TestRegistryHits(t *testing.T) {
	b := testBundle(t)
	for _, tc := range []struct {
		name    string
		fault   fault.Spec
		process int
		kind    rpc.ReportKind // "" when the fault does not reach the process
		proof   string
	}{
		{"permutation", fault.Spec{Point: fault.RegistrationOrder, Executors: []int{2}, Seed: 7}, 2, rpc.ReportFault, "first difference at id"},
		{"permutation, sham", fault.Set{{Point: fault.RegistrationOrder, Executors: []int{2}, Seed: 7}}.Sham()[0], 2, rpc.ReportFaultNoEffect, "configured, no effect"},
		{"permutation aimed elsewhere", fault.Spec{Point: fault.RegistrationOrder, Executors: []int{2}, Seed: 7}, 1, "", ""},
		{"shift", fault.Spec{Point: fault.RegistrationShift, Executors: []int{2}}, 2, rpc.ReportFault, "canonical has []byte"},
		{"shift, sham", fault.Set{{Point: fault.RegistrationShift, Executors: []int{2}}}.Sham()[0], 2, rpc.ReportFaultNoEffect, "configured, no effect"},
		{"map order on the driver", fault.Spec{Point: fault.RegistrationMapOrder}, 0, rpc.ReportFault, "first difference at id"},
		{"map order on the driver, sham", fault.Set{{Point: fault.RegistrationMapOrder}}.Sham()[0], 0, rpc.ReportFaultNoEffect, "configured, no effect"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sp := &spec.Spec{Conf: conf.New(conf.Fast, map[string]string{conf.KryoRegistrator: registrator}), Faults: fault.Set{tc.fault}}
			role := serializer.RoleTask
			if tc.process == 0 {
				role = serializer.RoleDriver
			}
			o := serializer.ForProcess(sp, tc.process, b, role, nil)
			reg, _, err := build(t, withBundle(b), o)
			if err != nil {
				t.Fatal(err)
			}
			canon := serializer.CanonicalRegistry(b, o)
			hits := serializer.RegistryHits(sp, tc.process, reg, canon)
			if tc.kind == "" {
				if len(hits) != 0 {
					t.Fatalf("a fault aimed elsewhere reported %v", hits)
				}
				return
			}
			if len(hits) != 1 {
				t.Fatalf("%d reports, want 1: %v", len(hits), hits)
			}
			h := hits[0]
			if h.Kind != tc.kind || !strings.Contains(h.Message, tc.proof) || h.Name != string(tc.fault.Point) {
				t.Errorf("report %s %s: %q, want %s containing %q", h.Kind, h.Name, h.Message, tc.kind, tc.proof)
			}
			if h.Role != string(role) || h.Executor != tc.process {
				t.Errorf("report from %s on process %d, want %s on %d", h.Role, h.Executor, role, tc.process)
			}
			// The state is the registry's own: it equals the canonical one
			// exactly when there was no effect.
			if (h.State == h.Canonical) != (tc.kind == rpc.ReportFaultNoEffect) || h.State == "" {
				t.Errorf("state %q, canonical %q for a %s", h.State, h.Canonical, h.Kind)
			}
		})
	}
}

func TestRegistryFault(t *testing.T) {
	if _, ok := serializer.RegistryFault(nil); ok {
		t.Error("a run without faults has a registry fault")
	}
	f, ok := serializer.RegistryFault(fault.Set{{Point: fault.TransportWithoutBundle}})
	if !ok || f.Point != fault.TransportWithoutBundle {
		t.Errorf("transport-without-bundle: %v %v", f, ok)
	}
}

func withBundle(b *bundle.Bundle) context.Context { return bundle.With(context.Background(), b) }
