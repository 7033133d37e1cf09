package harness

import (
	"encoding/json"
	"sync"

	"github.com/faultbook/faultbook/minicluster/bundle"
	"github.com/faultbook/faultbook/minicluster/job"
)

// oracles remembers the correct outputs computed lately. A scenario's cells
// share run i's seed and most often its parameters, so the four cells of run
// i need one oracle, not four: for the kryo workloads, computing it is most
// of the harness's own CPU time per run.
var oracles = oracleCache{m: map[oracleKey]any{}}

// maxOracles bounds the cache; it is cleared when full.
const maxOracles = 256

type oracleKey struct {
	app      *bundle.Bundle
	workload string
	seed     int64
	params   string // the parameters as JSON, keys sorted
}

type oracleCache struct {
	mu sync.Mutex
	m  map[oracleKey]any
}

// oracle returns workload's correct output for p, computing it only when the
// same bundle, workload, seed and parameters were not asked for lately. An
// oracle is only read (encoded to JSON by observe), never changed, so runs
// may share it.
func (c *oracleCache) oracle(app *bundle.Bundle, workload string, wl *job.Workload, p job.Params) (any, error) {
	pj, err := json.Marshal(p.Values) // map keys are sorted
	if err != nil {
		return wl.Oracle(p)
	}
	k := oracleKey{app: app, workload: workload, seed: p.Seed, params: string(pj)}
	c.mu.Lock()
	v, ok := c.m[k]
	c.mu.Unlock()
	if ok {
		return v, nil
	}
	v, err = wl.Oracle(p)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if len(c.m) >= maxOracles {
		clear(c.m)
	}
	c.m[k] = v
	c.mu.Unlock()
	return v, nil
}
