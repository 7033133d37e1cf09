package serializer

import (
	"fmt"
	"log/slog"
	"slices"

	"github.com/faultbook/faultbook/minicluster/bundle"
	"github.com/faultbook/faultbook/minicluster/codec"
	"github.com/faultbook/faultbook/minicluster/conf"
	"github.com/faultbook/faultbook/minicluster/fault"
	"github.com/faultbook/faultbook/minicluster/rpc"
	"github.com/faultbook/faultbook/minicluster/safeguard"
	"github.com/faultbook/faultbook/minicluster/spec"
)

// ForProcess derives the options a process of a run builds its registries
// with: the configuration (spark.kryo.*), the safeguards that change how a
// registry is built, and the registration faults aimed at this process (an
// executor id, or 0 for the driver). app is the process's own bundle, used
// whatever goroutine asks when the executor-wide-registry safeguard is on.
func ForProcess(sp *spec.Spec, process int, app *bundle.Bundle, role Role, log *slog.Logger) Options {
	required, _ := sp.Conf.Bool(conf.KryoRegistrationRequired)
	o := Options{
		Registrator:          sp.Conf.Get(conf.KryoRegistrator),
		RegistrationRequired: required || sp.Safeguards.On(safeguard.RegistrationRequired),
		FailFast:             sp.Safeguards.On(safeguard.RegistratorFailFast),
		OptionNilCheck:       sp.Safeguards.On(safeguard.OptionNilCheck),
		IterativeChains:      sp.Safeguards.On(safeguard.IterativeListEncoding),
		Role:                 role,
		Log:                  log,
	}
	if sp.Safeguards.On(safeguard.CodecDepthLimit) {
		o.MaxDepth = DepthLimit
	}
	if sp.Safeguards.On(safeguard.ExecutorWideRegistry) {
		o.ExecutorBundle = app
	}
	if f, ok := sp.Faults.Lookup(fault.RegistrationOrder, process); ok {
		o.Order, o.Seed, o.ShamOrder = Permuted, f.Seed, f.Sham()
	} else if f, ok := sp.Faults.Lookup(fault.RegistrationMapOrder, process); ok {
		o.Order, o.ShamOrder = MapOrder, f.Sham()
	}
	if f, ok := sp.Faults.Lookup(fault.RegistrationShift, process); ok {
		o.OmitBuiltin, o.ShamOmit = ShiftedType(f), f.Sham()
	}
	return o
}

// DepthLimit is the nesting depth the codec-depth-limit safeguard allows: deep
// enough for any record the fixtures write by design, and well short of what
// a 1 MiB stack holds.
const DepthLimit = 200

// registrationPoints shape every registry a process builds; registryPoints add
// the transport goroutines' registries: their effect is a registry that
// differs from the canonical one.
var (
	registrationPoints = []fault.Point{fault.RegistrationOrder, fault.RegistrationMapOrder, fault.RegistrationShift}
	registryPoints     = append(slices.Clone(registrationPoints), fault.TransportWithoutBundle)
)

// RegistryFault returns the run's fault that makes registries differ, if any:
// the fault a block decoded with another registry than its writer's is
// attributed to.
func RegistryFault(faults fault.Set) (fault.Spec, bool) {
	for _, f := range faults {
		if slices.Contains(registryPoints, f.Point) {
			return f, true
		}
	}
	return fault.Spec{}, false
}

// RegistryHits are the reports of the registration faults aimed at a process
// (an executor id, or 0 for the driver) that built reg: a hit carrying the
// deviation from canonical as its proof and the registry's fingerprint as its
// state, or "no effect" when reg equals the canonical registry (a sham, or a
// map that happened to iterate in declared order).
func RegistryHits(sp *spec.Spec, process int, reg, canonical *codec.Registry) []rpc.Report {
	var out []rpc.Report
	for _, f := range sp.Faults {
		if !f.Applies(process) || !slices.Contains(registrationPoints, f.Point) {
			continue
		}
		r := rpc.Report{Executor: process, Kind: rpc.ReportFault, Name: string(f.Point), Role: string(RoleTask),
			State: fmt.Sprintf("%016x", reg.Fingerprint()), Canonical: fmt.Sprintf("%016x", canonical.Fingerprint())}
		if process == 0 {
			r.Role = string(RoleDriver)
		}
		what := registrationFaultWhat(f)
		if proof, ok := Deviation(reg, canonical); ok {
			r.Message = what + ": " + proof
		} else {
			r.Kind = rpc.ReportFaultNoEffect
			r.Message = fmt.Sprintf("configured, no effect: %s, yet the registry equals the canonical one (fingerprint %016x)", what, reg.Fingerprint())
		}
		out = append(out, r)
	}
	return out
}

func registrationFaultWhat(f fault.Spec) string {
	switch f.Point {
	case fault.RegistrationOrder:
		return fmt.Sprintf("user types registered in a seeded permutation (seed %d)", f.Seed)
	case fault.RegistrationShift:
		return fmt.Sprintf("built-in type %s not registered", ShiftedType(f))
	}
	return "user types registered in Go map order"
}

// ShiftedType is the built-in type a registration-shift fault leaves out.
func ShiftedType(f fault.Spec) string {
	if t := f.Params["omit"]; t != "" {
		return t
	}
	return "[]byte"
}
