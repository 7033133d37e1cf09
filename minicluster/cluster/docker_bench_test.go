package cluster

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/faultbook/faultbook/minicluster/driver"
	"github.com/faultbook/faultbook/minicluster/events"
)

// BenchmarkDocker3Nodes measures the docker runtime against the process
// runtime in the same run: the node image's build, and a 3-node cluster
// (2 executors a node) from Start to its last executor registered (boot-ms),
// to the end of a kryo-distributed job (run-ms) and through Close
// (total-ms).
func BenchmarkDocker3Nodes(b *testing.B) {
	if _, err := Leftovers(context.Background(), ""); err != nil {
		b.Skip(firstLine(err.Error()))
	}
	bin := faultbookBinary(b)
	d, err := NewDocker(context.Background(), bin)
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	if _, err := d.Image(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.Logf("node image built in %s", d.BuildTime.Round(time.Millisecond))
	for _, rt := range []struct {
		name string
		d    *Docker
	}{{"process", nil}, {"docker", d}} {
		b.Run(rt.name, func(b *testing.B) {
			var boot, run, total time.Duration
			for i := range b.N {
				ctx, cancel := context.WithTimeout(context.Background(), runBound)
				sp := kryoSpec(fmt.Sprintf("docker-bench#%d", i), 3, 2, nil)
				start := time.Now()
				c, err := Start(ctx, sp, Options{Binary: bin, Dir: b.TempDir(), Docker: rt.d})
				if err != nil {
					cancel()
					b.Fatal(err)
				}
				out, err := c.Wait(ctx)
				run += time.Since(start)
				closeErr := c.Close()
				total += time.Since(start)
				cancel()
				if err != nil || closeErr != nil {
					b.Fatal(err, closeErr)
				}
				if out.Result == nil || out.Result.Status != driver.Succeeded {
					b.Fatalf("run did not succeed: %+v", out.Result)
				}
				var last time.Time
				for _, e := range out.Events {
					if e.Kind == events.ExecutorAdded {
						last = e.Time
					}
				}
				boot += last.Sub(start)
			}
			n := float64(b.N)
			b.ReportMetric(float64(boot.Milliseconds())/n, "boot-ms")
			b.ReportMetric(float64(run.Milliseconds())/n, "run-ms")
			b.ReportMetric(float64(total.Milliseconds())/n, "total-ms")
		})
	}
}
