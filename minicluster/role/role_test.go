package role

import (
	"bytes"
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/faultbook/faultbook/fixtures"
	"github.com/faultbook/faultbook/minicluster/conf"
	"github.com/faultbook/faultbook/minicluster/spec"
	"github.com/faultbook/faultbook/minicluster/wire"
)

// TestMainRefusesBadInvocations: faultbook-node answers a wrong invocation
// (it runs executors only) with the usage exit code and one "faultbook: "
// line on stderr, as faultbook's hidden commands do, before it reads or
// writes anything.
func TestMainRefusesBadInvocations(t *testing.T) {
	t.Setenv("FAULTBOOK_CLUSTER_SECRET", "")
	for _, tc := range []struct {
		args []string
		code int
		says string
	}{
		{nil, ExitUsage, "faultbook-node executor FLAGS"},
		{[]string{"worker"}, ExitUsage, "faultbook-node executor FLAGS"},
		{[]string{"driver"}, ExitUsage, "faultbook-node executor FLAGS"},
		{[]string{"executor", "--bogus"}, ExitUsage, "flag provided but not defined: -bogus"},
		{[]string{"executor", "--run-dir", t.TempDir(), "extra"}, ExitUsage, `unexpected argument "extra"`},
		{[]string{"executor", "--run-dir", t.TempDir()}, ExitInfra, "spec.json"},
	} {
		var stderr bytes.Buffer
		code := ExecutorMain(context.Background(), tc.args, &stderr)
		if code != tc.code || !strings.HasPrefix(stderr.String(), "faultbook: ") || !strings.Contains(stderr.String(), tc.says) {
			t.Errorf("%q: exit %d, stderr %q; want exit %d saying %q", tc.args, code, stderr.String(), tc.code, tc.says)
		}
	}
}

// TestExecutorWithoutItsDriverExitsOne: an executor that cannot reach its
// driver (a replacement launched as the application ended) exits with 1 and
// Spark's "Cannot register with driver", as CoarseGrainedExecutorBackend
// does, not with the infrastructure code a node would replace it for.
func TestExecutorWithoutItsDriverExitsOne(t *testing.T) {
	secret, err := wire.NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(spec.SecretEnv, wire.EncodeSecret(secret))
	dir := t.TempDir()
	sp := &spec.Spec{Name: "gone", Seed: 1, Topology: spec.Topology{}.WithDefaults(),
		Conf: conf.New(conf.Fast, map[string]string{conf.KryoRegistrator: fixtures.Registrator}), Workload: "kryo-distributed"}
	if _, err := sp.Write(dir); err != nil {
		t.Fatal(err)
	}
	// A port that answered once and is closed now: the driver has ended.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var stderr bytes.Buffer
	code := ExecutorMain(ctx, []string{"executor", "--run-dir", dir, "--driver", addr, "--id", "3", "--node", "node-a", "--slots", "1"}, &stderr)
	if code != ExitJobFailed {
		t.Errorf("exit %d, want %d; stderr:\n%s", code, ExitJobFailed, stderr.String())
	}
	if !strings.Contains(stderr.String(), "Cannot register with driver: "+addr) {
		t.Errorf("stderr lacks Spark's \"Cannot register with driver: %s\":\n%s", addr, stderr.String())
	}
}

// TestDriverMainRefusesBadInvocations: faultbook-driver runs a driver only,
// and answers anything else with the usage exit code.
func TestDriverMainRefusesBadInvocations(t *testing.T) {
	t.Setenv("FAULTBOOK_CLUSTER_SECRET", "")
	for _, tc := range []struct {
		args []string
		code int
		says string
	}{
		{nil, ExitUsage, "faultbook-driver driver FLAGS"},
		{[]string{"executor"}, ExitUsage, "faultbook-driver driver FLAGS"},
		{[]string{"driver"}, ExitUsage, "--run-dir is required"},
		{[]string{"driver", "--bogus"}, ExitUsage, "flag provided but not defined: -bogus"},
		{[]string{"driver", "--run-dir", t.TempDir()}, ExitInfra, "spec.json"},
	} {
		var stdout, stderr bytes.Buffer
		code := DriverMain(context.Background(), tc.args, &stdout, &stderr)
		if code != tc.code || !strings.HasPrefix(stderr.String(), "faultbook: ") || !strings.Contains(stderr.String(), tc.says) {
			t.Errorf("%q: exit %d, stderr %q; want exit %d saying %q", tc.args, code, stderr.String(), tc.code, tc.says)
		}
		if stdout.Len() != 0 {
			t.Errorf("%q: printed %q on stdout", tc.args, stdout.String())
		}
	}
}
