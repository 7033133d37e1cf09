package role

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestMainRefusesBadInvocations: faultbook-node answers a wrong invocation
// with the usage exit code and one "faultbook: " line on stderr, as
// faultbook's hidden commands do, before it reads or writes anything.
func TestMainRefusesBadInvocations(t *testing.T) {
	t.Setenv("FAULTBOOK_CLUSTER_SECRET", "")
	for _, tc := range []struct {
		args []string
		code int
		says string
	}{
		{nil, ExitUsage, "driver|executor"},
		{[]string{"worker"}, ExitUsage, "driver|executor"},
		{[]string{"driver"}, ExitUsage, "--run-dir is required"},
		{[]string{"driver", "--bogus"}, ExitUsage, "flag provided but not defined: -bogus"},
		{[]string{"executor", "--run-dir", t.TempDir(), "extra"}, ExitUsage, `unexpected argument "extra"`},
		{[]string{"executor", "--run-dir", t.TempDir()}, ExitInfra, "spec.json"},
	} {
		var stdout, stderr bytes.Buffer
		code := Main(context.Background(), tc.args, &stdout, &stderr)
		if code != tc.code || !strings.HasPrefix(stderr.String(), "faultbook: ") || !strings.Contains(stderr.String(), tc.says) {
			t.Errorf("%q: exit %d, stderr %q; want exit %d saying %q", tc.args, code, stderr.String(), tc.code, tc.says)
		}
		if stdout.Len() != 0 {
			t.Errorf("%q: printed %q on stdout", tc.args, stdout.String())
		}
	}
}
