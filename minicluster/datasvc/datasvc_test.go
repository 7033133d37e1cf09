package datasvc_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/faultbook/faultbook/minicluster/datasvc"
	"github.com/faultbook/faultbook/minicluster/events"
	"github.com/faultbook/faultbook/minicluster/fault"
)

// bound guards each wait against a hang; it is never a wait for an event.
const bound = 10 * time.Second

func start(t *testing.T) (*datasvc.Service, chan events.Event) {
	t.Helper()
	seen := make(chan events.Event, 64)
	svc, err := datasvc.Start(datasvc.Options{
		Nodes:   []string{"node-a", "node-b"},
		Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "data") }),
		Observe: func(e events.Event) { seen <- e },
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := svc.Close(); err != nil {
			t.Error(err)
		}
	})
	return svc, seen
}

// fetch gets /x through a node's route with a client timeout.
func fetch(svc *datasvc.Service, node string, timeout time.Duration) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+svc.Params()[datasvc.ParamPrefix+node]+"/x", nil)
	resp, err := (&http.Client{Transport: &http.Transport{DisableKeepAlives: true}}).Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// next returns the next event of a kind.
func next(t *testing.T, seen chan events.Event, kind events.Kind) events.Event {
	t.Helper()
	deadline := time.After(bound)
	for {
		select {
		case e := <-seen:
			if e.Kind == kind {
				return e
			}
		case <-deadline:
			t.Fatalf("no %s event", kind)
		}
	}
}

func noHits(t *testing.T, seen chan events.Event) {
	t.Helper()
	for {
		select {
		case e := <-seen:
			if e.Kind == events.FaultHit {
				t.Fatalf("fault hit without an effect: %s", e.Message)
			}
		default:
			return
		}
	}
}

// A timeout toxic on one node's proxy makes that node's fetches time out, and
// only that node's; the upstream proves the cut before a hit is reported;
// revert restores the route.
func TestTimeoutToxic(t *testing.T) {
	svc, seen := start(t)
	f := fault.Spec{Point: fault.NodeNetwork, Nodes: []string{"node-b"}}
	if err := svc.Inject(f); err != nil {
		t.Fatal(err)
	}
	if on := next(t, seen, events.FaultOn); on.Node != "node-b" {
		t.Fatalf("fault-on %+v", on)
	}
	if body, err := fetch(svc, "node-a", bound); err != nil || body != "data" {
		t.Fatalf("node-a's route: %q, %v", body, err)
	}
	if _, err := fetch(svc, "node-b", 200*time.Millisecond); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("node-b's route: %v, want a timeout", err)
	}
	hit := next(t, seen, events.FaultHit)
	if hit.Node != "node-b" || !strings.Contains(hit.Message, "toxic timeout on node-b's proxy cut connection") {
		t.Fatalf("hit %+v", hit)
	}
	if err := svc.Revert(f); err != nil {
		t.Fatal(err)
	}
	next(t, seen, events.FaultOff)
	if body, err := fetch(svc, "node-b", bound); err != nil || body != "data" {
		t.Fatalf("node-b's route after revert: %q, %v", body, err)
	}
	noHits(t, seen)
}

// A sham toxic is put on and taken off but lets everything through: no hit,
// and the connection it did not harm is reported as the fault's no-effect.
func TestShamReportsNoHit(t *testing.T) {
	svc, seen := start(t)
	f := fault.Set{{Point: fault.NodeNetwork, Nodes: []string{"node-b"}}}.Sham()[0]
	if err := svc.Inject(f); err != nil {
		t.Fatal(err)
	}
	if body, err := fetch(svc, "node-b", bound); err != nil || body != "data" {
		t.Fatalf("node-b's route under a sham: %q, %v", body, err)
	}
	if inert := next(t, seen, events.FaultNoEffect); !strings.Contains(inert.Message, "the timeout toxic let it through") {
		t.Fatalf("no-effect %+v", inert)
	}
	if err := svc.Revert(f); err != nil {
		t.Fatal(err)
	}
	next(t, seen, events.FaultOff)
	noHits(t, seen)
}

// Latency below the client's timeout: the fetch succeeds, late, and the delay
// is proven by the upstream.
func TestLatencyToxic(t *testing.T) {
	svc, seen := start(t)
	f := fault.Spec{Point: fault.NodeNetwork, Nodes: []string{"node-b"}, Params: map[string]string{datasvc.ParamToxic: "latency", datasvc.ParamLatencyMs: "80"}}
	if err := svc.Inject(f); err != nil {
		t.Fatal(err)
	}
	if body, err := fetch(svc, "node-b", bound); err != nil || body != "data" {
		t.Fatalf("node-b's slow route: %q, %v", body, err)
	}
	if hit := next(t, seen, events.FaultHit); !strings.Contains(hit.Message, "toxic latency on node-b's proxy delayed connection") {
		t.Fatalf("hit %+v", hit)
	}
}

// Bad fault specs are refused with the reason.
func TestInjectRefusals(t *testing.T) {
	svc, _ := start(t)
	for _, f := range []fault.Spec{
		{Point: fault.NodeNetwork, Nodes: []string{"node-z"}},
		{Point: fault.NodeNetwork, Nodes: []string{"node-a"}, Params: map[string]string{datasvc.ParamToxic: "bandwidth"}},
		{Point: fault.RegistrationOrder},
	} {
		if err := svc.Inject(f); err == nil {
			t.Errorf("inject %s: accepted", f)
		}
	}
}
