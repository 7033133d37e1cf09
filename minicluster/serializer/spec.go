package serializer

import (
	"log/slog"

	"github.com/faultbook/faultbook/minicluster/bundle"
	"github.com/faultbook/faultbook/minicluster/conf"
	"github.com/faultbook/faultbook/minicluster/fault"
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
		o.Order, o.Seed = Permuted, f.Seed
	} else if _, ok := sp.Faults.Lookup(fault.RegistrationMapOrder, process); ok {
		o.Order = MapOrder
	}
	if f, ok := sp.Faults.Lookup(fault.RegistrationShift, process); ok {
		o.OmitBuiltin = ShiftedType(f)
	}
	return o
}

// DepthLimit is the nesting depth the codec-depth-limit safeguard allows: deep
// enough for any record the fixtures write by design, and well short of what
// a 1 MiB stack holds.
const DepthLimit = 200

// ShiftedType is the built-in type a registration-shift fault leaves out.
func ShiftedType(f fault.Spec) string {
	if t := f.Params["omit"]; t != "" {
		return t
	}
	return "[]byte"
}
