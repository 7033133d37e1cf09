package proc

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
)

const helperEnv = "FAULTBOOK_PROC_TEST_HELPER"

// TestHelperStartsChild is not a test on its own: TestChildDiesWithParent
// runs it in a separate process, as a stand-in for a harness that starts a
// node and is then killed.
func TestHelperStartsChild(t *testing.T) {
	if os.Getenv(helperEnv) != "1" {
		t.Skip("helper process for TestChildDiesWithParent")
	}
	p, err := Start(context.Background(), Spec{Name: "orphan", Path: "sleep", Args: []string{"100"}})
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	fmt.Printf("child %d\n", p.Pid())
	<-p.Done()
}

// TestChildDiesWithParent: a node whose parent is killed outright, with no
// chance to clean up, is killed by the kernel. The node is in its own group,
// so only Pdeathsig can reach it.
func TestChildDiesWithParent(t *testing.T) {
	lines := make(chan string, 16)
	parent := startT(t, Spec{
		Name:   "harness",
		Path:   os.Args[0],
		Args:   []string{"-test.run=^TestHelperStartsChild$"},
		Env:    []string{helperEnv + "=1"},
		OnLine: func(l string) { lines <- l },
	})
	ctx, cancel := context.WithTimeout(context.Background(), bound)
	defer cancel()
	line, err := WaitLine(ctx, lines, func(l string) bool {
		return strings.HasPrefix(l, "child ") || strings.HasPrefix(l, "error ")
	})
	if err != nil {
		t.Fatal(err)
	}
	child, err := strconv.Atoi(strings.TrimPrefix(line, "child "))
	if err != nil {
		t.Fatalf("helper said %q", line)
	}
	exited := watchExit(t, child)
	if exited(0) {
		t.Fatalf("child %d not running while its parent is", child)
	}
	if err := parent.Kill(); err != nil {
		t.Fatal(err)
	}
	if !exited(bound) {
		t.Errorf("child %d still running after its parent was killed", child)
	}
}
