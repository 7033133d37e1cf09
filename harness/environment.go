package harness

import (
	"context"
	"fmt"
	"maps"
	"path/filepath"
	"strings"

	"github.com/faultbook/faultbook/harness/result"
	"github.com/faultbook/faultbook/minicluster/cluster"
	"github.com/faultbook/faultbook/minicluster/events"
	"github.com/faultbook/faultbook/minicluster/spec"
)

// noEnvironment is the environment of a scenario that needs none.
type noEnvironment struct{}

func (noEnvironment) Params() map[string]string { return nil }
func (noEnvironment) Close() error              { return nil }

// withLog closes the event log the harness opened for an environment.
type withLog struct {
	Environment
	log *events.Log
}

func (w withLog) Close() error {
	err := w.Environment.Close()
	_ = w.log.Close()
	return err
}

// Services is an optional power of an Environment whose services the
// cluster's processes connect to over the network.
type Services interface {
	// Services are the addresses, on this host's loopback, that its Params
	// name. In the docker runtime the harness names each by the address
	// the containers reach it at instead (cluster.RelayAddr), and the
	// cluster relays them.
	Services() []string
}

// startEnvironment starts the scenario's environment for one run, on the
// run's own event log, and adds its parameters to the spec, naming its
// services where the cluster's processes reach them. It returns the services.
func startEnvironment(ctx context.Context, sc *Scenario, sp *spec.Spec, dir string, docker bool) (Environment, []string, error) {
	if sc.Environment == nil {
		return noEnvironment{}, nil, nil
	}
	log, err := events.Create(filepath.Join(dir, events.FileName))
	if err != nil {
		return nil, nil, err
	}
	env, err := sc.Environment(ctx, EnvSpec{Spec: sp, Dir: dir, Events: log})
	if err != nil {
		_ = log.Close()
		return nil, nil, fmt.Errorf("start the environment of %s: %w", sc.Name, err)
	}
	if sp.Params == nil {
		sp.Params = map[string]string{}
	}
	maps.Copy(sp.Params, env.Params())
	var services []string
	if s, ok := env.(Services); ok {
		services = s.Services()
		relayParams(sp.Params, services, docker)
	}
	return withLog{Environment: env, log: log}, services, nil
}

// relayParams names each service in the parameters by the address the
// cluster's processes reach it at (in the docker runtime, the gateway's).
func relayParams(params map[string]string, services []string, docker bool) {
	if !docker {
		return
	}
	for k, v := range params {
		for _, s := range services {
			v = replaceAddr(v, s, cluster.RelayAddr(s, docker))
		}
		params[k] = v
	}
}

// replaceAddr replaces each whole occurrence of addr in v: 127.0.0.1:4123
// is not the start of 127.0.0.1:41234.
func replaceAddr(v, addr, with string) string {
	var b strings.Builder
	for {
		i := strings.Index(v, addr)
		if i < 0 {
			b.WriteString(v)
			return b.String()
		}
		end := i + len(addr)
		b.WriteString(v[:i])
		if end < len(v) && v[end] >= '0' && v[end] <= '9' {
			b.WriteString(addr)
		} else {
			b.WriteString(with)
		}
		v = v[end:]
	}
}

// judgeRefusal: a case whose configuration must be refused at start. The
// refusal comes from the same validation cluster.Start applies, before any
// process starts.
func judgeRefusal(c *Case, sp *spec.Spec, r *result.Run) {
	err := sp.Validate()
	if _, werr := sp.Write(r.RunDir); werr != nil {
		r.Problems = []string{werr.Error()}
		return
	}
	var ev Evidence
	switch {
	case err == nil:
		r.Problems = []string{"the configuration was accepted; it must be refused at start"}
	case !strings.Contains(err.Error(), c.Refused):
		r.Problems = []string{fmt.Sprintf("refused, but without the reason %q: %v", c.Refused, err)}
	default:
		ev.Addf("%s", err.Error())
		ev.Addf("refused at start before any process started (the CLI exits 2 on it)")
		why := err.Error()
		if i := strings.Index(why, ": config "); i >= 0 {
			why = why[i+len(": config "):]
		}
		if i := strings.Index(why, ". Decrease"); i >= 0 {
			why = why[:i]
		}
		ev.Observe("refused at start: %s", firstLine(why))
	}
	r.Evidence, r.Observed = ev.Lines(), ev.observed
	r.Hit = len(r.Problems) == 0
	r.Verdict = result.Pass
	if !r.Hit {
		r.Verdict = result.Fail
	}
}
