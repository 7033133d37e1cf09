// Command faultbook reproduces documented failure modes of a distributed data
// engine on minicluster and judges whether the engine's safeguards catch them.
//
// Exit codes: 0 every scenario passed, 1 a scenario failed its expectations,
// 2 usage error, 3 infrastructure error (the experiment could not be carried out).
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
)

// Exit codes.
const (
	exitOK     = 0
	exitFailed = 1
	exitUsage  = 2
	exitInfra  = 3
)

// exitError carries an exit code; quiet ones have already been reported.
type exitError struct {
	code  int
	err   error
	quiet bool
}

func (e exitError) Error() string { return e.err.Error() }
func (e exitError) Unwrap() error { return e.err }

func usageErrorf(format string, a ...any) error {
	return exitError{code: exitUsage, err: fmt.Errorf(format, a...)}
}

func infraError(err error) error { return exitError{code: exitInfra, err: err} }

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "faultbook",
		Short: "reproduce documented Spark failure modes on a mini cluster and judge the safeguards",
		Long: `faultbook reproduces documented failure modes of a distributed data engine on
minicluster, a small engine of real executor processes, and judges whether the
engine's safeguards catch each one. Every scenario is an experiment of four cells:
control, reproduce, catch and no-false-alarm.

Exit codes: 0 all passed, 1 a scenario failed, 2 usage error, 3 infrastructure error.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return exitError{code: exitUsage, err: err} })
	root.AddCommand(newDriverCmd(), newExecutorCmd(), newNodeCmd(), newGatewayCmd())
	addCommands(root)
	return root
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:]))
}

func run(ctx context.Context, args []string) int {
	root := newRootCmd()
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	var ee exitError
	if errors.As(err, &ee) {
		if !ee.quiet {
			fmt.Fprintln(os.Stderr, "faultbook: "+ee.Error())
		}
		return ee.code
	}
	// Cobra's own errors (unknown command, bad arguments) are usage errors,
	// reported on one line like every other error.
	fmt.Fprintln(os.Stderr, "faultbook: "+oneLine(err.Error()))
	return exitUsage
}

// oneLine folds cobra's "Did you mean this?" block into the error's line.
func oneLine(msg string) string {
	head, sugg, ok := strings.Cut(msg, "\n\nDid you mean this?\n")
	if !ok {
		return msg
	}
	return head + " (did you mean " + strings.Join(strings.Fields(sugg), ", ") + "?)"
}
