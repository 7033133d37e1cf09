// Command faultbook-driver runs one minicluster driver in cluster deploy mode
// (spark.submit.deployMode=cluster), exactly as the hidden "faultbook driver"
// command does. It links the driver role and the S3 checkpoint store but
// nothing of the harness, reports or docker runtime, so a driver the harness
// kills and restarts (eventual-checkpoint) starts in a fraction of
// faultbook's time: the process runtime starts cluster-mode drivers from it
// when it lies beside faultbook and comes from the same build (see
// cluster.DriverBinary).
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	_ "github.com/faultbook/faultbook/minicluster/checkpoint/s3store" // s3:// checkpoint locations
	"github.com/faultbook/faultbook/minicluster/role"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := role.DriverMain(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
