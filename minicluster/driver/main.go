package driver

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/faultbook/faultbook/minicluster/job"
)

// runMain runs a workload's driver program (a streaming application) with the
// driver as its runtime, and encodes what it returns as the output.
func (d *Driver) runMain(ctx context.Context) (json.RawMessage, error) {
	out, err := d.wl.Main(ctx, runtime{d})
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(out)
	if err != nil {
		return nil, fmt.Errorf("encode output of %s: %w", d.wl.Name, err)
	}
	return b, nil
}

// runtime is the driver as a driver program sees it.
type runtime struct{ d *Driver }

var _ job.Runtime = runtime{}

func (r runtime) RunJob(ctx context.Context, j job.Job) ([][]any, error) {
	if err := j.Validate(); err != nil {
		return nil, err
	}
	return r.d.runJob(ctx, j)
}

func (r runtime) Params() job.Params { return r.d.params }

func (r runtime) Env() job.Env {
	return job.Env{Spec: r.d.cfg.Spec, Events: r.d.ev, Log: r.d.log, Dir: r.d.cfg.Dir}
}
