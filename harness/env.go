package harness

import "github.com/faultbook/faultbook/harness/result"

// Env is the environment runs under o have, as results record it: the
// runtime (docker when o.Docker is set) and the checkpoint store (external
// when o.CheckpointStore names one). Both decide which cells can run.
func (o *Options) Env() (result.Runtime, result.CheckpointStore) {
	rt, st := result.RuntimeProcess, result.StoreEmbedded
	if o.Docker != nil {
		rt = result.RuntimeDocker
	}
	if o.CheckpointStore != "" {
		st = result.StoreExternal
	}
	return rt, st
}
