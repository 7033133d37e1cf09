package main

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"

	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"
	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

	"github.com/faultbook/faultbook/harness/diagnose"
)

func newDiagnoseCmd() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "diagnose PATH...",
		Short: "recognise documented failure modes in Spark logs (driver/executor logs, yarn logs, event logs, faultbook runs)",
		Long: `diagnose reads a Spark application's logs and says which documented failure mode
they show, with the lines that prove it and the experiment that reproduces it.

Inputs are recognised by content: log4j logs of Spark 1.x-3.x, Spark 4's JSON logs,
'yarn logs -applicationId' output, event logs (plain, zstd, lz4), rolled event-log
directories (eventlog_v2_*) and faultbook run directories. Directories are walked;
'-' reads standard input.

Exit codes: 0 nothing documented matched, 1 a documented failure mode matched,
2 usage error, 3 unreadable input.`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageErrorf("diagnose takes at least one path (or - for standard input)")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			switch format {
			case "table", "json", "markdown":
			default:
				return usageErrorf("unknown --format %q (table, json, markdown)", format)
			}
			cat, err := catalogue()
			if err != nil {
				return err
			}
			d, err := diagnose.New(cat.Signatures())
			if err != nil {
				return infraError(err)
			}
			done := readProgress(cmd, d, args)
			defer done()
			for _, path := range args {
				if err := d.AddPath(path); err != nil {
					if errors.Is(err, diagnose.ErrUnreadable) {
						return exitError{code: exitInfra, err: err}
					}
					return infraError(err)
				}
			}
			done() // the bar is gone before the report is written under it
			rep := d.Report()
			w := cmd.OutOrStdout()
			switch format {
			case "json":
				err = rep.WriteJSON(w)
			case "markdown":
				err = rep.WriteMarkdown(w)
			default:
				err = rep.WriteTable(w)
			}
			if err != nil {
				return infraError(fmt.Errorf("write report: %w", err))
			}
			if len(rep.Matches) > 0 {
				return exitError{code: exitFailed, err: fmt.Errorf("documented failure mode matched: %v", rep.IDs()), quiet: true}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", "table", "output format: table, json or markdown")
	return cmd
}

// readProgress shows a bar of the bytes read on a terminal's stderr (not in CI, not for
// standard input, whose size is unknown). The function it returns removes the
// bar; it is safe twice.
func readProgress(cmd *cobra.Command, d *diagnose.Diagnoser, args []string) func() {
	f, ok := cmd.ErrOrStderr().(*os.File)
	if !ok || os.Getenv("CI") != "" || !isatty.IsTerminal(f.Fd()) || slices.Contains(args, "-") {
		return func() {}
	}
	p := mpb.New(mpb.WithOutput(f), mpb.WithWidth(40))
	bar := p.AddBar(diagnose.TotalSize(args), mpb.PrependDecorators(decor.Name("reading ")), mpb.BarRemoveOnComplete(),
		mpb.AppendDecorators(decor.CountersKibiByte("% .1f / % .1f"), decor.Percentage(decor.WCSyncSpace)))
	d.Progress = func(n int64) { bar.IncrInt64(n) }
	var once sync.Once
	return func() {
		once.Do(func() {
			bar.Abort(true)
			p.Wait()
		})
	}
}
