// Command faultbook-node runs one executor of a minicluster, exactly as the
// hidden "faultbook executor" command does. It links nothing else (no
// harness, reports, docker runtime, driver-side S3 client), so it starts in a
// fraction of faultbook's time: the process runtime starts executors from it
// when it lies beside faultbook and comes from the same build (see
// cluster.NodeBinary). A driver runs in the harness (client deploy mode) or
// from faultbook-driver (cluster mode).
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/faultbook/faultbook/minicluster/role"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := role.ExecutorMain(ctx, os.Args[1:], os.Stderr)
	stop()
	os.Exit(code)
}
