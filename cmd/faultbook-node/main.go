// Command faultbook-node runs one process of a minicluster, the driver or an
// executor, exactly as the hidden "faultbook driver" and "faultbook
// executor" commands do. It links nothing else (no harness, reports or docker
// runtime), so it starts in a fraction of faultbook's time: the process
// runtime starts clusters from it when it lies beside faultbook and comes
// from the same build (see cluster.NodeBinary).
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
	code := role.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
